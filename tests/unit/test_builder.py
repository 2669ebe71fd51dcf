"""The condition builder's tree: JsonLogic out, the same tree back, form parsing, edits, errors."""

from __future__ import annotations

import sys

import pytest

from app.domain.builder import (
    TOO_LARGE,
    Condition,
    Group,
    apply_edit,
    check_tree,
    describe,
    describe_conditions,
    from_jsonlogic,
    parse_number,
    parse_value,
    to_jsonlogic,
    tree_from_form,
)
from app.domain.catalogue import CATALOGUE, CatalogueField, TenantCatalogue
from app.domain.errors import InvalidJson
from app.domain.json_documents import decode_json
from app.domain.rules import evaluate, validate_conditions

BUILT_IN = TenantCatalogue()  # a tenant with no data points or lists of its own


def c(field, type_, op, value=None):
    return Condition(field, type_, op, value)


ROUND_TRIPS = [
    pytest.param(Group(), None, id="empty: always matches"),
    pytest.param(Group("and", [c("custom.amount", "number", "gt", 1000)]),
                 {"and": [{">": [{"var": "custom.amount"}, 1000]}]}, id="number greater than"),
    pytest.param(Group("or", [c("custom.amount", "number", "gte", 10.5)]),
                 {"or": [{">=": [{"var": "custom.amount"}, 10.5]}]}, id="float, or"),
    pytest.param(Group("and", [c("custom.amount", "number", "lt", -3), c("custom.amount", "number", "lte", 0)]),
                 {"and": [{"<": [{"var": "custom.amount"}, -3]}, {"<=": [{"var": "custom.amount"}, 0]}]},
                 id="less than"),
    pytest.param(Group("and", [c("user.email", "text", "eq", "ann@example.com")]),
                 {"and": [{"==": [{"var": "user.email"}, "ann@example.com"]}]}, id="text equals"),
    pytest.param(Group("and", [c("custom.tier", "number", "ne", 3)]),
                 {"and": [{"!=": [{"var": "custom.tier"}, 3]}]}, id="number not equals"),
    pytest.param(Group("and", [c("ip.address", "ip", "in", ["203.0.113.7", "198.51.100.1"])]),
                 {"and": [{"in": [{"var": "ip.address"}, ["203.0.113.7", "198.51.100.1"]]}]}, id="ip in list"),
    pytest.param(Group("and", [c("custom.country", "text", "not_in", ["NZ", "AU"])]),
                 {"and": [{"!": {"in": [{"var": "custom.country"}, ["NZ", "AU"]]}}]}, id="not in list"),
    pytest.param(Group("and", [c("custom.level", "number", "in", [1, 2.5])]),
                 {"and": [{"in": [{"var": "custom.level"}, [1, 2.5]]}]}, id="number in list"),
    pytest.param(Group("and", [c("userAgent", "text", "contains", "Headless")]),
                 {"and": [{"in": ["Headless", {"var": "userAgent"}]}]}, id="text contains"),
    pytest.param(Group("and", [c("user.enrolledVerificationMethods", "list", "not_contains", "PASSKEY")]),
                 {"and": [{"!": {"in": ["PASSKEY", {"var": "user.enrolledVerificationMethods"}]}}]},
                 id="list does not contain"),
    pytest.param(Group("and", [c("user.isEnrolled", "boolean", "is_false")]),
                 {"and": [{"==": [{"var": "user.isEnrolled"}, False]}]}, id="is false"),
    pytest.param(Group("and", [c("custom.vip", "boolean", "is_true")]),
                 {"and": [{"==": [{"var": "custom.vip"}, True]}]}, id="custom is true"),
    pytest.param(Group("and", [c("device.id", "text", "exists")]),
                 {"and": [{"!": {"missing": ["device.id"]}}]}, id="exists"),
    pytest.param(Group("and", [c("custom.note", "text", "not_exists")]),
                 {"and": [{"missing": ["custom.note"]}]}, id="does not exist"),
    pytest.param(
        Group("and", [
            c("custom.amount", "number", "gt", 1000),
            Group("or", [
                c("user.isEnrolled", "boolean", "is_false"),
                Group("and", [c("ip.address", "ip", "ne", "10.0.0.1"), c("action.code", "text", "eq", "pay")]),
            ]),
        ]),
        {"and": [
            {">": [{"var": "custom.amount"}, 1000]},
            {"or": [
                {"==": [{"var": "user.isEnrolled"}, False]},
                {"and": [{"!=": [{"var": "ip.address"}, "10.0.0.1"]}, {"==": [{"var": "action.code"}, "pay"]}]},
            ]},
        ]},
        id="nested three levels",
    ),
]


