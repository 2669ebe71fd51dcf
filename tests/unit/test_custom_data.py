"""Custom data points and lists without the app: item parsing, type checks, what a decision reports."""

from __future__ import annotations

import pytest

from app.domain.custom_data import CustomDataReport, check_custom_values, points_read, value_fits, value_type
from app.services.rulesets.custom_lists import MAX_ITEMS, parse_items


def test_string_items_are_trimmed_deduplicated_and_skip_blanks_and_comments():
    items, errors = parse_items("strings", "  NZ\n\n# sanctioned\nAU\nNZ\r\nus \n")

    assert (items, errors) == (["NZ", "AU", "us"], [])


def test_number_items_are_typed_and_bad_lines_are_named():
    items, errors = parse_items("numbers", "1\n2.5\n1.0\nabc\n-3\n1e400")

    assert items == [1, 2.5, -3]
    assert errors == ["Line 4: “abc” is not a number.",
                      "Line 6: “1e400” is too large: a rule holds numbers from -1.8e308 to 1.8e308."]


def test_cidr_items_are_normalised_for_ipv4_and_ipv6():
    items, errors = parse_items("cidrs", "203.0.113.0/24\n10.0.0.1/8\n198.51.100.7\n2001:db8::/32\n::1\nnot-an-ip")

    assert items == ["203.0.113.0/24", "10.0.0.0/8", "198.51.100.7/32", "2001:db8::/32", "::1/128"]
    assert len(errors) == 1 and errors[0].startswith("Line 6: “not-an-ip” is not an IP address or CIDR range")


def test_line_errors_are_capped_and_size_is_limited():
    _, errors = parse_items("numbers", "\n".join(["x"] * 50))
    assert len(errors) == 10

    items, errors = parse_items("strings", "\n".join(str(i) for i in range(MAX_ITEMS + 1)))
    assert len(items) == MAX_ITEMS + 1
    assert errors == [f"A list holds at most {MAX_ITEMS:,} items; this one has {MAX_ITEMS + 1:,}."]


def test_overlong_items_are_refused():
    _, errors = parse_items("strings", "a" * 201)

    assert errors == ["Line 1: “" + "a" * 40 + "…” is longer than 200 characters."]


@pytest.mark.parametrize(("data_type", "good", "bad"), [
    ("number", [0, 5, 2.5, -1], ["5", True, None, [1], float("nan")]),
    ("boolean", [True, False], [1, "true", 0]),
    ("text", ["", "NZ"], [1, True, ["NZ"]]),
    ("multiselect", [[], ["a", "b"]], ["a", [1], ["a", 2]]),
])
def test_value_fits_its_data_point_type(data_type, good, bad):
    assert all(value_fits(data_type, value) for value in good)
    assert not any(value_fits(data_type, value) for value in bad)


def test_value_type_names_what_was_sent():
    assert [value_type(v) for v in (None, True, 3, 2.5, "x", ["a"], [1])] == [
        "null", "boolean", "number", "number", "text", "multiselect", "list"]


def test_the_report_writes_data_point_errors_and_missing_lists_into_the_output():
    output = {"rules": []}

    CustomDataReport(errors=[{"field": "custom.amount"}], missing_lists=["gone"]).write_into(output)

    assert output == {"rules": [], "dataPointErrors": [{"field": "custom.amount"}], "missingLists": ["gone"]}


def test_the_report_adds_nothing_when_all_is_well():
    output = {"rules": []}

    CustomDataReport().write_into(output)

    assert output == {"rules": []}


def test_values_of_the_wrong_type_leave_the_context_and_are_reported_only_when_read():
    context = {"custom": {"amount": "5000", "note": 7, "tags": "x" * 150}, "user": {"custom": {"vip": "yes"}}}
    types = {("action", "amount"): "number", ("action", "note"): "text", ("action", "tags"): "multiselect",
             ("user", "vip"): "boolean"}

    errors = check_custom_values(context, points_read({"custom.amount", "custom.tags.0", "user.custom.vip"}), types)

    assert [e["field"] for e in errors] == ["custom.amount", "custom.tags", "user.custom.vip"]
    assert errors[1] == {"field": "custom.tags", "expectedType": "multiselect", "receivedType": "text",
                         "value": "x" * 100 + "…"}
    assert context == {"custom": {"note": 7}, "user": {"custom": {}}}  # note is not read: left alone
