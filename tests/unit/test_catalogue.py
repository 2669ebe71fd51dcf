"""The field catalogue the condition builder offers matches what rules can actually read."""

from __future__ import annotations

from app.domain.catalogue import (
    CATALOGUE,
    FIELD_TYPES,
    OPERATORS,
    OPERATORS_BY_TYPE,
    TenantCatalogue,
    is_custom,
    operators_for,
)
from app.domain.context import RequestFacts, UserFacts, build_context
from app.domain.rules import compile_conditions

BUILT_IN = TenantCatalogue()  # a tenant with no data points of its own: the built-in fields only


def _lookup(context: dict, path: str):
    node = context
    for part in path.split("."):
        assert isinstance(node, dict) and part in node, f"{path} is not in the rule context"
        node = node[part]
    return node


def test_every_catalogue_path_exists_in_the_rule_context():
    context = build_context(UserFacts(user_id="u1"), RequestFacts(action_code="signIn"))

    for entry in CATALOGUE:
        _lookup(context, entry.path)


def test_catalogue_entries_are_typed_labelled_and_described():
    paths = [entry.path for entry in CATALOGUE]

    assert len(paths) == len(set(paths))
    for entry in CATALOGUE:
        assert entry.type in FIELD_TYPES and entry.label and entry.description


def test_the_required_fields_are_offered():
    expected = {"user.id", "user.email", "user.phoneNumber", "user.username", "user.isEnrolled",
                "user.enrolledVerificationMethods", "ip.address", "device.id", "userAgent", "action.code"}

    assert expected <= {entry.path for entry in CATALOGUE}
    assert BUILT_IN.find_field("user.isEnrolled").type == "boolean"
    assert BUILT_IN.find_field("user.enrolledVerificationMethods").type == "list"


def test_every_type_has_operators_and_every_operator_belongs_to_a_type():
    assert set(OPERATORS_BY_TYPE) == set(FIELD_TYPES)
    used = {op for ops in OPERATORS_BY_TYPE.values() for op in ops}
    assert used == set(OPERATORS)
    assert [op.key for op in operators_for("boolean")] == ["is_true", "is_false", "exists", "not_exists"]
    assert len(operators_for(None)) == len(OPERATORS)


def test_number_comparisons_only_for_numbers():
    for field_type, ops in OPERATORS_BY_TYPE.items():
        assert ("gt" in ops) == (field_type == "number")


def test_custom_field_names():
    assert is_custom("custom.amount") and is_custom("custom.risk_score-2")
    assert not is_custom("custom.") and not is_custom("custom.a.b") and not is_custom("amount")
    assert not is_custom("custom." + "x" * 101)


def test_catalogue_paths_compile_as_rule_variables():
    for entry in CATALOGUE:
        assert entry.path in compile_conditions({"missing": [entry.path]}).fields
