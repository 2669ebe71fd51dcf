"""Custom lists as admins manage them (console, CLI import): items typed and checked, edits audited,
and the rules that read a list. What a decision does with them is app.domain.custom_data."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import defer

from app.domain.builder import NUMBER_RANGE, parse_number
from app.domain.catalogue import (
    LIST_NAME,
    LISTS_PREFIX,
)
from app.domain.errors import DomainError, InvalidFields
from app.extensions import db
from app.models import ActionConfiguration, ConsoleUser, CustomList, Rule
from app.services.tenancy.audit import Agent, item_changes, record_change
from app.services.tenancy.records import Records, flush_or_refuse

LIST_KINDS = {"strings": "Text values", "numbers": "Numbers", "cidrs": "IP ranges (CIDR)"}
CIDR_KIND = "cidrs"  # matched against the track IP by ip.cidrLists
MAX_DESCRIPTION = 500  # a list's or a data point's description
MAX_ITEMS = 10_000
MAX_ITEM_LENGTH = 200
MAX_LINE_ERRORS = 10


class InvalidCustomData(InvalidFields, code="invalid_custom_data"):
    """Custom data points and lists a console form or the CLI cannot save."""


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
        number, too_large = parse_number(raw)
        if too_large:
            return None, f"“{shown}” is too large: {NUMBER_RANGE}."
        return (number, None) if number is not None else (None, f"“{shown}” is not a number.")
    if kind == "cidrs":
        try:
            return str(ipaddress.ip_network(raw, strict=False)), None
        except ValueError:
            return None, f"“{shown}” is not an IP address or CIDR range (e.g. 203.0.113.0/24 or 2001:db8::/32)."
    return raw, None


def format_items(items: Sequence[Any]) -> str:
    return "\n".join(str(item) for item in items)


@dataclass(frozen=True)
class ListInput:
    name: str
    kind: str
    description: str = ""
    items_text: str = ""


def list_lists(tenant_id: str) -> list[CustomList]:
    """Without their items (a listing needs only the counts)."""
    return _LISTS.all(tenant_id, CustomList.name, options=[defer(CustomList.items)])


def get_list(tenant_id: str, list_id: str) -> CustomList:
    return _LISTS.get(tenant_id, list_id)


def find_list(tenant_id: str, name: str) -> CustomList | None:
    return db.session.execute(
        select(CustomList).where(CustomList.tenant_id == tenant_id, CustomList.name == name)
    ).scalar_one_or_none()


def _check_list(data: ListInput, *, check_name: bool = True) -> tuple[ListInput, list[Any]]:
    errors: dict[str, list[str]] = {}
    name = checked_name(data.name, errors, LIST_NAME, "Use 1-64 letters, digits, '_' or '-'; rules read it as lists.<name>.",
                        check=check_name)
    if data.kind not in LIST_KINDS:
        errors["kind"] = ["Choose what the list holds."]
    description = checked_description(data.description, errors)
    items: list[Any] = []
    if data.kind in LIST_KINDS:
        items, problems = parse_items(data.kind, data.items_text)
        if problems:
            errors["items"] = problems
    if errors:
        raise InvalidCustomData(errors)
    return ListInput(name, data.kind, description, data.items_text), items


def checked_name(text: str | None, errors: dict[str, list[str]], pattern: re.Pattern[str], rule: str, *,
                 check: bool) -> str:
    """A list's or a data point's name, trimmed; checked against ``pattern`` (``rule`` in ``errors`` when
    it fails) only when ``check``: once created, the name stays."""
    name = (text or "").strip()
    if check and not pattern.fullmatch(name):
        errors["name"] = [rule]
    return name


def checked_description(text: str | None, errors: dict[str, list[str]]) -> str:
    """A list's or a data point's description, trimmed; one too long is an error in ``errors``."""
    description = (text or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = [f"Keep the description under {MAX_DESCRIPTION} characters."]
    return description


def _audited_list(row: CustomList) -> dict[str, Any]:
    return {"name": row.name, "kind": row.kind, "description": row.description, "items": row.item_count}


_LISTS = Records(CustomList, "custom_list", _audited_list, "No such list.", "custom_list_not_found")


def create_list(actor: ConsoleUser | Agent, data: ListInput, *, now: datetime) -> CustomList:
    data, items = _check_list(data)
    row = CustomList(tenant_id=actor.tenant_id, name=data.name, kind=data.kind, description=data.description,
                     items=items, item_count=len(items), version=1, created_at=now, updated_at=now)
    db.session.add(row)
    flush_or_refuse(InvalidCustomData({"name": [f"There is already a list named “{data.name}”."]}))
    record_change(actor, "custom_list.created", row.id, "custom_list",
                  after={**_audited_list(row), **item_changes([], items)}, now=now)
    db.session.commit()
    return row


def update_list(actor: ConsoleUser | Agent | None, list_id: str, data: ListInput, *, now: datetime,
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
                      after={**_audited_list(row), **item_changes(before_items, items)}, now=now)
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


def delete_list(actor: ConsoleUser | Agent, list_id: str, *, now: datetime) -> CustomList:
    """Refused while a rule reads the list: "not in list" would then match every action."""
    row = get_list(actor.tenant_id, list_id)
    users = rules_reading_list(actor.tenant_id, row.name, kind=row.kind)
    if users:
        named = ", ".join(f"“{rule}” ({code})" for code, rule in users[:5]) + (" and others" if len(users) > 5 else "")
        raise DomainError(f"Rules read this list: {named}. Change them first.", code="custom_list_in_use", status=409)
    return _LISTS.deleted(actor, row, now=now)
