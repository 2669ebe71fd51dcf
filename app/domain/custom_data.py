"""Custom data against its declared types, inside a decision (``track_decision.decide_track``).

A ``custom.<name>`` / ``user.custom.<name>`` value of the wrong type for its data point is reported
in the decision output (``dataPointErrors``) and taken out of the rule context, so comparisons on it
simply do not match. Only values the rules read are checked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.domain._jsonlogic import kind_of

CUSTOM_SECTIONS = {"action": "custom.", "user": "user.custom."}  # data point model type → path prefix


@dataclass(frozen=True)
class CustomDataReport:
    """What the decision output says of the tenant's own data, only when there is something to say."""

    errors: list[dict[str, Any]] = field(default_factory=list)
    missing_lists: list[str] = field(default_factory=list)

    def write_into(self, output: dict[str, Any]) -> None:
        if self.errors:
            output["dataPointErrors"] = self.errors
        if self.missing_lists:
            output["missingLists"] = self.missing_lists


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


def names_read(fields: Iterable[str], prefix: str) -> set[str]:
    """``custom.amount`` / ``custom.tags.0`` → ``amount`` / ``tags`` for prefix ``custom.``."""
    return {path[len(prefix):].split(".", 1)[0] for path in fields if path.startswith(prefix) and len(path) > len(prefix)}


def points_read(fields: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """(model type, name) of every custom value ``fields`` read, in the order errors are reported."""
    return tuple(sorted((model, name) for model, prefix in CUSTOM_SECTIONS.items() for name in names_read(fields, prefix)))


def check_custom_values(context: dict[str, Any], points: Iterable[tuple[str, str]],
                        point_types: Mapping[tuple[str, str], str]) -> list[dict[str, Any]]:
    """Take custom values of the wrong type out of ``context`` (a decision's own, being built) and
    say which; ``points``: what the rules read (:func:`points_read`), in the order to report."""
    if not point_types:  # no declared types, nothing can be of the wrong one
        return []
    sections = {"action": _section(context, "custom"), "user": _section(context.get("user"), "custom")}
    errors = []
    for model, name in points:
        value = sections[model].get(name)
        data_type = point_types.get((model, name))
        if value is None or data_type is None or value_fits(data_type, value):
            continue
        errors.append({
            "field": CUSTOM_SECTIONS[model] + name,
            "expectedType": data_type,
            "receivedType": value_type(value),
            "value": _shown(value),
        })
        del sections[model][name]  # as if not sent: comparisons on it do not match
    return errors


def _section(parent: Any, key: str) -> dict[str, Any]:
    section = parent.get(key) if isinstance(parent, Mapping) else None
    return section if isinstance(section, dict) else {}


def _shown(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 100:
        return value[:100] + "…"
    if isinstance(value, list) and len(value) > 10:
        return [*value[:10], "…"]
    return value
