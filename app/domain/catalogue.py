"""The fields a rule can read, as the condition builder offers them, and the operators each type takes.

The built-in fields and the risk signals are data, in catalogue.toml; the velocity fields are made
here, one per scope, metric and window. Paths match :func:`app.domain.context.build_context`; a test
keeps the two in step. Anything the integrator sends as custom data is ``custom.<name>``, typed by
whoever writes the rule.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources

from app.domain.rules import LISTS_PREFIX

FIELD_TYPES: tuple[str, ...] = ("text", "number", "boolean", "list", "ip", "multiselect")
TYPE_LABELS = {"text": "Text", "number": "Number", "boolean": "Yes / no", "list": "List", "ip": "IP address",
               "multiselect": "Multi-select"}
CUSTOM_PREFIX = "custom."
CUSTOM_NAME_MAX = 100
CUSTOM_NAME = re.compile(rf"^[A-Za-z0-9_-]{{1,{CUSTOM_NAME_MAX}}}$")


@dataclass(frozen=True)
class CatalogueField:
    path: str
    type: str
    label: str  # what the field picker shows
    description: str
    # How a rule's sentence says it (the Rules tab, a review case): "" names the field by its label.
    sentence: str = ""
    # A yes / no field compared to true or false reads as a statement: "device is new", "device is not new".
    when_true: str = ""
    when_false: str = ""
    unit: tuple[str, str] = ("", "")  # after a compared number: one, many ("day", "days")

    @property
    def subject(self) -> str:
        """The field inside a sentence: its label in lower case, but an acronym (IP, ID) kept."""
        if self.sentence:
            return self.sentence
        return self.label if self.label[:2].isupper() else self.label[:1].lower() + self.label[1:]


# Said of every field catalogue.toml marks needs_geoip.
_NEEDS_GEO = (" Needs a GeoLite2-City file (TOLLGATE_GEOIP_CITY_DB); without one it is always empty,"
              " so a rule on it never matches.")


def _read_fields() -> dict[str, tuple[CatalogueField, ...]]:
    """catalogue.toml's tables (``field``: the track and the user; ``signal``: risk signals)."""
    tables = tomllib.loads(resources.files(__package__).joinpath("catalogue.toml").read_text(encoding="utf-8"))
    return {
        name: tuple(
            CatalogueField(row["path"], row["type"], row["label"],
                           row["description"] + (_NEEDS_GEO if row.get("needs_geoip") else ""),
                           sentence=row.get("sentence", ""), when_true=row.get("when_true", ""),
                           when_false=row.get("when_false", ""), unit=tuple(row.get("unit", ("", ""))))
            for row in rows
        )
        for name, rows in tables.items()
    }


_FIELDS = _read_fields()
SIGNAL_FIELDS = _FIELDS["signal"]  # computed at track time, only for actions whose rules read them

_VELOCITY_SCOPES = {"user": "this user", "device": "this device id", "ip": "this IP address"}
_VELOCITY_METRICS = {  # label, in a sentence, description
    "actionCount": ("actions", "action count", "Actions of any code tracked for {scope}"),
    "actionCodeCount": ("actions of this code", "count of this action", "Actions of this action's code tracked for {scope}"),
    "failedChallenges": ("failed challenges", "failed challenge count", "Actions tracked for {scope} whose challenge failed"),
    "distinctUsers": ("distinct users", "distinct user count", "Distinct users tracked with {scope} (credential stuffing)"),
}
_WINDOW_WORDS = {"10m": "10 minutes", "1h": "1 hour", "24h": "24 hours", "7d": "7 days"}
VELOCITY_FIELDS: tuple[CatalogueField, ...] = tuple(
    CatalogueField(
        f"velocity.{scope}.{metric}.{window}", "number",
        f"{scope.capitalize() if scope != 'ip' else 'IP'}: {_VELOCITY_METRICS[metric][0]}, last {_WINDOW_WORDS[window]}",
        _VELOCITY_METRICS[metric][2].format(scope=who) + f" in the last {_WINDOW_WORDS[window]}"
        + (", this one included." if metric != "failedChallenges" else ".")
        + " Other windows work in JsonLogic: <n>m, <n>h or <n>d up to 90 days.",
        sentence=f"{_VELOCITY_METRICS[metric][1]} for this {'IP address' if scope == 'ip' else scope}"
                 f" in the last {_WINDOW_WORDS[window].removeprefix('1 ')}",
    )
    for scope, who in _VELOCITY_SCOPES.items()
    for metric in (("actionCount", "actionCodeCount", "failedChallenges") if scope == "user" else _VELOCITY_METRICS)
    for window in _WINDOW_WORDS
)
CATALOGUE: tuple[CatalogueField, ...] = _FIELDS["field"] + SIGNAL_FIELDS + VELOCITY_FIELDS
_BY_PATH = {entry.path: entry for entry in CATALOGUE}

# The field picker's groups, by what a path reads first; the user agent is the device's browser.
YOUR_DATA = "Your data"
_GROUP_OF_ROOT = {"action": "Action", "user": "User", "passkey": "User", "device": "Device", "userAgent": "Device",
                  "ip": "IP", "velocity": "Velocity"}
