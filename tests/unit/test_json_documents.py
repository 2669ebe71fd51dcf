"""Decoding JSON documents: RFC 8259 numbers only, a nesting limit, and messages that say where."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import InvalidJson, InvalidRequest, MalformedJson, RefusedNumber
from app.domain.json_documents import MAX_DEPTH, NOT_FINITE, OUT_OF_RANGE, decode_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**300), 10**300) | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


def refusal(document) -> InvalidJson:
    with pytest.raises(InvalidJson) as caught:
        decode_json(document)
    return caught.value


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_every_json_value_within_the_limits_decodes_to_itself(value):
    text = json.dumps(value)

    assert decode_json(text) == value
    assert decode_json(text.encode()) == value


@pytest.mark.parametrize(("document", "message"), [
    ('{"custom": {"amount": 1e400}}', "custom.amount: number out of range"),
    ('{"custom": {"amount": -1.8e308}}', "custom.amount: number out of range"),
    ('{"custom": {"amount": %s}}' % ("9" * 309), "custom.amount: number out of range"),
    ('{"custom": {"amount": %s}}' % ("1" * 5000), "custom.amount: number out of range"),  # int() refuses it
    ('{"custom": {"amount": NaN}}', "custom.amount: not a finite number"),
    ('{"a": [1, {"b": [Infinity]}]}', "a[1].b[0]: not a finite number"),
    ('{"a": -Infinity}', "a: not a finite number"),
    ("1e400", "$: number out of range"),
    ('{"amount": 1e400, "amount": 5}', "amount: number out of range"),  # the later key would hide it
])
def test_a_number_that_is_not_a_finite_double_is_named_by_its_path(document, message):
    error = refusal(document)

    assert not isinstance(error, MalformedJson)
    assert error.message == message
    # The path and the problem apart, for a form that shows the path only as a technical detail.
    assert isinstance(error, RefusedNumber) and f"{error.path}: {error.problem}" == message
    assert error.problem in (OUT_OF_RANGE, NOT_FINITE)


@pytest.mark.parametrize("document", [
    str(sys.float_info.max), "-" + str(sys.float_info.max), "1" + "0" * 308, "-" + "9" * 308, "5e-324", "1e-400",
])
def test_the_whole_double_range_is_accepted(document):
    assert decode_json(document) == json.loads(document)


def test_nesting_is_limited():
    assert decode_json(nested(MAX_DEPTH)) is not None
    assert decode_json('{"a": ' * MAX_DEPTH + "1" + "}" * MAX_DEPTH) is not None
    for document in (nested(MAX_DEPTH + 1), nested(100_000), '{"a": ' * 100_000, "[" * 100_000):
        assert refusal(document).message == f"JSON nested too deeply (limit {MAX_DEPTH})."


def test_brackets_in_strings_are_text():
    text = json.dumps({"note": "[{" * 1000, "quoted": '\\"[[[[' * 100})

    assert decode_json(text) == json.loads(text)


@pytest.mark.timeout(5)  # the naive scan takes ~20 s here; this one milliseconds
def test_an_unterminated_string_full_of_escaped_quotes_is_refused_quickly():
    # Quadratic in a naive string scan: each escaped quote would start a new scan to the end.
    document = "[" + "[], " * MAX_DEPTH + '"' + '\\"' * 30_000 + "\\"  # enough brackets to be scanned

    assert isinstance(refusal(document), MalformedJson)


@pytest.mark.parametrize(("document", "message"), [
    ('{"and": [', "Not valid JSON: Expecting value (line 1, column 10)."),
    ("{amount: 5}", "Not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)."),
    ("", "Not valid JSON: Expecting value (line 1, column 1)."),
    ('{"a": 1} x', "Not valid JSON: Extra data (line 1, column 10)."),
    (b'{"a": "\xff"}', "Not valid JSON: it is not UTF-8 text."),
    # A refused number before the syntax error: the text is not JSON, and that is what is said.
    ("[NaN,", "Not valid JSON: Expecting value (line 1, column 6)."),
    ('{"a": 1e400 x', "Not valid JSON: Expecting ',' delimiter (line 1, column 13)."),
    ("[Infinity]]", "Not valid JSON: Extra data (line 1, column 11)."),
])
def test_text_that_is_not_json_says_where(document, message):
    error = refusal(document)

    assert isinstance(error, MalformedJson)
    assert error.message == message


def test_refusals_are_invalid_requests():
    error = refusal("NaN")

    assert isinstance(error, InvalidRequest)
    assert (error.code, error.status) == ("invalid_request", 400)
