"""Custom data points and value lists (they apply at once: no draft)."""

from __future__ import annotations

from flask import g, jsonify

from app.api.responses import parse_body
from app.management_api import bp, serializers
from app.models.base import utcnow
from app.services.management import data
from app.services.management.wire import CustomDataPointBody, ValueListBody
from app.services.rulesets import data_points


@bp.get("/custom-data-points")
def data_point_list():
    return jsonify([serializers.data_point(row) for row in data_points.list_data_points(g.caller.tenant_id)])


@bp.post("/custom-data-points")
def data_point_create():
    row = data.create_data_point(g.caller, parse_body(CustomDataPointBody), now=utcnow())
    return jsonify(serializers.data_point(row))


@bp.get("/custom-data-points/<data_point_id>")
def data_point_get(data_point_id: str):
    return jsonify(serializers.data_point(data_points.get_data_point(g.caller.tenant_id, data_point_id)))


@bp.patch("/custom-data-points/<data_point_id>")
def data_point_update(data_point_id: str):
    row = data.update_data_point(g.caller, data_point_id, parse_body(CustomDataPointBody), now=utcnow())
    return jsonify(serializers.data_point(row))


@bp.delete("/custom-data-points/<data_point_id>")
def data_point_delete(data_point_id: str):
    data.delete_data_point(g.caller, data_point_id, now=utcnow())
    return jsonify(serializers.deleted(f"Custom data point '{data_point_id}'"))


@bp.get("/value-lists")
def value_list_list():
    return jsonify([serializers.value_list(row) for row in data.list_value_lists(g.caller.tenant_id)])


@bp.post("/value-lists")
def value_list_create():
    row = data.create_value_list(g.caller, parse_body(ValueListBody), now=utcnow())
    return jsonify(serializers.value_list(row))


@bp.get("/value-lists/<alias>")
def value_list_get(alias: str):
    return jsonify(serializers.value_list(data.get_value_list(g.caller.tenant_id, alias)))


@bp.patch("/value-lists/<alias>")
def value_list_update(alias: str):
    row = data.update_value_list(g.caller, alias, parse_body(ValueListBody), now=utcnow())
    return jsonify(serializers.value_list(row))


@bp.delete("/value-lists/<alias>")
def value_list_delete(alias: str):
    data.delete_value_list(g.caller, alias, now=utcnow())
    return jsonify(serializers.deleted(f"Value list '{alias}'"))