FIELD_GROUPS: tuple[tuple[str, tuple[CatalogueField, ...]], ...] = tuple(
    (group, tuple(entry for entry in CATALOGUE if _GROUP_OF_ROOT[entry.path.split(".", 1)[0]] == group))
    for group in dict.fromkeys(_GROUP_OF_ROOT.values())
)


@dataclass(frozen=True)
class Operator:
    key: str
    label: str
    takes_value: bool
    list_value: bool = False
    list_ref: bool = False  # the value names a custom list (lists.<name>), not literal values


OPERATORS: dict[str, Operator] = {op.key: op for op in (
    Operator("eq", "equals", True),
    Operator("ne", "does not equal", True),
    Operator("gt", "is greater than", True),
    Operator("gte", "is greater than or equal to", True),
    Operator("lt", "is less than", True),
    Operator("lte", "is less than or equal to", True),
    Operator("in", "is in list", True, list_value=True),
    Operator("not_in", "is not in list", True, list_value=True),
    Operator("contains", "contains", True),
    Operator("not_contains", "does not contain", True),
    Operator("is_true", "is true", False),
    Operator("is_false", "is false", False),
    Operator("exists", "exists", False),
    Operator("not_exists", "does not exist", False),
    Operator("in_list", "is in custom list", True, list_ref=True),
    Operator("not_in_list", "is not in custom list", True, list_ref=True),
    Operator("contains_any", "contains any of", True, list_value=True),
)}

OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "text": ("eq", "ne", "in", "not_in", "in_list", "not_in_list", "contains", "not_contains", "exists", "not_exists"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "in_list", "not_in_list", "exists", "not_exists"),
    "boolean": ("is_true", "is_false", "exists", "not_exists"),
    "list": ("contains", "not_contains", "exists", "not_exists"),
    "ip": ("eq", "ne", "in", "not_in", "in_list", "not_in_list", "exists", "not_exists"),
    "multiselect": ("contains", "not_contains", "contains_any", "exists", "not_exists"),
}


def is_custom(path: str) -> bool:
    return path.startswith(CUSTOM_PREFIX) and bool(CUSTOM_NAME.fullmatch(path[len(CUSTOM_PREFIX):]))


def operators_for(field_type: str | None) -> tuple[Operator, ...]:
    """Operators that fit a type; every operator when the type is not known yet."""
    keys = OPERATORS_BY_TYPE.get(field_type or "", tuple(OPERATORS))
    return tuple(OPERATORS[key] for key in keys)


# ---------------------------------------------------------------------------------------------
# The tenant's own fields and lists (custom data points and custom lists)

LIST_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DATA_POINT_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
# Which list kinds a field type can be looked up in (CIDR lists are matched by ip.* signals instead).
LIST_KINDS_FOR_TYPE: dict[str, tuple[str, ...]] = {"text": ("strings",), "ip": ("strings",), "number": ("numbers",)}


@dataclass(frozen=True)
class ListRef:
    name: str
    kind: str  # strings | numbers | cidrs
    size: int = 0


@dataclass(frozen=True)
class TenantCatalogue:
    """What the builder offers and checks a rule against: the built-in fields, one tenant's data points
    (as catalogue fields) and its lists. ``TenantCatalogue()`` is a tenant with none of its own."""

    fields: tuple[CatalogueField, ...] = ()
    # None: the tenant's lists were not loaded, so any well-formed list name is taken on trust
    # (describing a rule needs only its name; offering and checking lists needs them loaded).
    lists: tuple[ListRef, ...] | None = ()
    network_lists: tuple[str, ...] = ()  # the instance-wide ones' names
    _by_path: dict[str, CatalogueField] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_path.update({entry.path: entry for entry in self.fields})

    def find_field(self, path: str) -> CatalogueField | None:
        """A built-in field, else one of the tenant's data points (a data point cannot shadow a built-in)."""
        entry = _BY_PATH.get(path)
        return entry if entry is not None else self._by_path.get(path)

    def find_list(self, name: str) -> ListRef | None:
        return next((ref for ref in self.lists or () if ref.name == name), None)

    def cidr_list_names(self) -> tuple[str, ...]:
        """What ``ip.cidrLists`` can contain: the tenant's CIDR lists and the instance-wide lists."""
        return tuple(sorted({ref.name for ref in self.lists or () if ref.kind == "cidrs"} | set(self.network_lists)))

    def lists_for(self, field_type: str) -> tuple[ListRef, ...]:
        kinds = LIST_KINDS_FOR_TYPE.get(field_type, ())
        return tuple(ref for ref in self.lists or () if ref.kind in kinds)


def list_ref_name(node: object) -> str | None:
    """``{"var": "lists.<name>"}`` → ``<name>``; anything else → None."""
    if isinstance(node, dict) and len(node) == 1 and isinstance(node.get("var"), str):
        path = node["var"]
        if path.startswith(LISTS_PREFIX) and LIST_NAME.fullmatch(path[len(LISTS_PREFIX):]):
            return path[len(LISTS_PREFIX):]
    return None
