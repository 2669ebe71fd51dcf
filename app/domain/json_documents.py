"""JSON text in: every JSON document Tollgate reads (API bodies, console forms, CLI files) is
decoded here, so each limit below is written once.

Python's json module is more lenient than RFC 8259 in ways that matter here: it reads ``NaN`` and
``Infinity``, turns ``1e400`` into infinity (a rule ``amount > 10000`` then matches), and recurses
once per nesting level until it raises ``RecursionError`` (a 500). So:

* numbers must be finite doubles: ``NaN``/``Infinity``/``-Infinity`` are refused as not finite,
  and a number beyond the double range (``1e400``, or a 400-digit integer) as out of range, with
  the path of the value (``custom.amount``);
* arrays and objects nest at most :data:`MAX_DEPTH` levels (rules nest, custom data barely does);
* bytes must be UTF-8, as RFC 8259 requires between systems.

U+0000 is refused by :mod:`app.request_limits` for requests and by
:func:`app.domain.documents.parse_document` for decoded data, not here.
"""

from __future__ import annotations

import json
import math
import re
import sys
from itertools import accumulate
from typing import Any

from app.domain.errors import InvalidJson, MalformedJson, RefusedNumber

__all__ = ["MAX_DEPTH", "NOT_FINITE", "OUT_OF_RANGE", "decode_json"]

OUT_OF_RANGE = "number out of range"
NOT_FINITE = "not a finite number"

MAX_DEPTH = 64

_LARGEST = sys.float_info.max
# A string, or what is left of an unterminated one: it always matches, so the scan stays linear.
_STRING = re.compile(r'"(?:[^"\\]|\\.?)*+"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class _Refused(Exception):
    """A number that is not a finite double, met while decoding; :func:`_locate` finds it."""


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):  # the literal is beyond the double range (float() never gives NaN here)
        raise _Refused
    return value


def _double_sized_int(literal: str) -> int:
    # By length first: int() itself raises a bare ValueError beyond 4,300 digits.
    digits = len(literal) - literal.startswith("-")
    if digits > 309 or (digits == 309 and abs(int(literal)) > _LARGEST):
        raise _Refused
    return int(literal)


def _no_constant(literal: str) -> Any:
    raise _Refused


_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_int=_double_sized_int, parse_constant=_no_constant)


def decode_json(document: str | bytes) -> Any:
    """The value of a JSON text, or :class:`InvalidJson` saying what is wrong and where.

    :class:`MalformedJson` (a subclass) means the text is not JSON at all."""
    if isinstance(document, bytes):
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedJson("Not valid JSON: it is not UTF-8 text.") from None
    # Counting brackets costs well under a microsecond and settles nearly every document.
    if document.count("[") + document.count("{") > MAX_DEPTH and _depth(document) > MAX_DEPTH:
        raise InvalidJson(f"JSON nested too deeply (limit {MAX_DEPTH}).")
    try:
        try:
            return _DECODER.decode(document)
        except _Refused:
            # The decoder stops at the first refused number: the text after it may not be JSON at all,
            # which the locating decode finds, and which is then the answer.
            raise RefusedNumber(*_refused_number(document)) from None
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None


def _depth(text: str) -> int:
    """How deeply arrays and objects nest, without recursing: brackets outside strings, counted.
    Where the text stops being JSON the count may be off, but never below what the decoder would
    reach before it stops."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


class _Number:
    """A refused number, kept in place by the locating decoder."""

    def __init__(self, problem: str) -> None:
        self.problem = problem


class _Pairs(list):
    """An object's members in order, duplicate keys kept (the refused value may be overwritten)."""


def _keeping_refused(parse):
    def keep(literal: str) -> Any:
        try:
            return parse(literal)
        except _Refused:
            return _Number(OUT_OF_RANGE)
    return keep


_LOCATOR = json.JSONDecoder(parse_float=_keeping_refused(_finite_float), parse_int=_keeping_refused(_double_sized_int),
                            parse_constant=lambda literal: _Number(NOT_FINITE), object_pairs_hook=_Pairs)


def _refused_number(text: str) -> tuple[str, str]:
    """Only on refusal: decode again, keeping refused numbers in place, to name the first one's path."""
    path, problem = _locate(_LOCATOR.decode(text), "") or ("", "a number is out of range or not finite")
    return path or "$", problem


def _locate(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, _Number):
        return path, value.problem
    if isinstance(value, _Pairs):
        children = ((f"{path}.{key}" if path else key, item) for key, item in value)
    elif isinstance(value, list):
        children = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    else:
        return None
    for child_path, item in children:
        found = _locate(item, child_path)
        if found is not None:
            return found
    return None
