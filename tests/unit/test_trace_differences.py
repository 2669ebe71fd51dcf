"""What a replay highlights: where one trace differs from the stored one, rule by rule (by id, so a
renamed rule is the same rule) and condition by condition (by its place in the rule)."""

from __future__ import annotations

from app.services.decisions.trace_view import read_trace, trace_differences


def output(*rules: dict, outcome: str = "ALLOW", deciding: str | None = None) -> dict:
    return {"outcome": outcome, "defaultOutcome": "ALLOW", "decidingRuleId": deciding, "rules": list(rules)}


def traced(rule_id: str, *, matched: bool, observed=5000, name: str | None = None, outcome: str = "BLOCK") -> dict:
    return {"ruleId": rule_id, "name": name or rule_id, "priority": 0, "outcome": outcome, "matched": matched,
            "conditions": [{"path": "and[0]", "field": "custom.amount", "operator": ">", "observed": observed,
                            "expected": 1000, "result": matched}]}


def test_the_same_trace_differs_nowhere():
    stored = read_trace(output(traced("r1", matched=True), deciding="r1", outcome="BLOCK"))

    assert not trace_differences(stored, stored)


def test_another_verdict_marks_the_rule_its_condition_the_outcome_and_the_deciding_rule():
    stored = read_trace(output(traced("r1", matched=True), deciding="r1", outcome="BLOCK"))
    replayed = read_trace(output(traced("r1", matched=False, observed=10)))

    differences = trace_differences(stored, replayed)

    assert differences.outcome and differences.deciding_rule
    [rule] = replayed.rules
    assert differences.rule(rule) and differences.condition(rule, rule.conditions[0])


def test_a_renamed_rule_with_the_same_verdict_is_the_same_rule():
    stored = read_trace(output(traced("r1", matched=False, name="Big")))
    replayed = read_trace(output(traced("r1", matched=False, name="Large")))

    assert not trace_differences(stored, replayed)


def test_added_and_removed_rules():
    stored = read_trace(output(traced("r1", matched=False, name="Old")))
    replayed = read_trace(output(traced("r2", matched=False, name="New")))

    differences = trace_differences(stored, replayed)

    assert differences.rule(replayed.rules[0]) and differences.absent_rules == ("Old",)
    assert not differences.outcome and not differences.deciding_rule
