"""Deciding an action: the lowest-priority matching rule wins, otherwise the default outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.domain.decision import Decision, Outcome, RuleInput, VerificationMethod, decide, without_observations
from app.domain.rules import compile_conditions

CONTEXT = {
    "user": {"id": "u1", "email": "ann@example.com"},
    "custom": {"amount": 1500},
    "ip": {"countryCode": "NZ"},
}

BIG_AMOUNT = {">": [{"var": "custom.amount"}, 1000]}
HUGE_AMOUNT = {">": [{"var": "custom.amount"}, 10000]}
FROM_NZ = {"==": [{"var": "ip.countryCode"}, "NZ"]}
FROM_AU = {"==": [{"var": "ip.countryCode"}, "AU"]}


def rule(rule_id: str, priority: int, outcome: Outcome, conditions, **extra) -> RuleInput:
    return RuleInput(rule_id=rule_id, name=f"Rule {rule_id}", priority=priority, outcome=outcome,
                     conditions=compile_conditions(conditions), **extra)


@pytest.mark.parametrize("rules, default, outcome, deciding, matched", [
    # no rules, or none matching: the action's default outcome
    ([], Outcome.ALLOW, Outcome.ALLOW, None, ()),
    ([rule("a", 1, Outcome.BLOCK, FROM_AU)], Outcome.CHALLENGE, Outcome.CHALLENGE, None, ()),
    # one matching rule decides
    ([rule("a", 1, Outcome.CHALLENGE, BIG_AMOUNT)], Outcome.ALLOW, Outcome.CHALLENGE, "a", ("a",)),
    # the lowest priority number wins, whatever order the rules come in
    ([rule("a", 50, Outcome.CHALLENGE, BIG_AMOUNT), rule("b", 10, Outcome.REVIEW, FROM_NZ)],
     Outcome.ALLOW, Outcome.REVIEW, "b", ("b", "a")),
    ([rule("b", 10, Outcome.REVIEW, FROM_NZ), rule("a", 50, Outcome.CHALLENGE, BIG_AMOUNT)],
     Outcome.ALLOW, Outcome.REVIEW, "b", ("b", "a")),
    # a higher-priority rule that does not match does not decide
    ([rule("a", 0, Outcome.BLOCK, HUGE_AMOUNT), rule("b", 99, Outcome.ALLOW, BIG_AMOUNT)],
     Outcome.CHALLENGE, Outcome.ALLOW, "b", ("b",)),
    # a rule without conditions always matches
    ([rule("a", 5, Outcome.BLOCK, None), rule("b", 1, Outcome.ALLOW, FROM_AU)],
     Outcome.ALLOW, Outcome.BLOCK, "a", ("a",)),
    # equal priorities break on rule id, so the database's row order never matters
    ([rule("z", 1, Outcome.BLOCK, True), rule("m", 1, Outcome.REVIEW, True)],
     Outcome.ALLOW, Outcome.REVIEW, "m", ("m", "z")),
])
def test_lowest_priority_matching_rule_decides(rules, default, outcome, deciding, matched):
    decision = decide(rules, CONTEXT, default_outcome=default)
    assert decision.outcome is outcome
    assert (decision.deciding_rule.rule_id if decision.deciding_rule else None) == deciding
    assert decision.matched_rule_ids == matched
    assert decision.output["outcome"] == outcome.value
    assert decision.output["decidingRuleId"] == deciding


def test_deciding_rule_carries_its_verification_settings():
    passkey_only = rule("a", 1, Outcome.CHALLENGE, BIG_AMOUNT,
                        verification_methods=(VerificationMethod.PASSKEY,),
                        default_verification_method=VerificationMethod.PASSKEY)
    decision = decide([passkey_only], CONTEXT, default_outcome=Outcome.ALLOW)
    assert decision.deciding_rule is passkey_only
    assert decision.deciding_rule.verification_methods == (VerificationMethod.PASSKEY,)


def test_output_explains_every_rule_in_priority_order():
    rules = [
        rule("late", 20, Outcome.CHALLENGE, {"and": [BIG_AMOUNT, FROM_NZ]}),
        rule("early", 10, Outcome.BLOCK, {"and": [FROM_AU, BIG_AMOUNT]}),
    ]
    decision = decide(rules, CONTEXT, default_outcome=Outcome.ALLOW)
    assert decision.output == {
        "defaultOutcome": "ALLOW",
        "outcome": "CHALLENGE",
        "decidingRuleId": "late",
        "rules": [
            {"ruleId": "early", "name": "Rule early", "priority": 10, "outcome": "BLOCK",
             "matched": False, "conditions": [
                 {"path": "and[0]", "operator": "==", "field": "ip.countryCode", "observed": "NZ",
                  "expected": "AU", "result": False},
             ]},
            {"ruleId": "late", "name": "Rule late", "priority": 20, "outcome": "CHALLENGE",
             "matched": True, "conditions": [
                 {"path": "and[0]", "operator": ">", "field": "custom.amount", "observed": 1500,
                  "expected": 1000, "result": True},
                 {"path": "and[1]", "operator": "==", "field": "ip.countryCode", "observed": "NZ",
                  "expected": "NZ", "result": True},
             ]},
        ],
    }


@pytest.mark.parametrize("odd_value", [
    datetime(2024, 1, 1, tzinfo=UTC),
    {1, 2},
    b"\x00bytes",
    float("nan"),
    float("-inf"),
    object(),
    {("tuple", "key"): [1.5, None]},
])
def test_output_is_json_whatever_the_context_holds(odd_value):
    rules = [rule("a", 1, Outcome.REVIEW, {"or": [{"==": [{"var": "custom.odd"}, "x"]},
                                                  {"!!": {"var": "custom.odd"}}]})]
    decision = decide(rules, {"custom": {"odd": odd_value}}, default_outcome=Outcome.ALLOW)
    json.dumps(decision.output, allow_nan=False)


def test_decision_is_immutable():
    decision = decide([], CONTEXT, default_outcome=Outcome.ALLOW)
    assert isinstance(decision, Decision)
    with pytest.raises(AttributeError):
        decision.outcome = Outcome.BLOCK  # type: ignore[misc]


def test_without_observations_keeps_which_rules_matched_and_decided_but_no_value_they_read():
    rules = [rule("a", 10, Outcome.REVIEW, FROM_NZ), rule("b", 20, Outcome.CHALLENGE, BIG_AMOUNT)]
    output = decide(rules, CONTEXT, default_outcome=Outcome.ALLOW).output
    output["dataPointErrors"] = [{"name": "amount", "value": "ann@example.com"}]

    kept = without_observations(output)

    assert kept == {
        "defaultOutcome": "ALLOW", "outcome": "REVIEW", "decidingRuleId": "a",
        "rules": [
            {"ruleId": "a", "name": "Rule a", "priority": 10, "outcome": "REVIEW", "matched": True},
            {"ruleId": "b", "name": "Rule b", "priority": 20, "outcome": "CHALLENGE", "matched": True},
        ],
    }
    assert without_observations({}) == {}
