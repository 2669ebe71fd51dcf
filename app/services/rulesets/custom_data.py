"""Custom data points and custom lists: console CRUD, CLI import, and what a track needs of them.

At track time (:func:`prepare_context`), and only for what the action's rules read:
- ``lists.<name>`` is put in the rule context, from the tenant's configuration (services.tenancy.tenant_config:
  cached per process, but an edited list gives the tenant a new stamp, so it decides the very next track);
- ``custom.<name>`` / ``user.custom.<name>`` values are checked against their data point's type;
  a value of the wrong type is reported in the decision output (``dataPointErrors``) and removed
  from the context, so comparisons on it simply do not match.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from app.domain._jsonlogic import kind_of
from app.domain.builder import parse_number
from app.domain.catalogue import (
    DATA_POINT_NAME,
    LIST_NAME,
    LISTS_PREFIX,
    CatalogueField,
    ListRef,
    TenantCatalogue,
)
from app.domain.errors import DomainError, InvalidFields, NotFound
from app.extensions import db
from app.models import ActionConfiguration, ConsoleUser, CustomDataPoint, CustomList, NetworkList, Rule
from app.services.tenancy.audit import record_change

if TYPE_CHECKING:
    from app.services.tenancy.tenant_config import TenantConfig

DATA_TYPES = {
    "text": "Text",
    "number": "Number",
    "boolean": "Boolean (true / false)",
    "multiselect": "Multi-select (a list of text values)",
}
MODEL_TYPES = {"action": "Action: sent with each track in custom", "user": "User: set on the user (update user custom)"}
LIST_KINDS = {"strings": "Text values", "numbers": "Numbers", "cidrs": "IP ranges (CIDR)"}
CIDR_KIND = "cidrs"  # matched against the track IP by ip.cidrLists
MAX_DESCRIPTION = 500
MAX_ITEMS = 10_000
MAX_ITEM_LENGTH = 200
MAX_LINE_ERRORS = 10
AUDIT_SAMPLE = 50  # items added / removed named in an audit entry


class InvalidCustomData(InvalidFields):
    """Custom data points and lists a console form or the CLI cannot save."""

    code = "invalid_custom_data"


# ---------------------------------------------------------------------------------------------
# Values and items (pure)


def value_type(value: Any) -> str:
    """The data point type a JSON value is, as reported in dataPointErrors: the rules engine's own
    classification (kind_of), in the data points' vocabulary."""
    kind = kind_of(value)
    if kind == "string":
        return "text"
    if kind == "array":
        return "multiselect" if all(isinstance(item, str) for item in value) else "list"
    return kind


def value_fits(data_type: str, value: Any) -> bool:
    """Whether a (non-null) value is of a data point's type; numbers must be finite, not booleans."""
    if data_type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if data_type == "boolean":
        return isinstance(value, bool)
    if data_type == "text":
        return isinstance(value, str)
    if data_type == "multiselect":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return False


def parse_items(kind: str, text: str) -> tuple[list[Any], list[str]]:
    """One item per line → the typed, de-duplicated items (first occurrence kept) and line errors.

    Blank lines and lines starting with ``#`` are skipped, so exported lists with comments import
    as they are. CIDRs are normalised (``10.0.0.1/8`` → ``10.0.0.0/8``, a bare address → ``/32``
    or ``/128``)."""
    items: list[Any] = []
    seen: set[Any] = set()
    errors: list[str] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        raw = line.strip()
        if not raw or raw.startswith("#"):
            continue
        item, problem = _parse_item(kind, raw)
        if problem:
            if len(errors) < MAX_LINE_ERRORS:
                errors.append(f"Line {number}: {problem}")
            continue
        if item not in seen:  # 1 and 1.0 are one number
            seen.add(item)
            items.append(item)
    if len(items) > MAX_ITEMS:
        errors.append(f"A list holds at most {MAX_ITEMS:,} items; this one has {len(items):,}.")
    return items, errors


