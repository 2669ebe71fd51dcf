"""A management resource that is a plain collection (custom data points, value lists, webhook
endpoints): list, create, get, change and delete by one key, each answered with the serialized row.

The five routes are registered from one description so that every collection answers alike (the same
deleted message, the same clock, the same body parsing); endpoint names stay `<name>_list`,
`<name>_create`, `<name>_get`, `<name>_update`, `<name>_delete`, which the OpenAPI operations name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, g, jsonify

from app.api.responses import parse_body
from app.domain.documents import WireModel
from app.management_api import serializers
from app.models.base import utcnow


@dataclass(frozen=True)
class Collection:
    name: str  # the endpoint names' stem, e.g. "value_list"
    path: str  # e.g. "/value-lists"
    key: str  # the URL variable naming one member, e.g. "alias"
    label: str  # how the deleted message names a member, e.g. "Value list"
    body: type[WireModel]
    serialize: Callable[[Any], dict]
    list: Callable[[str], Iterable[Any]]  # tenant id → rows
    get: Callable[[str, str], Any]  # tenant id, key → row
    create: Callable[..., Any]  # caller, body, now= → row
    update: Callable[..., Any]  # caller, key, body, now= → row
    delete: Callable[..., None]  # caller, key, now=


def serve(bp: Blueprint, collection: Collection) -> None:
    member = f"{collection.path}/<{collection.key}>"

    def list_members():
        return jsonify([collection.serialize(row) for row in collection.list(g.caller.tenant_id)])

    def create_member():
        return jsonify(collection.serialize(collection.create(g.caller, parse_body(collection.body), now=utcnow())))

    def get_member(**key: str):
        return jsonify(collection.serialize(collection.get(g.caller.tenant_id, *key.values())))

    def update_member(**key: str):
        row = collection.update(g.caller, *key.values(), parse_body(collection.body), now=utcnow())
        return jsonify(collection.serialize(row))

    def delete_member(**key: str):
        (value,) = key.values()
        collection.delete(g.caller, value, now=utcnow())
        return jsonify(serializers.deleted(f"{collection.label} '{value}'"))

    bp.add_url_rule(collection.path, f"{collection.name}_list", list_members, methods=["GET"])
    bp.add_url_rule(collection.path, f"{collection.name}_create", create_member, methods=["POST"])
    bp.add_url_rule(member, f"{collection.name}_get", get_member, methods=["GET"])
    bp.add_url_rule(member, f"{collection.name}_update", update_member, methods=["PATCH"])
    bp.add_url_rule(member, f"{collection.name}_delete", delete_member, methods=["DELETE"])