@pytest.mark.parametrize(("tree", "expected"), ROUND_TRIPS)
def test_tree_to_jsonlogic_and_back(tree, expected):
    assert check_tree(tree, catalogue=BUILT_IN) == {}
    expr = to_jsonlogic(tree)

    assert expr == expected
    validate_conditions(expr)
    assert from_jsonlogic(expr, catalogue=BUILT_IN) == tree


@pytest.mark.parametrize("expr", [
    {"if": [{"var": "custom.a"}, True, False]},
    {">": [1000, {"var": "custom.amount"}]},  # literal first
    {"===": [{"var": "user.email"}, "x"]},
    {"==": [{"var": "user.email"}, 3]},  # a text field compared with a number
    {">": [{"var": "user.email"}, 3]},
    {"==": [{"var": "custom.a.b"}, 1]},  # not a catalogue path nor custom.<name>
    {"and": [{"and": [{"and": [{"and": [{"missing": ["custom.a"]}]}]}]}]},  # four levels
    {"in": [{"var": "custom.a"}, []]},
    {"in": [{"var": "custom.a"}, ["x", 1]]},
    {"!!": {"var": "custom.a"}},
    {"missing": ["custom.a", "custom.b"]},
    True,
])
def test_what_the_builder_cannot_show_reads_as_none(expr):
    assert from_jsonlogic(expr, catalogue=BUILT_IN) is None


def test_a_bare_comparison_opens_as_a_one_condition_group():
    tree = from_jsonlogic({">": [{"var": "custom.amount"}, 1000]}, catalogue=BUILT_IN)

    assert tree == Group("and", [c("custom.amount", "number", "gt", 1000)])


def test_compiled_tree_decides_like_the_builder_says():
    tree = Group("and", [c("custom.amount", "number", "gt", 1000), c("custom.vip", "boolean", "is_false")])
    expr = to_jsonlogic(tree)

    assert evaluate(expr, {"custom": {"amount": 5000, "vip": False}}).matched
    assert not evaluate(expr, {"custom": {"amount": 10, "vip": False}}).matched
    assert not evaluate(expr, {"custom": {"amount": 5000, "vip": True}}).matched


def test_exists_and_contains_evaluate_as_named():
    exists = to_jsonlogic(Group("and", [c("device.id", "text", "exists")]))
    contains = to_jsonlogic(Group("and", [c("user.enrolledVerificationMethods", "list", "contains", "PASSKEY")]))

    assert evaluate(exists, {"device": {"id": "d1"}}).matched
    assert not evaluate(exists, {"device": {"id": None}}).matched
    assert evaluate(contains, {"user": {"enrolledVerificationMethods": ["PASSKEY"]}}).matched
    assert not evaluate(contains, {"user": {"enrolledVerificationMethods": []}}).matched


def test_form_fields_parse_into_a_tree():
    form = {
        "g-0-join": "or",
        "c-0-0-field": "custom", "c-0-0-custom": "amount", "c-0-0-type": "number", "c-0-0-op": "gt",
        "c-0-0-value": "1000",
        "g-0-3-join": "and",  # keys need not be contiguous
        "c-0-3-0-field": "ip.address", "c-0-3-0-op": "in", "c-0-3-0-value": "1.2.3.4, 5.6.7.8 ,",
        "c-0-3-1-field": "user.isEnrolled", "c-0-3-1-op": "is_true", "c-0-3-1-value": "ignored",
    }

    tree, errors = tree_from_form(form, catalogue=BUILT_IN)

    assert errors == {}
    assert tree == Group("or", [
        c("custom.amount", "number", "gt", 1000),
        Group("and", [c("ip.address", "ip", "in", ["1.2.3.4", "5.6.7.8"]), c("user.isEnrolled", "boolean", "is_true")]),
    ])


def test_form_errors_are_keyed_by_the_rendered_position():
    form = {"g-0-join": "and", "c-0-5-field": "custom", "c-0-5-custom": "amount", "c-0-5-type": "number",
            "c-0-5-op": "gt", "c-0-5-value": "lots"}

    tree, errors = tree_from_form(form, catalogue=BUILT_IN)

    assert errors == {"0-0-value": "Enter a number."}
    assert tree.children[0].value == "lots"


def test_an_operator_that_no_longer_fits_the_field_is_dropped():
    tree, _ = tree_from_form({"g-0-join": "and", "c-0-0-field": "user.isEnrolled", "c-0-0-op": "gt", "c-0-0-value": "3"},
                             catalogue=BUILT_IN)

    assert tree.children[0].operator == ""
    assert check_tree(tree, catalogue=BUILT_IN) == {"0-0-op": "Choose an operator that fits a boolean field."}


