"""Custom data points and lists at track time, and only for what the action's rules read:

- ``lists.<name>`` is put in the rule context, from the tenant's configuration (services.tenancy.tenant_config:
  cached per process, but an edited list gives the tenant a new stamp, so it decides the very next track);
- ``custom.<name>`` / ``user.custom.<name>`` values are checked against their data point's type;
  a value of the wrong type is reported in the decision output (``dataPointErrors``) and removed
  from the context, so comparisons on it simply do not match;
- the tenant's CIDR lists, for ``ip.cidrLists`` (services.decisions.signals).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select

from app.domain._jsonlogic import kind_of
from app.domain.catalogue import LIST_NAME, LISTS_PREFIX
from app.extensions import db
from app.models import CustomList
from app.services.rulesets.custom_lists import CIDR_KIND

if TYPE_CHECKING:
    from app.services.tenancy.tenant_config import TenantConfig


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


@dataclass
class CustomDataCheck:
    """What :func:`prepare_context` did, to be written into the decision output."""

    errors: list[dict[str, Any]] = field(default_factory=list)
    missing_lists: list[str] = field(default_factory=list)

    def annotate(self, output: dict[str, Any]) -> None:
        """Add ``dataPointErrors`` / ``missingLists`` (only when there are any)."""
        if self.errors:
            output["dataPointErrors"] = self.errors
        if self.missing_lists:
            output["missingLists"] = self.missing_lists


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
        lists = config.lists(list_names)
        check.missing_lists = sorted(list_names - set(lists))
        lists_namespace = context.get("lists")
        if not isinstance(lists_namespace, dict):
            lists_namespace = context["lists"] = {}
        lists_namespace.update(lists)

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
    return check if (check.errors or check.missing_lists) else None


def _section(parent: Any, key: str) -> dict[str, Any]:
    section = parent.get(key) if isinstance(parent, Mapping) else None
    return section if isinstance(section, dict) else {}


def _shown(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 100:
        return value[:100] + "…"
    if isinstance(value, list) and len(value) > 10:
        return [*value[:10], "…"]
    return value


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
