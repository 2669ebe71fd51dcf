"""The fields a rule can read, as the condition builder offers them, and the operators each type takes.

Paths match :func:`app.domain.context.build_context`; a test keeps the two in step. Anything the
integrator sends as custom data is ``custom.<name>``, typed by whoever writes the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FIELD_TYPES: tuple[str, ...] = ("text", "number", "boolean", "list", "ip")
TYPE_LABELS = {"text": "Text", "number": "Number", "boolean": "Yes / no", "list": "List", "ip": "IP address"}
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
_BY_PATH = {entry.path: entry for entry in CATALOGUE}


@dataclass(frozen=True)
class Operator:
    key: str
    label: str
    takes_value: bool
    list_value: bool = False


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
)}

OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "text": ("eq", "ne", "in", "not_in", "contains", "not_contains", "exists", "not_exists"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists", "not_exists"),
    "boolean": ("is_true", "is_false", "exists", "not_exists"),
    "list": ("contains", "not_contains", "exists", "not_exists"),
    "ip": ("eq", "ne", "in", "not_in", "exists", "not_exists"),
}


def find_field(path: str) -> CatalogueField | None:
    return _BY_PATH.get(path)


def is_custom(path: str) -> bool:
    return path.startswith(CUSTOM_PREFIX) and bool(CUSTOM_NAME.fullmatch(path[len(CUSTOM_PREFIX):]))


def operators_for(field_type: str | None) -> tuple[Operator, ...]:
    """Operators that fit a type; every operator when the type is not known yet."""
    keys = OPERATORS_BY_TYPE.get(field_type or "", tuple(OPERATORS))
    return tuple(OPERATORS[key] for key in keys)


def label_for(path: str) -> str:
    entry = find_field(path)
    return entry.label if entry else path