@pytest.mark.parametrize(("tree", "errors"), [
    (Group("and", [Condition()]), {"0-0-field": "Choose a field."}),
    (Group("and", [c("custom.", "number", "gt", 1)]),
     {"0-0-field": "Name the custom field with letters, digits, '_' or '-' (up to 100)."}),
    (Group("and", [c("custom.x", "", "gt", 1)]), {"0-0-field": "Choose the custom field's type."}),
    (Group("and", [c("user.email", "text", "contains", "")]), {"0-0-value": "Enter a value."}),
    (Group("and", [c("custom.x", "number", "in", [])]), {"0-0-value": "Enter a number."}),
    (Group("and", [Group("or", [])]), {"0-0-group": "Add a condition to this group or remove it."}),
    (Group("xor", []), {"0-group": "Choose AND or OR."}),
])
def test_check_tree_names_the_offending_input(tree, errors):
    assert check_tree(tree, catalogue=BUILT_IN) == errors


@pytest.mark.parametrize(("type_", "op", "raw", "expected"), [
    ("number", "gt", " 12 ", (12, None)),
    ("number", "gt", "1e3", (1000.0, None)),
    ("number", "gt", "nan", ("nan", "Enter a number.")),
    ("number", "gt", "inf", ("inf", "Enter a number.")),
    # What the API reads as a finite double the builder stores; beyond it is too large, not "not a number".
    ("number", "gt", "1e308", (1e308, None)),
    ("number", "gt", "-" + "9" * 308, (-int("9" * 308), None)),
    ("number", "gt", "1e999", ("1e999", TOO_LARGE)),
    ("number", "gt", "-1e999", ("-1e999", TOO_LARGE)),
    ("number", "gt", "1" + "0" * 400, ("1" + "0" * 400, TOO_LARGE)),
    ("number", "gt", "9" * 5000, ("9" * 5000, TOO_LARGE)),  # beyond what int() reads
    ("number", "in", "1, 2e999", ("1, 2e999", "“2e999” is too large: a rule holds numbers from -1.8e308 to 1.8e308.")),
    ("number", "in", "1, 1e-999", ([1, 0.0], None)),  # as JSON reads it: too small to tell from 0
    ("number", "in", "1, 2,", ([1, 2], None)),
    ("number", "in", "1, x", ("1, x", "Every item must be a number.")),
    ("text", "in", " , ", (",", "Enter at least one value, separated by commas.")),
    ("text", "eq", "a b", ("a b", None)),
    ("boolean", "is_true", "x", (None, None)),
])
def test_parse_value(type_, op, raw, expected):
    assert parse_value(type_, op, raw) == expected


_LARGEST = int(sys.float_info.max)


@pytest.mark.parametrize("literal", [
    "1e308", "1.7976931348623157e308", "1.8e308", "-1e999", "1e-999", "9" * 308, "9" * 309, str(_LARGEST),
    str(_LARGEST + 1), str(-_LARGEST - 1), "0.5", "12",
])
def test_the_builder_takes_a_number_exactly_when_the_api_does(literal):
    number, too_large = parse_number(literal)
    try:
        accepted = decode_json(literal)
    except InvalidJson:
        assert too_large and number is None
    else:
        assert not too_large and number == accepted and type(number) is type(accepted)


def test_edits_add_and_remove_nodes_on_a_copy():
    tree = Group("and", [c("device.id", "text", "exists")])

    added, focus = apply_edit(tree, "add-condition:0")
    grouped, group_focus = apply_edit(added, "add-group:0")
    nested, _ = apply_edit(grouped, "add-group:0-2")
    too_deep, _ = apply_edit(nested, "add-group:0-2-1")
    removed, _ = apply_edit(nested, "remove:0-1")

    assert tree.children == [c("device.id", "text", "exists")]
    assert focus == "0-1" and added.children[1] == Condition()
    assert group_focus == "0-2-0" and grouped.children[2] == Group("or", [Condition()])
    assert nested.children[2].children[1] == Group("and", [Condition()])
    assert too_deep == nested  # three levels is the limit
    assert len(removed.children) == 2 and isinstance(removed.children[1], Group)
    assert apply_edit(tree, "remove:0")[0] == tree
    assert apply_edit(tree, "remove:0-9")[0] == tree
    assert apply_edit(tree, "nonsense")[0] == tree


def test_describe_reads_like_a_sentence():
    tree = Group("and", [
        c("custom.amount", "number", "gt", 1000),
        Group("or", [c("user.isEnrolled", "boolean", "is_false"), c("ip.address", "ip", "in", ["1.2.3.4", "5.6.7.8"])]),
    ])

    assert describe(tree, catalogue=BUILT_IN) == ("custom.amount is greater than 1000 AND "
                                                  "(user is not enrolled OR IP address is one of “1.2.3.4”, “5.6.7.8”)")
    assert describe(Group(), catalogue=BUILT_IN) == "Always (no conditions)"
    assert describe_conditions({"if": [True, True, False]}, catalogue=BUILT_IN) == "Advanced condition (JsonLogic)"


