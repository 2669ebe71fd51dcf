"""A decision trace as a person reads it: console/_decision_trace.html shows it on an action's page,
a review case and the Test action panel alike."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def as_json_text(value: Any) -> str:
    """Compact JSON for display; the template escapes it like any other text."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


# JsonLogic operators as an admin reads them in a trace.
OPERATOR_LABELS = {
    "==": "equals", "===": "equals", "!=": "not equals", "!==": "not equals",
    ">": "greater than", ">=": "at least", "<": "less than", "<=": "at most",
    "in": "in", "!": "is false", "!!": "is true", "var": "is true", "missing": "is missing",
    "missing_some": "is missing",
}


@dataclass(frozen=True)
class ConditionLine:
    path: str  # where the condition sits in the rule's JsonLogic, as rule validation errors name it
    field: str | None  # the variable read, when one operand is a plain var
    operator: str
    operator_label: str
    observed: str  # JSON text, for display
    expected: str
    result: bool


@dataclass(frozen=True)
class RuleLine:
    position: int  # 1-based, in the order the rules were evaluated (priority, then id)
    rule_id: str | None
    name: str
    priority: int | None
    outcome: str | None
    matched: bool
    deciding: bool
    conditions: list[ConditionLine]


@dataclass(frozen=True)
class DecisionTrace:
    outcome: str | None
    default_outcome: str | None
    rules: list[RuleLine]
    deciding_rule: RuleLine | None  # None: no rule matched, the default outcome applied
    data_point_errors: list[dict[str, Any]]  # custom values of the wrong type, treated as not sent
    missing_lists: list[str]  # lists the rules read that did not exist


def read_trace(output: Mapping[str, Any] | None) -> DecisionTrace:
    """A decision's output (stored on an action, or simulated) as display lines.

    Stored outputs are whatever tracking wrote at the time, so every key is optional and malformed
    entries are skipped rather than failing the page."""
    output = output or {}
    deciding_id = output.get("decidingRuleId")
    entries = [rule for rule in output.get("rules") or () if isinstance(rule, dict)]
    rules = [
        RuleLine(
            position=position,
            rule_id=rule.get("ruleId"),
            name=str(rule.get("name") or rule.get("ruleId") or "(unnamed rule)"),
            priority=rule.get("priority"),
            outcome=rule.get("outcome"),
            matched=bool(rule.get("matched")),
            deciding=deciding_id is not None and rule.get("ruleId") == deciding_id,
            conditions=[_condition_line(entry) for entry in rule.get("conditions") or () if isinstance(entry, dict)],
        )
        for position, rule in enumerate(entries, start=1)
    ]
    return DecisionTrace(
        outcome=output.get("outcome"),
        default_outcome=output.get("defaultOutcome"),
        rules=rules,
        deciding_rule=next((rule for rule in rules if rule.deciding), None),
        data_point_errors=[error for error in output.get("dataPointErrors") or () if isinstance(error, dict)],
        missing_lists=[str(name) for name in output.get("missingLists") or ()],
    )


def _condition_line(entry: dict[str, Any]) -> ConditionLine:
    operator = str(entry.get("operator") or "")
    return ConditionLine(
        path=str(entry.get("path") or ""),
        field=str(entry["field"]) if entry.get("field") else None,
        operator=operator,
        operator_label=OPERATOR_LABELS.get(operator, operator),
        observed=as_json_text(entry.get("observed")),
        expected=as_json_text(entry.get("expected")),
        result=bool(entry.get("result")),
    )


@dataclass(frozen=True)
class TraceDifferences:
    """Where one trace differs from another it is compared with (a replay beside the stored one).

    Rules are matched by id across versions (a renamed rule is the same rule), conditions by their
    rule and their place in its JsonLogic."""

    outcome: bool
    deciding_rule: bool
    rule_keys: frozenset[str]  # rules of this trace that differ: added, or another verdict or outcome
    condition_keys: frozenset[tuple[str, str]]  # (rule key, path): another result, observed or expected value
    absent_rules: tuple[str, ...]  # names of the other trace's rules this one no longer has

    def __bool__(self) -> bool:
        return self.outcome or self.deciding_rule or bool(self.rule_keys or self.absent_rules)

    def rule(self, line: RuleLine) -> bool:
        return _rule_key(line) in self.rule_keys

    def condition(self, rule: RuleLine, line: ConditionLine) -> bool:
        return (_rule_key(rule), line.path) in self.condition_keys


NO_DIFFERENCES = TraceDifferences(False, False, frozenset(), frozenset(), ())


def trace_differences(baseline: DecisionTrace, other: DecisionTrace) -> TraceDifferences:
    """What of ``other`` differs from ``baseline``, for highlighting on ``other``'s side."""
    before = {_rule_key(rule): rule for rule in baseline.rules}
    rule_keys, condition_keys = set(), set()
    for rule in other.rules:
        key = _rule_key(rule)
        was = before.get(key)
        conditions = {line.path: line for line in was.conditions} if was else {}
        changed = {(key, line.path) for line in rule.conditions if _condition_changed(conditions.get(line.path), line)}
        condition_keys |= changed
        if was is None or changed or (was.matched, was.outcome) != (rule.matched, rule.outcome) \
                or len(was.conditions) != len(rule.conditions):
            rule_keys.add(key)
    kept = {_rule_key(rule) for rule in other.rules}
    return TraceDifferences(
        outcome=baseline.outcome != other.outcome,
        deciding_rule=_rule_key_or_none(baseline.deciding_rule) != _rule_key_or_none(other.deciding_rule),
        rule_keys=frozenset(rule_keys),
        condition_keys=frozenset(condition_keys),
        absent_rules=tuple(rule.name for key, rule in before.items() if key not in kept),
    )


def _rule_key(rule: RuleLine) -> str:
    return rule.rule_id or f"name:{rule.name}"


def _rule_key_or_none(rule: RuleLine | None) -> str | None:
    return _rule_key(rule) if rule else None


def _condition_changed(was: ConditionLine | None, now: ConditionLine) -> bool:
    return was is None or (was.result, was.observed, was.expected, was.operator) != (
        now.result, now.observed, now.expected, now.operator)
