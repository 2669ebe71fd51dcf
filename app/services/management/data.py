"""Custom data points and value lists through the Management API. Neither is part of an action's
rule set (the console changes them at once too), so writes apply at once; each is audited with the
management key as its actor.

Value lists map onto Tollgate's custom lists: Authsignal's ``alias`` (hyphenated, made from the
name when left out) is the list's name, the one rules read as ``lists.<alias>``; Authsignal's
display ``name`` is kept as the list's description. ``itemType`` ``string`` / ``number`` are
Tollgate's ``strings`` / ``numbers``; Tollgate's own IP-range lists read as ``cidr``.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from app.domain.errors import InvalidRequest, NotFound
from app.extensions import db
from app.models import CustomDataPoint, CustomList
from app.services.management.wire import CustomDataPointBody, ValueListBody, wire_names
from app.services.rulesets import custom_lists, data_points
from app.services.tenancy.management_keys import ManagementCaller

ITEM_TYPES = {"string": "strings", "number": "numbers", "cidr": "cidrs"}
LIST_KINDS = {kind: item_type for item_type, kind in ITEM_TYPES.items()}
# A custom list's form fields, as value lists name them.
LIST_FIELDS = {"name": "alias", "kind": "itemType", "description": "name", "items": "valueListItems"}


def _refuse_public(body: CustomDataPointBody) -> None:
    if body.is_public:
        raise InvalidRequest("isPublic: Tollgate has no push or QR-code challenges to surface a data point in; "
                             "send false or leave it out.", code="unsupported_field")


def create_data_point(caller: ManagementCaller, body: CustomDataPointBody, *, now: datetime) -> CustomDataPoint:
    _refuse_public(body)
    missing = [wire for field, wire in (("name", "name"), ("data_type", "dataType"), ("model_type", "modelType"))
               if getattr(body, field) is None]
    if missing:
        raise InvalidRequest("; ".join(f"{wire}: required." for wire in missing))
    data = data_points.DataPointInput(body.name, body.data_type, body.model_type, body.description or "")
    with wire_names():
        return data_points.create_data_point(caller.agent, data, now=now)


def update_data_point(caller: ManagementCaller, data_point_id: str, body: CustomDataPointBody, *,
                      now: datetime) -> CustomDataPoint:
    """Type and description; the name and model are the key integrators send, so they stay."""
    _refuse_public(body)
    row = data_points.get_data_point(caller.tenant_id, data_point_id)
    sent = body.model_fields_set
    for field, wire in (("name", "name"), ("model_type", "modelType"), ("id", "id")):
        if field in sent and getattr(body, field) != getattr(row, field):
            raise InvalidRequest(f"{wire}: cannot change (rules and integrations read the data point by it); "
                                 "create a new data point instead.")
    data_type = body.data_type if "data_type" in sent else row.data_type
    description = (body.description or "") if "description" in sent else row.description
    data = data_points.DataPointInput(row.name, data_type or "", row.model_type, description)
    with wire_names():
        return data_points.update_data_point(caller.agent, data_point_id, data, now=now)


def delete_data_point(caller: ManagementCaller, data_point_id: str, *, now: datetime) -> None:
    data_points.delete_data_point(caller.agent, data_point_id, now=now)


def list_value_lists(tenant_id: str) -> list[CustomList]:
    """With their items (the console's listing leaves them out)."""
    return list(db.session.execute(select(CustomList).where(CustomList.tenant_id == tenant_id)
                                   .order_by(CustomList.name)).scalars())


def get_value_list(tenant_id: str, alias: str) -> CustomList:
    row = custom_lists.find_list(tenant_id, alias)
    if row is None:
        raise NotFound(f"No value list “{alias}”.", code="value_list_not_found")
    return row


def create_value_list(caller: ManagementCaller, body: ValueListBody, *, now: datetime) -> CustomList:
    _refuse_inactive(body)
    if not body.name:
        raise InvalidRequest("name: required.")
    alias = body.alias or alias_for(body.name)
    kind = _kind(body)
    data = custom_lists.ListInput(alias, kind, body.name, _items_text(body.value_list_items or []))
    with wire_names(LIST_FIELDS):
        return custom_lists.create_list(caller.agent, data, now=now)


def update_value_list(caller: ManagementCaller, alias: str, body: ValueListBody, *, now: datetime) -> CustomList:
    """The name (kept as the description) and the items; the alias and item type stay."""
    _refuse_inactive(body)
    row = get_value_list(caller.tenant_id, alias)
    sent = body.model_fields_set
    if "alias" in sent and body.alias != row.name:
        raise InvalidRequest("alias: cannot change (rules read the list by it); create a new value list instead.")
    if "item_type" in sent and body.item_type != LIST_KINDS.get(row.kind):
        raise InvalidRequest(f"itemType: cannot change; this list holds {LIST_KINDS.get(row.kind)} items.")
    name = (body.name or "") if "name" in sent else row.description
    items = (body.value_list_items or []) if "value_list_items" in sent else row.items
    data = custom_lists.ListInput(row.name, row.kind, name, _items_text(items))
    with wire_names(LIST_FIELDS):
        return custom_lists.update_list(caller.agent, row.id, data, now=now)


def delete_value_list(caller: ManagementCaller, alias: str, *, now: datetime) -> None:
    custom_lists.delete_list(caller.agent, get_value_list(caller.tenant_id, alias).id, now=now)


def alias_for(name: str) -> str:
    """Authsignal's alias: the name, lower-case, hyphenated ("Blocked payees" → "blocked-payees")."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64]


def _refuse_inactive(body: ValueListBody) -> None:
    if body.is_active is False:
        raise InvalidRequest("isActive: value lists are always active (Authsignal's flag has no effect either); "
                             "send true.")


def _kind(body: ValueListBody) -> str:
    if body.item_type is not None:
        if body.item_type not in ITEM_TYPES:
            raise InvalidRequest(f"itemType: one of {', '.join(ITEM_TYPES)}.")
        return ITEM_TYPES[body.item_type]
    items = body.value_list_items or []
    return "numbers" if items and all(not isinstance(item, str) for item in items) else "strings"


def _items_text(items: list) -> str:
    """The items as the list importer reads them (one a line), so they are checked as the console's."""
    for index, item in enumerate(items):
        if isinstance(item, str) and ("\n" in item or "\r" in item or item.strip().startswith("#")):
            raise InvalidRequest(f"valueListItems[{index}]: an item may not hold a line break or start with '#'.")
    return "\n".join(str(item) for item in items)
