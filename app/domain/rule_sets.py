"""An action's rule set as a document: what a published version stores, what a draft is, and how
the two differ.

A document is plain JSON (camelCase, the CLI's rule format): the action's policy and every rule in
priority order, inactive ones too, so a version can be restored exactly. :func:`compile_rule_set`
turns one into the :class:`~app.domain.track_decision.RuleSetVersion` that decides tracks;
:func:`diff_rule_sets` says, per rule, what a draft changes against the live version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.decision import Outcome, RuleInput, UnenrolledPolicy, VerificationMethod
from app.domain.errors import InvalidRequest
from app.domain.rules import CompiledConditions
from app.domain.track_decision import RuleSetVersion

Document = Mapping[str, Any]
# What of an action a version holds besides its rules (its name and review deadline stay live).
POLICY_FIELDS = ("defaultOutcome", "verificationMethods", "defaultVerificationMethod", "unenrolledPolicy")
# What of a rule can change; its id names it across versions, its priority is its place.
RULE_FIELDS = ("name", "description", "isActive", "outcome", "verificationMethods", "defaultVerificationMethod",
               "conditions")
POSITION = "position"


def document_digest(document: Document) -> str:
    """A short fingerprint of a document: a publish form carries the draft's, so a draft that changed
    after the admin read its diff is not published unseen."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def compile_rule_set(document: Document, *, version_id: str | None, number: int | None,
                     compile_conditions: Callable[[str, Any], CompiledConditions]) -> RuleSetVersion:
    """The decision input of a document: its policy and its active rules, compiled, in priority order."""
    rules = tuple(
        RuleInput(
            rule_id=rule["ruleId"],
            name=rule["name"],
            priority=rule["priority"],
            outcome=Outcome(rule["outcome"]),
            conditions=compile_conditions(rule["ruleId"], rule["conditions"]),
            verification_methods=(tuple(VerificationMethod(m) for m in rule["verificationMethods"])
                                  if rule.get("verificationMethods") else None),
            default_verification_method=_method(rule.get("defaultVerificationMethod")),
        )
        for rule in sorted(document["rules"], key=lambda rule: rule["priority"])
        if rule["isActive"]
    )
    return RuleSetVersion(
        default_outcome=Outcome(document["defaultOutcome"]),
        verification_methods=tuple(document["verificationMethods"]),
        default_verification_method=_method(document.get("defaultVerificationMethod")),
        unenrolled_policy=UnenrolledPolicy(document["unenrolledPolicy"]),
        rules=rules,
        version_id=version_id,
        number=number,
    )


def _method(value: str | None) -> VerificationMethod | None:
    return VerificationMethod(value) if value else None


@dataclass(frozen=True)
class PolicyChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class RuleChange:
    """One rule's change: ``added`` and ``removed`` carry the one side there is; ``changed`` names the
    fields that differ (``position``: its place among the rules both sides have)."""

    kind: str  # added | removed | changed
    rule_id: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    fields: tuple[str, ...] = ()
    positions: tuple[int, int] | None = None  # 1-based place in the live and the draft order

    @property
    def name(self) -> str:
        return (self.after or self.before or {}).get("name", self.rule_id)


@dataclass(frozen=True)
class RuleSetDiff:
    policy: tuple[PolicyChange, ...]
    rules: tuple[RuleChange, ...]

    @property
    def count(self) -> int:
        return len(self.policy) + len(self.rules)

    def __bool__(self) -> bool:
        return self.count > 0


def diff_rule_sets(live: Document, draft: Document) -> RuleSetDiff:
    policy = tuple(PolicyChange(name, live.get(name), draft.get(name))
                   for name in POLICY_FIELDS if live.get(name) != draft.get(name))
    live_rules, draft_rules = _ordered(live["rules"]), _ordered(draft["rules"])
    live_by_id = {rule["ruleId"]: rule for rule in live_rules}
    draft_by_id = {rule["ruleId"]: rule for rule in draft_rules}
    kept = [rule["ruleId"] for rule in draft_rules if rule["ruleId"] in live_by_id]
    # Places among the rules both sides have: a rule added above another does not move it.
    live_place = {rule_id: n for n, rule_id in enumerate((r["ruleId"] for r in live_rules if r["ruleId"] in draft_by_id), 1)}
    draft_place = {rule_id: n for n, rule_id in enumerate(kept, 1)}
    changes: list[RuleChange] = []
    for rule in draft_rules:
        rule_id = rule["ruleId"]
        before = live_by_id.get(rule_id)
        if before is None:
            changes.append(RuleChange("added", rule_id, None, rule))
            continue
        fields = [name for name in RULE_FIELDS if before.get(name) != rule.get(name)]
        moved = live_place[rule_id] != draft_place[rule_id]
        if moved:
            fields.append(POSITION)
        if fields:
            changes.append(RuleChange("changed", rule_id, before, rule, tuple(fields),
                                      (live_place[rule_id], draft_place[rule_id]) if moved else None))
    changes.extend(RuleChange("removed", rule["ruleId"], rule, None)
                   for rule in live_rules if rule["ruleId"] not in draft_by_id)
    return RuleSetDiff(policy, tuple(changes))


def _ordered(rules: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(rules, key=lambda rule: rule["priority"])


def with_rule(live: Document, rule: Mapping[str, Any]) -> Document:
    """``live`` with ``rule`` added, or in place of the rule with its id: what one draft rule
    changes on its own (a shadow of a single rule). Its priority must be its own among the others."""
    others = [kept for kept in live["rules"] if kept["ruleId"] != rule["ruleId"]]
    taken = next((kept for kept in others if kept["priority"] == rule["priority"]), None)
    if taken is not None:
        raise InvalidRequest(f"Rule “{rule['name']}” has priority {rule['priority']}, which the live rule "
                             f"“{taken['name']}” holds: shadow the whole draft instead.", code="priority_taken")
    return {**live, "rules": sorted([*others, dict(rule)], key=lambda kept: kept["priority"])}