def _said(condition: Condition, catalogue: TenantCatalogue = BUILT_IN) -> str:
    return describe(Group("and", [condition]), catalogue=catalogue)


@pytest.mark.parametrize(("condition", "sentence"), [
    # User
    (c("user.email", "text", "eq", "ann@example.com"), "user email equals “ann@example.com”"),
    (c("user.isEnrolled", "boolean", "is_true"), "user is enrolled"),
    (c("user.hasPreviouslyVerified", "boolean", "is_false"), "user has not verified before"),
    (c("user.enrolledVerificationMethods", "list", "contains", "PASSKEY"), "user's enrolled methods include “PASSKEY”"),
    (c("user.enrolledVerificationMethods", "list", "not_exists"), "user's enrolled methods do not exist"),
    (c("user.accountAgeDays", "number", "lt", 7), "account age is less than 7 days"),
    (c("user.accountAgeDays", "number", "eq", 1), "account age equals 1 day"),
    (c("user.lastVerifiedMinutesAgo", "number", "gte", 10),
     "time since the user last verified is greater than or equal to 10 minutes"),
    # Device
    (c("device.isNew", "boolean", "is_true"), "device is new"),
    (c("device.isNew", "boolean", "is_false"), "device is not new"),
    (c("device.isBot", "boolean", "is_true"), "device is a bot"),
    (c("device.isNew", "boolean", "exists"), "it is known whether device is new"),
    (c("device.id", "text", "not_exists"), "device ID does not exist"),
    (c("device.lastSeenDaysAgo", "number", "gt", 30), "time since the device was last seen is greater than 30 days"),
    (c("device.os", "text", "in", ["iOS", "Android"]), "operating system is one of “iOS”, “Android”"),
    # IP
    (c("ip.isUnrecognized", "boolean", "is_false"), "IP is recognized"),
    (c("ip.impossibleTravel", "boolean", "is_true"), "travel is impossible"),
    (c("ip.atypicalTravel", "boolean", "is_true"), "IP country is atypical"),
    (c("ip.countryCode", "text", "not_in", ["NZ", "AU"]), "IP country is not one of “NZ”, “AU”"),
    (c("ip.cidrLists", "list", "contains", "tor"), "IP's network lists include “tor”"),
    (c("ip.travelSpeedKmh", "number", "gt", 900), "travel speed is greater than 900 km/h"),
    (c("ip.address", "ip", "in_list", "blocked"), "IP address is in custom list “blocked”"),
    # Velocity
    (c("velocity.user.actionCount.10m", "number", "gt", 5),
     "action count for this user in the last 10 minutes is greater than 5"),
    (c("velocity.ip.distinctUsers.1h", "number", "gte", 20),
     "distinct user count for this IP address in the last hour is greater than or equal to 20"),
    (c("velocity.device.actionCodeCount.7d", "number", "lte", 3),
     "count of this action for this device in the last 7 days is less than or equal to 3"),
    # Custom data, untyped: named by its path
    (c("custom.vip", "boolean", "is_true"), "custom.vip is true"),
    (c("custom.level", "number", "in", [1, 2.5]), "custom.level is one of 1, 2.5"),
    (c("custom.note", "text", "contains", "gift"), "custom.note contains “gift”"),
])
def test_each_field_family_reads_naturally(condition, sentence):
    assert _said(condition) == sentence


def test_a_tenants_data_points_read_by_their_path():
    tenant = TenantCatalogue(fields=(CatalogueField("custom.tags", "multiselect", "custom.tags", "Order tags"),
                                     CatalogueField("custom.trusted", "boolean", "custom.trusted", "Trusted")))

    assert _said(c("custom.tags", "multiselect", "contains_any", ["gift", "crypto"]), tenant) == \
        "custom.tags contains any of “gift”, “crypto”"
    assert _said(c("custom.trusted", "boolean", "is_false"), tenant) == "custom.trusted is false"


def test_no_built_in_field_reads_as_a_label_compared_to_true_or_false():
    # Every built-in yes / no field says what true and false mean, so no sentence reads "… is new is true".
    for entry in CATALOGUE:
        if entry.type == "boolean":
            assert entry.when_true and entry.when_false, entry.path
            sentences = {_said(c(entry.path, "boolean", op)) for op in ("is_true", "is_false")}
            assert len(sentences) == 2 and not any(s.endswith((" is true", " is false")) for s in sentences)
