"""The builder with a tenant's data points and lists: typed fields, list operators, round trips."""

from __future__ import annotations

import pytest

from app.domain.builder import (
    Condition,
    Group,
    check_tree,
    custom_name,
    describe,
    describe_conditions,
    from_jsonlogic,
    to_jsonlogic,
    tree_from_form,
)
from app.domain.catalogue import CatalogueField, ListRef, TenantCatalogue, operators_for
from app.domain.rules import compile_conditions, evaluate, validate_conditions

TENANT = TenantCatalogue(
    fields=(
        CatalogueField("custom.country", "text", "custom.country", "Country of the payee."),
        CatalogueField("custom.amount", "number", "custom.amount", "Amount in cents."),
        CatalogueField("custom.tags", "multiselect", "custom.tags", "Order tags."),
        CatalogueField("user.custom.vip", "boolean", "user.custom.vip", "A VIP customer."),
    ),
    lists=(ListRef("high-risk", "strings", 2), ListRef("amounts", "numbers", 3), ListRef("tor", "cidrs", 9)),
)


def c(field, type_, op, value=None):
    return Condition(field, type_, op, value)


ROUND_TRIPS = [
    pytest.param(Group("and", [c("custom.country", "text", "in_list", "high-risk")]),
                 {"and": [{"in": [{"var": "custom.country"}, {"var": "lists.high-risk"}]}]}, id="in list"),
    pytest.param(Group("and", [c("custom.country", "text", "not_in_list", "high-risk")]),
                 {"and": [{"!": {"in": [{"var": "custom.country"}, {"var": "lists.high-risk"}]}}]}, id="not in list"),
    pytest.param(Group("and", [c("custom.amount", "number", "in_list", "amounts")]),
                 {"and": [{"in": [{"var": "custom.amount"}, {"var": "lists.amounts"}]}]}, id="number in list"),
    pytest.param(Group("and", [c("user.email", "text", "in_list", "high-risk")]),
                 {"and": [{"in": [{"var": "user.email"}, {"var": "lists.high-risk"}]}]}, id="catalogue field in list"),
    pytest.param(Group("and", [c("custom.tags", "multiselect", "contains_any", ["gift", "crypto"])]),
                 {"and": [{"or": [{"in": ["gift", {"var": "custom.tags"}]}, {"in": ["crypto", {"var": "custom.tags"}]}]}]},
                 id="multiselect contains any"),
    pytest.param(Group("and", [c("custom.tags", "multiselect", "contains", "gift")]),
                 {"and": [{"in": ["gift", {"var": "custom.tags"}]}]}, id="multiselect contains"),
    pytest.param(Group("and", [c("user.custom.vip", "boolean", "is_true")]),
                 {"and": [{"==": [{"var": "user.custom.vip"}, True]}]}, id="user data point"),
    pytest.param(Group("or", [c("custom.amount", "number", "gt", 1000), c("custom.country", "text", "eq", "NZ")]),
                 {"or": [{">": [{"var": "custom.amount"}, 1000]}, {"==": [{"var": "custom.country"}, "NZ"]}]},
                 id="typed comparisons"),
]


@pytest.mark.parametrize(("tree", "expected"), ROUND_TRIPS)
def test_tree_to_jsonlogic_and_back(tree, expected):
    assert check_tree(tree, catalogue=TENANT) == {}
    expr = to_jsonlogic(tree)

    assert expr == expected
    validate_conditions(expr)
    assert from_jsonlogic(expr, catalogue=TENANT) == tree


def test_data_points_are_typed_fields_with_fitting_operators():
    assert TENANT.find_field("custom.amount").type == "number"
    assert TENANT.find_field("user.custom.vip").description == "A VIP customer."
    assert custom_name("custom.amount", catalogue=TENANT) == ""  # a defined field, not a free-typed custom one
    keys = {t: [op.key for op in operators_for(t)] for t in ("number", "boolean", "text", "multiselect")}
    assert "gt" in keys["number"] and "in_list" in keys["number"]
    assert keys["boolean"] == ["is_true", "is_false", "exists", "not_exists"]
    assert {"eq", "contains", "in_list", "not_in_list"} <= set(keys["text"])
    assert "contains_any" in keys["multiselect"] and "gt" not in keys["multiselect"]


