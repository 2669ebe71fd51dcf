"""JsonLogic value semantics for :mod:`app.domain.rules`: truthiness, equality, ordering.

Kept apart so rules.py reads as validate → compile → evaluate. Every function here is total:
a rule is evaluated against whatever the integrator sent, so odd values compare False, never raise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

MAX_JSON_DEPTH = 32


def truthy(value: Any) -> bool:
    """JsonLogic truthiness: like Python's, except objects are always truthy and NaN is falsy."""
    if value is True or value is False:  # the common case by far: comparison results
        return value
    kind = type(value)
    if kind is str or kind is int or kind is list:
        return bool(value)
    if isinstance(value, Mapping):
        return True
    if isinstance(value, float) and value != value:
        return False
    try:
        return bool(value)
    except Exception:  # a hostile __bool__ in the context must not break a decision
        return True


def to_json_safe(value: Any, _depth: int = 0) -> Any:
    """Make a context value storable as JSON: odd values become strings rather than failing."""
    if value is None or type(value) in (bool, int, str):
        return value
    if isinstance(value, (bool, int, str)):
        return _plain(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if _depth >= MAX_JSON_DEPTH:
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): to_json_safe(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v, _depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_json_safe(v, _depth + 1) for v in value), key=repr)
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return str(isoformat())
    return str(value)


def _plain(value: bool | int | str) -> bool | int | str:
    # Subclasses (IntEnum, StrEnum) serialise as their plain value.
    for kind in (bool, int, str):
        if isinstance(value, kind):
            return kind(value)
    return value


_NUMBER_RE = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


def _parse_number(text: str) -> int | float | None:
    """JSON-style numeric strings only: Python's float() would also take 'nan', 'inf', '1_0'."""
    if len(text) > 64 or not _NUMBER_RE.fullmatch(text):
        return None
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _loose_eq(a: Any, b: Any) -> bool:
    if type(a) is type(b) and type(a) in (str, int, float, bool):
        return a == b
    if a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a):
        if _is_number(b):
            return a == b
        if isinstance(b, str):
            return _parse_number(b) == a
        return False
    if _is_number(b):
        return isinstance(a, str) and _parse_number(a) == b
    return _strict_eq(a, b)


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _strict_eq(a: Any, b: Any) -> bool:
    if type(a) is type(b) and type(a) in (str, int, float, bool):
        return a == b
    if kind_of(a) != kind_of(b):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


def _ordered(a: Any, b: Any) -> tuple[Any, Any] | None:
    """The pair to order, or None when the values are incomparable (result is then False)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return None
    if isinstance(a, str):
        if isinstance(b, str):
            return a, b
        if _is_number(b):
            parsed = _parse_number(a)
            return None if parsed is None else (parsed, b)
        return None
    if _is_number(a):
        if _is_number(b):
            return a, b
        if isinstance(b, str):
            parsed = _parse_number(b)
            return None if parsed is None else (a, parsed)
    return None


_FAST = (int, float, str)
# Exact types, so bool (an int subclass) is not among them: a float amount against an int literal
# (`950.0 > 800`) is the usual comparison and must not go the long way round.
_NUMBERS = (int, float)


def _lt(a: Any, b: Any) -> bool:
    ta, tb = type(a), type(b)
    if (ta is tb and ta in _FAST) or (ta in _NUMBERS and tb in _NUMBERS):
        return a < b
    pair = _ordered(a, b)
    return pair is not None and pair[0] < pair[1]


def _le(a: Any, b: Any) -> bool:
    ta, tb = type(a), type(b)
    if (ta is tb and ta in _FAST) or (ta in _NUMBERS and tb in _NUMBERS):
        return a <= b
    pair = _ordered(a, b)
    return pair is not None and pair[0] <= pair[1]


def _gt(a: Any, b: Any) -> bool:
    ta, tb = type(a), type(b)
    if (ta is tb and ta in _FAST) or (ta in _NUMBERS and tb in _NUMBERS):
        return a > b
    pair = _ordered(a, b)
    return pair is not None and pair[0] > pair[1]


def _ge(a: Any, b: Any) -> bool:
    ta, tb = type(a), type(b)
    if (ta is tb and ta in _FAST) or (ta in _NUMBERS and tb in _NUMBERS):
        return a >= b
    pair = _ordered(a, b)
    return pair is not None and pair[0] >= pair[1]


def _contains(needle: Any, haystack: Any) -> bool:
    if isinstance(haystack, str):
        return isinstance(needle, str) and needle in haystack
    if isinstance(haystack, (list, tuple, set, frozenset)):
        return any(_strict_eq(needle, item) for item in haystack)
    return False


def scalar_key(value: Any) -> tuple[str, Any] | None:
    """A hashable key under which strict equality is plain equality (hash(1) == hash(True))."""
    kind = kind_of(value)
    return (kind, value) if kind in ("null", "boolean", "number", "string") else None


COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": _loose_eq, "!=": lambda a, b: not _loose_eq(a, b),
    "===": _strict_eq, "!==": lambda a, b: not _strict_eq(a, b),
    "<": _lt, "<=": _le, ">": _gt, ">=": _ge, "in": _contains,
}