def _parse_item(kind: str, raw: str) -> tuple[Any, str | None]:
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    if len(raw) > MAX_ITEM_LENGTH:
        return None, f"“{shown}” is longer than {MAX_ITEM_LENGTH} characters."
    if kind == "numbers":
        number = parse_number(raw)
        return (number, None) if number is not None else (None, f"“{shown}” is not a number.")
    if kind == "cidrs":
        try:
            return str(ipaddress.ip_network(raw, strict=False)), None
        except ValueError:
            return None, f"“{shown}” is not an IP address or CIDR range (e.g. 203.0.113.0/24 or 2001:db8::/32)."
    return raw, None


def format_items(items: Sequence[Any]) -> str:
    return "\n".join(str(item) for item in items)


# ---------------------------------------------------------------------------------------------
# Data points (console)


@dataclass(frozen=True)
class DataPointInput:
    name: str
    data_type: str
    model_type: str
    description: str = ""


def list_data_points(tenant_id: str) -> list[CustomDataPoint]:
    return list(db.session.execute(
        select(CustomDataPoint).where(CustomDataPoint.tenant_id == tenant_id)
        .order_by(CustomDataPoint.model_type, CustomDataPoint.name)
    ).scalars())


def get_data_point(tenant_id: str, data_point_id: str) -> CustomDataPoint:
    row = db.session.get(CustomDataPoint, data_point_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound("No such custom data point.", code="custom_data_point_not_found")
    return row


def _check_data_point(data: DataPointInput, *, check_name: bool = True) -> DataPointInput:
    errors: dict[str, list[str]] = {}
    name = (data.name or "").strip()
    if check_name and not DATA_POINT_NAME.fullmatch(name):
        errors["name"] = ["Use 1-64 letters, digits or '_' (it is the key your backend sends)."]
    if data.data_type not in DATA_TYPES:
        errors["data_type"] = ["Choose a type."]
    if check_name and data.model_type not in MODEL_TYPES:
        errors["model_type"] = ["Choose what the data point applies to."]
    description = (data.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = [f"Keep the description under {MAX_DESCRIPTION} characters."]
    if errors:
        raise InvalidCustomData(errors)
    return DataPointInput(name, data.data_type, data.model_type, description)


def _audited_point(row: CustomDataPoint) -> dict[str, Any]:
    return {"name": row.name, "path": row.path, "type": row.data_type, "description": row.description}


def create_data_point(actor: ConsoleUser, data: DataPointInput, *, now: datetime) -> CustomDataPoint:
    data = _check_data_point(data)
    row = CustomDataPoint(tenant_id=actor.tenant_id, name=data.name, data_type=data.data_type,
                          model_type=data.model_type, description=data.description, created_at=now, updated_at=now)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvalidCustomData({"name": [f"There is already a data point “{row.path}”."]}) from None
    record_change(actor, "custom_data_point.created", row.id, "custom_data_point", after=_audited_point(row), now=now)
    db.session.commit()
    return row


def update_data_point(actor: ConsoleUser, data_point_id: str, data: DataPointInput, *, now: datetime) -> CustomDataPoint:
    """Type and description only: the name is the key integrators send and rules read, so it stays."""
    row = get_data_point(actor.tenant_id, data_point_id)
    data = _check_data_point(data, check_name=False)
    before = _audited_point(row)
    row.data_type, row.description, row.updated_at = data.data_type, data.description, now
    record_change(actor, "custom_data_point.updated", row.id, "custom_data_point", before=before,
                  after=_audited_point(row), now=now)
    db.session.commit()
    return row


def delete_data_point(actor: ConsoleUser, data_point_id: str, *, now: datetime) -> CustomDataPoint:
    """Rules reading it keep working: the field is then an untyped custom field again."""
    row = get_data_point(actor.tenant_id, data_point_id)
    record_change(actor, "custom_data_point.deleted", row.id, "custom_data_point", before=_audited_point(row), now=now)
    db.session.delete(row)
    db.session.commit()
    return row


# ---------------------------------------------------------------------------------------------
# Lists (console and CLI)


@dataclass(frozen=True)
class ListInput:
    name: str
    kind: str
    description: str = ""
    items_text: str = ""


def list_lists(tenant_id: str) -> list[CustomList]:
    """Without their items (a listing needs only the counts)."""
    return list(db.session.execute(
        select(CustomList).options(defer(CustomList.items)).where(CustomList.tenant_id == tenant_id)
        .order_by(CustomList.name)
    ).scalars())


def get_list(tenant_id: str, list_id: str) -> CustomList:
    row = db.session.get(CustomList, list_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound("No such list.", code="custom_list_not_found")
    return row


def find_list(tenant_id: str, name: str) -> CustomList | None:
    return db.session.execute(
        select(CustomList).where(CustomList.tenant_id == tenant_id, CustomList.name == name)
    ).scalar_one_or_none()


def _check_list(data: ListInput, *, check_name: bool = True) -> tuple[ListInput, list[Any]]:
    errors: dict[str, list[str]] = {}
    name = (data.name or "").strip()
    if check_name and not LIST_NAME.fullmatch(name):
        errors["name"] = ["Use 1-64 letters, digits, '_' or '-'; rules read it as lists.<name>."]
    if data.kind not in LIST_KINDS:
        errors["kind"] = ["Choose what the list holds."]
    description = (data.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = [f"Keep the description under {MAX_DESCRIPTION} characters."]
    items: list[Any] = []
    if data.kind in LIST_KINDS:
        items, problems = parse_items(data.kind, data.items_text)
        if problems:
            errors["items"] = problems
    if errors:
        raise InvalidCustomData(errors)
    return ListInput(name, data.kind, description, data.items_text), items


def _audited_list(row: CustomList) -> dict[str, Any]:
    return {"name": row.name, "kind": row.kind, "description": row.description, "items": row.item_count}


def _item_changes(before: Sequence[Any], after: Sequence[Any]) -> dict[str, Any]:
    old, new = set(before), set(after)
    added = [item for item in after if item not in old]
    removed = [item for item in before if item not in new]
    return {"added": added[:AUDIT_SAMPLE], "addedCount": len(added),
            "removed": removed[:AUDIT_SAMPLE], "removedCount": len(removed)}


def create_list(actor: ConsoleUser, data: ListInput, *, now: datetime) -> CustomList:
    data, items = _check_list(data)
    row = CustomList(tenant_id=actor.tenant_id, name=data.name, kind=data.kind, description=data.description,
                     items=items, item_count=len(items), version=1, created_at=now, updated_at=now)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvalidCustomData({"name": [f"There is already a list named “{data.name}”."]}) from None
    record_change(actor, "custom_list.created", row.id, "custom_list",
                  after={**_audited_list(row), **_item_changes([], items)}, now=now)
    db.session.commit()
    return row


def update_list(actor: ConsoleUser | None, list_id: str, data: ListInput, *, now: datetime,
                tenant_id: str | None = None) -> CustomList:
    """Replace the description and items (the name and kind stay: rules read the name).

    ``actor`` is None for the CLI, which is not a console user and is not audited."""
    row = get_list(actor.tenant_id if actor else tenant_id, list_id)
    data, items = _check_list(ListInput(row.name, row.kind, data.description, data.items_text), check_name=False)
    before, before_items = _audited_list(row), list(row.items)
    row.description = data.description
    if items != before_items:
        row.items, row.item_count, row.version = items, len(items), row.version + 1
    row.updated_at = now
    if actor is not None:
        record_change(actor, "custom_list.updated", row.id, "custom_list", before=before,
                      after={**_audited_list(row), **_item_changes(before_items, items)}, now=now)
    db.session.commit()
    return row


def import_items(actor: ConsoleUser | None, list_id: str, text: str, *, replace: bool, now: datetime,
                 tenant_id: str | None = None) -> CustomList:
    """Items from a text file (one per line): replace the list's items or add to them."""
    row = get_list(actor.tenant_id if actor else tenant_id, list_id)
    combined = text if replace else format_items(row.items) + "\n" + text
    return update_list(actor, list_id, ListInput(row.name, row.kind, row.description, combined), now=now,
                       tenant_id=row.tenant_id)


def import_list_cli(tenant_id: str, name: str, text: str, *, kind: str, replace: bool, now: datetime) -> tuple[CustomList, bool]:
    """``flask lists import``: update the named list, or create it with ``kind``; (list, created)."""
    row = find_list(tenant_id, name)
    if row is not None:
        return import_items(None, row.id, text, replace=replace, now=now, tenant_id=tenant_id), False
    data, items = _check_list(ListInput(name, kind, "", text))
    row = CustomList(tenant_id=tenant_id, name=data.name, kind=data.kind, description="", items=items,
                     item_count=len(items), version=1, created_at=now, updated_at=now)
    db.session.add(row)
    db.session.commit()
    return row, True


def rules_reading_list(tenant_id: str, name: str, *, kind: str | None = None) -> list[tuple[str, str]]:
    """(action code, rule name) of every rule whose conditions read ``lists.<name>``, and for a
    CIDR list also every rule asking whether ``ip.cidrLists`` contains ``name``."""
    rows = db.session.execute(
        select(ActionConfiguration.code, Rule.name, Rule.conditions)
        .join(Rule, Rule.action_configuration_id == ActionConfiguration.id)
        .where(ActionConfiguration.tenant_id == tenant_id)
    ).all()
    path = LISTS_PREFIX + name
    return [(code, rule_name) for code, rule_name, conditions in rows
            if _reads(conditions, path) or (kind == CIDR_KIND and _asks_cidr_lists(conditions, name))]


def _reads(node: Any, path: str) -> bool:
    if isinstance(node, dict):
        if "var" in node and len(node) == 1:
            target = node["var"][0] if isinstance(node["var"], list) and node["var"] else node["var"]
            if target == path or (isinstance(target, str) and target.startswith(path + ".")):
                return True
        return any(_reads(value, path) for value in node.values())
    if isinstance(node, list):
        return any(_reads(item, path) for item in node)
    return False


def _asks_cidr_lists(node: Any, name: str) -> bool:
    """Whether a condition is ``{"in": [name, {"var": "ip.cidrLists"}]}`` (the builder's "contains")."""
    if isinstance(node, dict):
        args = node.get("in")
        if isinstance(args, list) and len(args) == 2 and args[0] == name and isinstance(args[1], dict):
            target = args[1].get("var")
            target = target[0] if isinstance(target, list) and target else target
            if target == "ip.cidrLists":
                return True
        return any(_asks_cidr_lists(value, name) for value in node.values())
    if isinstance(node, list):
        return any(_asks_cidr_lists(item, name) for item in node)
    return False


def delete_list(actor: ConsoleUser, list_id: str, *, now: datetime) -> CustomList:
    """Refused while a rule reads the list: "not in list" would then match every action."""
    row = get_list(actor.tenant_id, list_id)
    users = rules_reading_list(actor.tenant_id, row.name, kind=row.kind)
    if users:
        named = ", ".join(f"“{rule}” ({code})" for code, rule in users[:5]) + (" and others" if len(users) > 5 else "")
        raise DomainError(f"Rules read this list: {named}. Change them first.", code="custom_list_in_use", status=409)
    record_change(actor, "custom_list.deleted", row.id, "custom_list", before=_audited_list(row), now=now)
    db.session.delete(row)
    db.session.commit()
    return row


# ---------------------------------------------------------------------------------------------
# For ip.cidrLists (app.services.decisions.signals): the tenant's CIDR lists matched against the track's IP


def cidr_list_stamps(tenant_id: str) -> Select:
    """``(id, version, name)`` of the tenant's CIDR lists, without their items: a cheap statement
    the signals run (in one UNION with the instance-wide lists) to check their compiled ranges."""
    return select(CustomList.id, CustomList.version, CustomList.name).where(
        CustomList.tenant_id == tenant_id, CustomList.kind == CIDR_KIND)


def cidr_lists_by_id(list_ids: Iterable[str]) -> list[tuple[str, int, list[str]]]:
    """``(id, version, items)`` of the CIDR lists with these ids (ids from :func:`cidr_list_stamps`)."""
    list_ids = sorted(set(list_ids))
    if not list_ids:
        return []
    rows = db.session.execute(
        select(CustomList.id, CustomList.version, CustomList.items)
        .where(CustomList.id.in_(list_ids), CustomList.kind == CIDR_KIND)
    ).all()
    return [(list_id, version, list(items or ())) for list_id, version, items in rows]


# ---------------------------------------------------------------------------------------------
# For the builder


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


# ---------------------------------------------------------------------------------------------
# At track time


@dataclass
class CustomDataCheck:
    """What :func:`prepare_context` did, to be written into the decision output."""

    errors: list[dict[str, Any]] = field(default_factory=list)
    missing_lists: list[str] = field(default_factory=list)
    lists: dict[str, list[Any]] = field(default_factory=dict)

    def annotate(self, output: dict[str, Any]) -> None:
        """Add ``dataPointErrors`` / ``missingLists`` (only when there are any), and shorten the
        trace: a condition that compared with a whole list shows ``{"var": "lists.<name>"}``
        instead of every item, so stored actions stay small."""
        if self.errors:
            output["dataPointErrors"] = self.errors
        if self.missing_lists:
            output["missingLists"] = self.missing_lists
        if not self.lists:
            return
        by_size: dict[int, list[str]] = {}
        for name, items in self.lists.items():
            by_size.setdefault(len(items), []).append(name)
        for rule in output.get("rules", ()):
            for condition in rule.get("conditions", ()):
                expected = condition.get("expected")
                if condition.get("operator") != "in" or not isinstance(expected, list):
                    continue
                name = next((n for n in by_size.get(len(expected), ()) if self.lists[n] == expected), None)
                if name is not None:
                    condition["expected"] = {"var": LISTS_PREFIX + name}


def _names_read(fields: Iterable[str], prefix: str) -> set[str]:
    """``custom.amount`` / ``custom.tags.0`` → ``amount`` / ``tags`` for prefix ``custom.``."""
    return {path[len(prefix):].split(".", 1)[0] for path in fields if path.startswith(prefix) and len(path) > len(prefix)}


def prepare_context(config: TenantConfig, fields: Iterable[str], context: dict[str, Any]) -> CustomDataCheck | None:
    """Put the lists the rules read into ``context`` and drop custom values of the wrong type.

    ``fields``: every path the action's active rules read (compiled conditions' ``fields``).
    Lists and data points come from the tenant's configuration (no query once it is loaded)."""
    fields = set(fields)
    if not fields:
        return None
    check = CustomDataCheck()
    list_names = {name for name in _names_read(fields, LISTS_PREFIX) if LIST_NAME.fullmatch(name)}
    if list_names:
        check.lists = config.lists(list_names)
        check.missing_lists = sorted(list_names - set(check.lists))
        lists_namespace = context.get("lists")
        if not isinstance(lists_namespace, dict):
            lists_namespace = context["lists"] = {}
        lists_namespace.update(check.lists)

    sections = {"action": _section(context, "custom"), "user": _section(context.get("user"), "custom")}
    read = {"action": _names_read(fields, "custom."), "user": _names_read(fields, "user.custom.")}
    sent = {model: {name for name in read[model] if sections[model].get(name) is not None} for model in sections}
    point_types = config.data_point_types() if sent["action"] or sent["user"] else {}
    for model, name in sorted((m, name) for m, names in sent.items() for name in names):
        data_type = point_types.get((model, name))
        value = sections[model][name]
        if data_type is not None and not value_fits(data_type, value):
            check.errors.append({
                "field": ("user.custom." if model == "user" else "custom.") + name,
                "expectedType": data_type,
                "receivedType": value_type(value),
                "value": _shown(value),
            })
            del sections[model][name]  # as if not sent: comparisons on it do not match
    return check if (check.errors or check.lists or check.missing_lists) else None


def _section(parent: Any, key: str) -> dict[str, Any]:
    section = parent.get(key) if isinstance(parent, Mapping) else None
    return section if isinstance(section, dict) else {}


def _shown(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 100:
        return value[:100] + "…"
    if isinstance(value, list) and len(value) > 10:
        return [*value[:10], "…"]
    return value
