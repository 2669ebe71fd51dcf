"""Custom data points as admins declare them (the type a custom value must have), and the builder's
catalogue of everything a rule can read of the tenant's own data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.domain.catalogue import (
    DATA_POINT_NAME,
    CatalogueField,
    ListRef,
    TenantCatalogue,
)
from app.extensions import db
from app.models import ConsoleUser, CustomDataPoint, NetworkList
from app.services.rulesets.custom_lists import InvalidCustomData, checked_description, checked_name, list_lists
from app.services.tenancy.audit import Agent
from app.services.tenancy.records import Records, flush_or_refuse

DATA_TYPES = {
    "text": "Text",
    "number": "Number",
    "boolean": "Boolean (true / false)",
    "multiselect": "Multi-select (a list of text values)",
}

MODEL_TYPES = {"action": "Action: sent with each track in custom", "user": "User: set on the user (update user custom)"}


@dataclass(frozen=True)
class DataPointInput:
    name: str
    data_type: str
    model_type: str
    description: str = ""


def list_data_points(tenant_id: str) -> list[CustomDataPoint]:
    return _POINTS.all(tenant_id, CustomDataPoint.model_type, CustomDataPoint.name)


def get_data_point(tenant_id: str, data_point_id: str) -> CustomDataPoint:
    return _POINTS.get(tenant_id, data_point_id)


def _check_data_point(data: DataPointInput, *, check_name: bool = True) -> DataPointInput:
    errors: dict[str, list[str]] = {}
    name = checked_name(data.name, errors, DATA_POINT_NAME, "Use 1-64 letters, digits or '_' (it is the key your backend sends).",
                        check=check_name)
    if data.data_type not in DATA_TYPES:
        errors["data_type"] = ["Choose a type."]
    if check_name and data.model_type not in MODEL_TYPES:
        errors["model_type"] = ["Choose what the data point applies to."]
    description = checked_description(data.description, errors)
    if errors:
        raise InvalidCustomData(errors)
    return DataPointInput(name, data.data_type, data.model_type, description)


def _audited_point(row: CustomDataPoint) -> dict[str, Any]:
    return {"name": row.name, "path": row.path, "type": row.data_type, "description": row.description}


_POINTS = Records(CustomDataPoint, "custom_data_point", _audited_point, "No such custom data point.",
                  "custom_data_point_not_found")


def create_data_point(actor: ConsoleUser | Agent, data: DataPointInput, *, now: datetime) -> CustomDataPoint:
    data = _check_data_point(data)
    row = CustomDataPoint(tenant_id=actor.tenant_id, name=data.name, data_type=data.data_type,
                          model_type=data.model_type, description=data.description, created_at=now, updated_at=now)
    db.session.add(row)
    flush_or_refuse(InvalidCustomData({"name": [f"There is already a data point “{row.path}”."]}))
    return _POINTS.created(actor, row, now=now)


def update_data_point(actor: ConsoleUser | Agent, data_point_id: str, data: DataPointInput, *, now: datetime) -> CustomDataPoint:
    """Type and description only: the name is the key integrators send and rules read, so it stays."""
    row = get_data_point(actor.tenant_id, data_point_id)
    data = _check_data_point(data, check_name=False)
    before = _audited_point(row)
    row.data_type, row.description, row.updated_at = data.data_type, data.description, now
    return _POINTS.changed(actor, row, before, now=now)


def delete_data_point(actor: ConsoleUser | Agent, data_point_id: str, *, now: datetime) -> CustomDataPoint:
    """Rules reading it keep working: the field is then an untyped custom field again."""
    return _POINTS.deleted(actor, get_data_point(actor.tenant_id, data_point_id), now=now)


def builder_catalogue(tenant_id: str) -> TenantCatalogue:
    """The tenant's data points as builder fields, its lists (without items) and the instance-wide
    network lists' names (ip.cidrLists may contain those too)."""
    fields = tuple(
        CatalogueField(point.path, point.data_type, point.path, point.description or f"Custom data point ({point.data_type}).")
        for point in list_data_points(tenant_id)
    )
    lists = tuple(ListRef(row.name, row.kind, row.item_count) for row in list_lists(tenant_id))
    network_lists = tuple(db.session.execute(select(NetworkList.name).order_by(NetworkList.name)).scalars())
    return TenantCatalogue(fields=fields, lists=lists, network_lists=network_lists)