def test_without_the_tenant_the_data_points_are_unknown():
    assert TenantCatalogue().find_field("custom.amount") is None
    assert from_jsonlogic({"==": [{"var": "user.custom.vip"}, True]}, catalogue=TenantCatalogue()) is None


@pytest.mark.parametrize(("condition", "message"), [
    (c("custom.country", "text", "in_list", "nope"), "There is no list named “nope”."),
    (c("custom.country", "text", "in_list", "amounts"), "“amounts” is a list of numbers; choose a list that fits a text field."),
    (c("ip.address", "ip", "in_list", "tor"), "“tor” is a list of cidrs; choose a list that fits a ip field."),
    (c("custom.country", "text", "in_list", ""), "Choose a list."),
    (c("custom.amount", "text", "gt", 3), "custom.amount is a number field."),
    (c("custom.vip", "boolean", "contains_any", ["x"]), "Choose an operator that fits a boolean field."),
])
def test_list_and_type_mistakes_are_named(condition, message):
    assert list(check_tree(Group("and", [condition]), catalogue=TENANT).values()) == [message]


def test_a_rule_on_a_deleted_list_cannot_open_in_the_builder():
    assert from_jsonlogic({"in": [{"var": "custom.country"}, {"var": "lists.gone"}]}, catalogue=TENANT) is None


def test_without_the_lists_loaded_a_list_name_is_taken_on_trust():
    unloaded = TenantCatalogue(lists=None)
    expr = {"in": [{"var": "custom.country"}, {"var": "lists.gone"}]}

    assert from_jsonlogic(expr, catalogue=unloaded) == Group("and", [c("custom.country", "text", "in_list", "gone")])
    assert describe_conditions(expr, catalogue=unloaded) == "custom.country is in custom list “gone”"
    assert unloaded.lists_for("text") == () and unloaded.cidr_list_names() == ()


def test_form_fields_choose_a_data_point_and_a_list():
    tree, errors = tree_from_form({
        "g-0-join": "and",
        "c-0-0-field": "custom.country", "c-0-0-op": "not_in_list", "c-0-0-value": "high-risk",
        "c-0-1-field": "custom.amount", "c-0-1-op": "gte", "c-0-1-value": "10",
        "c-0-2-field": "custom.tags", "c-0-2-op": "contains_any", "c-0-2-value": "gift, crypto",
    }, catalogue=TENANT)

    assert errors == {} and check_tree(tree, catalogue=TENANT) == {}
    assert tree == Group("and", [c("custom.country", "text", "not_in_list", "high-risk"),
                                 c("custom.amount", "number", "gte", 10),
                                 c("custom.tags", "multiselect", "contains_any", ["gift", "crypto"])])


def test_a_list_operator_without_a_list_is_an_error_on_the_value():
    _, errors = tree_from_form({"g-0-join": "and", "c-0-0-field": "custom.country", "c-0-0-op": "in_list"},
                               catalogue=TENANT)

    assert errors == {"0-0-value": "Choose a list."}


def test_describe_names_the_list():
    tree = Group("and", [c("custom.country", "text", "in_list", "high-risk"),
                         c("custom.amount", "number", "not_in_list", "amounts")])

    assert describe(tree, catalogue=TENANT) == ("custom.country is in custom list “high-risk” AND "
                                                "custom.amount is not in custom list “amounts”")


def test_the_compiled_list_rule_reads_the_list_from_the_context():
    expr = to_jsonlogic(Group("and", [c("custom.country", "text", "in_list", "high-risk")]))
    negated = to_jsonlogic(Group("and", [c("custom.country", "text", "not_in_list", "high-risk")]))
    any_of = to_jsonlogic(Group("and", [c("custom.tags", "multiselect", "contains_any", ["gift", "crypto"])]))

    assert evaluate(expr, {"custom": {"country": "KP"}, "lists": {"high-risk": ["KP", "IR"]}}).matched
    assert not evaluate(expr, {"custom": {"country": "NZ"}, "lists": {"high-risk": ["KP", "IR"]}}).matched
    assert not evaluate(expr, {"custom": {"country": "KP"}}).matched  # no such list: nothing is in it
    assert evaluate(negated, {"custom": {"country": "NZ"}, "lists": {"high-risk": ["KP"]}}).matched
    assert evaluate(any_of, {"custom": {"tags": ["crypto"]}}).matched
    assert not evaluate(any_of, {"custom": {"tags": ["books"]}}).matched
    assert "lists.high-risk" in compile_conditions(expr).fields
