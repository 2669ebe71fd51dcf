"""Rule-set documents: compiling one into what decides tracks, and what a draft changes per rule."""

from __future__ import annotations

from app.domain.decision import Outcome
from app.domain.rule_sets import compile_rule_set, diff_rule_sets, document_digest
from app.domain.rules import compile_conditions

BIG = {">": [{"var": "custom.amount"}, 1000]}


def rule(rule_id: str, priority: int, **changes) -> dict:
    return {"ruleId": rule_id, "name": f"Rule {rule_id}", "description": "", "isActive": True, "priority": priority,
            "outcome": "CHALLENGE", "verificationMethods": None, "defaultVerificationMethod": None,
            "conditions": BIG, **changes}


def rule_set(*rules: dict, **policy) -> dict:
    return {"defaultOutcome": "ALLOW", "verificationMethods": ["PASSKEY"], "defaultVerificationMethod": None,
            "unenrolledPolicy": "ALLOW", "rules": list(rules), **policy}


def test_a_document_compiles_to_its_active_rules_in_priority_order():
    document = rule_set(rule("b", 5), rule("a", 1), rule("off", 0, isActive=False), defaultOutcome="BLOCK")

    version = compile_rule_set(document, version_id="v1", number=3,
                               compile_conditions=lambda _id, expr: compile_conditions(expr))

    assert [r.rule_id for r in version.rules] == ["a", "b"]
    assert version.default_outcome is Outcome.BLOCK and (version.version_id, version.number) == ("v1", 3)


def test_the_same_rules_are_no_change():
    assert not diff_rule_sets(rule_set(rule("a", 0)), rule_set(rule("a", 0)))
    assert diff_rule_sets(rule_set(rule("a", 0)), rule_set(rule("a", 0))).count == 0


def test_added_removed_and_changed_rules_each_count_once():
    live = rule_set(rule("a", 0), rule("b", 1))
    draft = rule_set(rule("a", 0, outcome="BLOCK", name="Renamed"), rule("c", 2))

    diff = diff_rule_sets(live, draft)

    assert [(c.kind, c.rule_id) for c in diff.rules] == [("changed", "a"), ("added", "c"), ("removed", "b")]
    assert diff.rules[0].fields == ("name", "outcome") and diff.count == 3


def test_a_swap_moves_both_rules_but_a_rule_added_above_moves_none():
    live = rule_set(rule("a", 0), rule("b", 1))

    swapped = diff_rule_sets(live, rule_set(rule("a", 1), rule("b", 0)))
    added_above = diff_rule_sets(live, rule_set(rule("new", 0), rule("a", 1), rule("b", 2)))

    assert [(c.rule_id, c.fields, c.positions) for c in swapped.rules] == [
        ("b", ("position",), (2, 1)), ("a", ("position",), (1, 2))]
    assert [(c.kind, c.rule_id) for c in added_above.rules] == [("added", "new")]


def test_policy_changes_are_listed_field_by_field():
    diff = diff_rule_sets(rule_set(), rule_set(defaultOutcome="BLOCK", unenrolledPolicy="REQUIRE_ENROLLMENT"))

    assert [(c.field, c.before, c.after) for c in diff.policy] == [
        ("defaultOutcome", "ALLOW", "BLOCK"), ("unenrolledPolicy", "ALLOW", "REQUIRE_ENROLLMENT")]


def test_the_digest_follows_the_content_not_the_key_order():
    assert document_digest({"a": 1, "b": [1, 2]}) == document_digest({"b": [1, 2], "a": 1})
    assert document_digest({"a": 1}) != document_digest({"a": 2})
