"""The fields a rule can read, as the condition builder offers them, and the operators each type takes.

Paths match :func:`app.domain.context.build_context`; a test keeps the two in step. Anything the
integrator sends as custom data is ``custom.<name>``, typed by whoever writes the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.domain.rules import LISTS_PREFIX

FIELD_TYPES: tuple[str, ...] = ("text", "number", "boolean", "list", "ip", "multiselect")
TYPE_LABELS = {"text": "Text", "number": "Number", "boolean": "Yes / no", "list": "List", "ip": "IP address",
               "multiselect": "Multi-select"}
CUSTOM_PREFIX = "custom."
CUSTOM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


@dataclass(frozen=True)
class CatalogueField:
    path: str
    type: str
    label: str
    description: str


CATALOGUE: tuple[CatalogueField, ...] = (
    CatalogueField("user.id", "text", "User ID", "The user id your backend tracked the action for."),
    CatalogueField("user.email", "text", "User email", "The email set on the user or sent with a track."),
    CatalogueField("user.phoneNumber", "text", "User phone number", "The phone number set on the user."),
    CatalogueField("user.username", "text", "Username", "The username set on the user."),
    CatalogueField("user.isEnrolled", "boolean", "User is enrolled",
                   "Whether the user has at least one verified authenticator."),
    CatalogueField("user.enrolledVerificationMethods", "list", "User's enrolled methods",
                   "Verification methods the user has verified, e.g. PASSKEY, AUTHENTICATOR_APP."),
    CatalogueField("ip.address", "ip", "IP address", "The end user's IP address sent with the track."),
    CatalogueField("device.id", "text", "Device ID", "The device id sent with the track."),
    CatalogueField("userAgent", "text", "User agent", "The browser's user agent sent with the track."),
    CatalogueField("action.code", "text", "Action code", "The code of the action being tracked."),
)

# Risk signals (app/domain/signals.py): computed at track time, only for actions whose rules read them.
_NEEDS_GEO = (" Needs a GeoLite2-City file (TOLLGATE_GEOIP_CITY_DB); without one it is always empty,"
              " so a rule on it never matches.")
SIGNAL_FIELDS: tuple[CatalogueField, ...] = (
    CatalogueField("device.isNew", "boolean", "Device is new",
                   "This device id was never tracked for this user before (empty when no device id is sent)."),
    CatalogueField("device.count", "number", "User's device count",
                   "How many distinct device ids this user has been tracked with, this one included."),
    CatalogueField("device.lastSeenDaysAgo", "number", "Device last seen (days ago)",
                   "Days since this user was last tracked with this device id; empty for a new device."),
    CatalogueField("device.isBot", "boolean", "Device is a bot",
                   "The user agent is a crawler, a headless browser or a scripted HTTP client (curl, python...)."),
    CatalogueField("device.browser", "text", "Browser",
                   "Browser family parsed from the user agent, e.g. Chrome, Firefox, Mobile Safari."),
    CatalogueField("device.os", "text", "Operating system",
                   "Operating system family parsed from the user agent, e.g. Windows, Mac OS X, iOS, Android."),
    CatalogueField("device.isMobile", "boolean", "Device is mobile",
                   "The user agent is a phone or tablet browser or app (iOS, Android...)."),
    CatalogueField("ip.countryCode", "text", "IP country",
                   "Two-letter country code of the IP address (offline table; empty for private addresses)."),
    CatalogueField("ip.isUnrecognized", "boolean", "IP is unrecognized",
                   "This IP address was never tracked for this user before."),
    CatalogueField("ip.isAnonymous", "boolean", "IP is anonymous",
                   "The IP address is in an instance-wide network list marked anonymous (operator threat intel "
                   "such as Tor exit or VPN ranges, shared by every tenant; Data → Network lists or "
                   "`flask ip-lists import`). Your own custom lists never make an address anonymous."),
    CatalogueField("ip.cidrLists", "list", "IP's network lists",
                   "Names of the lists whose CIDRs contain the IP address: your custom lists of IP ranges and "
                   "the instance-wide network lists. Use 'contains' with a list name, e.g. office or tor."),
    CatalogueField("ip.city", "text", "IP city", "City of the IP address." + _NEEDS_GEO),
    CatalogueField("ip.latitude", "number", "IP latitude", "Latitude of the IP address." + _NEEDS_GEO),
    CatalogueField("ip.longitude", "number", "IP longitude", "Longitude of the IP address." + _NEEDS_GEO),
    CatalogueField("ip.impossibleTravel", "boolean", "Impossible travel",
                   "Getting here from the user's last located action needs a speed above "
                   "TOLLGATE_IMPOSSIBLE_TRAVEL_KMH (900 km/h by default)." + _NEEDS_GEO),
    CatalogueField("ip.travelSpeedKmh", "number", "Travel speed (km/h)",
                   "Speed needed to get here from the user's last located action (0 under 100 km)." + _NEEDS_GEO),
    CatalogueField("ip.atypicalTravel", "boolean", "Atypical country",
                   "The IP's country was not seen for this user in the last 90 days (empty without history)."
                   + _NEEDS_GEO),
    CatalogueField("user.hasPreviouslyVerified", "boolean", "User has verified before",
                   "The user has completed a passkey or code verification before."),
    CatalogueField("user.accountAgeDays", "number", "Account age (days)",
                   "Days since the user was first seen (tracked or created); 0 for a new user."),
    CatalogueField("user.lastVerifiedMinutesAgo", "number", "Last verified (minutes ago)",
                   "Minutes since the user last verified; e.g. skip the challenge when less than 10."),
    CatalogueField("user.failedChallengesLastHour", "number", "Failed challenges in the last hour",
                   "Wrong codes the user entered in the last hour."),
)
_VELOCITY_SCOPES = {"user": "this user", "device": "this device id", "ip": "this IP address"}
_VELOCITY_METRICS = {
    "actionCount": ("actions", "Actions of any code tracked for {scope}"),
    "actionCodeCount": ("actions of this code", "Actions of this action's code tracked for {scope}"),
    "failedChallenges": ("failed challenges", "Actions tracked for {scope} whose challenge failed"),
    "distinctUsers": ("distinct users", "Distinct users tracked with {scope} (credential stuffing)"),
}
_WINDOW_WORDS = {"10m": "10 minutes", "1h": "1 hour", "24h": "24 hours", "7d": "7 days"}
VELOCITY_FIELDS: tuple[CatalogueField, ...] = tuple(
    CatalogueField(
        f"velocity.{scope}.{metric}.{window}", "number",
        f"{scope.capitalize() if scope != 'ip' else 'IP'}: {_VELOCITY_METRICS[metric][0]}, last {_WINDOW_WORDS[window]}",
        _VELOCITY_METRICS[metric][1].format(scope=who) + f" in the last {_WINDOW_WORDS[window]}"
        + (", this one included." if metric != "failedChallenges" else ".")
        + " Other windows work in JsonLogic: <n>m, <n>h or <n>d up to 90 days.",
    )
    for scope, who in _VELOCITY_SCOPES.items()
    for metric in (("actionCount", "actionCodeCount", "failedChallenges") if scope == "user" else _VELOCITY_METRICS)
    for window in _WINDOW_WORDS
)
CATALOGUE = CATALOGUE + SIGNAL_FIELDS + VELOCITY_FIELDS
_BY_PATH = {entry.path: entry for entry in CATALOGUE}


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

    def label_for(self, path: str) -> str:
        entry = self.find_field(path)
        return entry.label if entry else path

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
