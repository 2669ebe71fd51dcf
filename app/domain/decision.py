"""Outcomes an admin configures, states an action moves through, and how one becomes the other."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What a rule or an action's default says should happen."""

    ALLOW = "ALLOW"
    CHALLENGE = "CHALLENGE"
    REVIEW = "REVIEW"
    BLOCK = "BLOCK"


class ActionState(StrEnum):
    """The wire states of a tracked action (the SDKs' ``UserActionState``)."""

    ALLOW = "ALLOW"
    BLOCK = "BLOCK"
    CHALLENGE_REQUIRED = "CHALLENGE_REQUIRED"
    CHALLENGE_SUCCEEDED = "CHALLENGE_SUCCEEDED"
    CHALLENGE_FAILED = "CHALLENGE_FAILED"
    REVIEW_REQUIRED = "REVIEW_REQUIRED"
    REVIEW_SUCCEEDED = "REVIEW_SUCCEEDED"
    REVIEW_FAILED = "REVIEW_FAILED"


class VerificationMethod(StrEnum):
    PASSKEY = "PASSKEY"
    AUTHENTICATOR_APP = "AUTHENTICATOR_APP"
    EMAIL_OTP = "EMAIL_OTP"
    EMAIL_MAGIC_LINK = "EMAIL_MAGIC_LINK"
    SMS = "SMS"
    WHATSAPP = "WHATSAPP"
    SECURITY_KEY = "SECURITY_KEY"
    RECOVERY_CODE = "RECOVERY_CODE"


class UnenrolledPolicy(StrEnum):
    """What a CHALLENGE outcome does for a user with no usable authenticator."""

    ALLOW = "ALLOW"  # Authsignal's behaviour: ALLOW with isEnrolled false
    REQUIRE_ENROLLMENT = "REQUIRE_ENROLLMENT"  # CHALLENGE_REQUIRED; the hosted page enrols first
    BLOCK = "BLOCK"


OUTCOME_STATE = {
    Outcome.ALLOW: ActionState.ALLOW,
    Outcome.CHALLENGE: ActionState.CHALLENGE_REQUIRED,
    Outcome.REVIEW: ActionState.REVIEW_REQUIRED,
    Outcome.BLOCK: ActionState.BLOCK,
}

UNENROLLED_STATE = {
    UnenrolledPolicy.ALLOW: ActionState.ALLOW,
    UnenrolledPolicy.REQUIRE_ENROLLMENT: ActionState.CHALLENGE_REQUIRED,
    UnenrolledPolicy.BLOCK: ActionState.BLOCK,
}


def initial_state(outcome: Outcome, *, can_challenge: bool, unenrolled_policy: UnenrolledPolicy) -> ActionState:
    """The state a freshly tracked action starts in.

    A challenge needs something to challenge with: for a user with no usable authenticator the
    action's policy decides (Authsignal's default lets them through with ``isEnrolled: false``).
    REVIEW and BLOCK apply to everyone.
    """
    if outcome is Outcome.CHALLENGE and not can_challenge:
        return UNENROLLED_STATE[unenrolled_policy]
    return OUTCOME_STATE[outcome]


# ---------------------------------------------------------------------------------------------
# Deciding an action from its rules

from collections.abc import Mapping, Sequence  # noqa: E402  (appended section; see module top)
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

from app.domain.rules import CompiledConditions  # noqa: E402


@dataclass(frozen=True)
class RuleInput:
    """A rule as the engine needs it; services build it from the row and the compiled cache."""

    rule_id: str
    name: str
    priority: int  # 0-99, lower wins
    outcome: Outcome
    conditions: CompiledConditions
    verification_methods: tuple[VerificationMethod, ...] | None = None
    default_verification_method: VerificationMethod | None = None


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    deciding_rule: RuleInput | None  # None: no rule matched, the action's default applies
    matched_rule_ids: tuple[str, ...]  # every matching rule, in priority order
    output: dict[str, Any]  # JSON-safe explanation, stored on the action and shown by get-action


def decide(rules: Sequence[RuleInput], context: Mapping[str, Any], *,
           default_outcome: Outcome, explain: bool = True,
           evaluated: dict[str, Any] | None = None) -> Decision:
    """Evaluate every rule (not just up to the first match) so the stored output explains all of
    them; the matching rule with the lowest priority decides. Ties break on ``rule_id`` so the
    same rules always give the same decision whatever order the database returns them in.

    ``explain=False`` decides the same but leaves the output empty: a back-test replays a million
    actions and needs only their verdicts, and the trace is most of the cost. ``evaluated`` (one
    dict per context) keeps each condition's result by its key, for deciding several rule sets on
    one context: a rule the draft did not change is evaluated once, not once per version."""
    ordered = sorted(rules, key=lambda rule: (rule.priority, rule.rule_id))
    deciding: RuleInput | None = None
    matched_ids: list[str] = []
    explained: list[dict[str, Any]] = []
    for rule in ordered:
        conditions = rule.conditions
        result = evaluated.get(conditions.key) if evaluated is not None else None
        if result is None:
            result = conditions.evaluate(context, trace=True) if explain else conditions.matches(context)
            if evaluated is not None:
                evaluated[conditions.key] = result
        if (result.matched if explain else result):
            matched_ids.append(rule.rule_id)
            if deciding is None:
                deciding = rule
        if not explain:
            continue
        explained.append({
            "ruleId": rule.rule_id,
            "name": rule.name,
            "priority": rule.priority,
            "outcome": str(rule.outcome),
            "matched": result.matched,
            "conditions": [entry.as_dict() for entry in result.trace],
        })
    outcome = Outcome(deciding.outcome) if deciding is not None else Outcome(default_outcome)
    if not explain:
        return Decision(outcome, deciding, tuple(matched_ids), {})
    output = {
        "defaultOutcome": str(Outcome(default_outcome)),
        "outcome": str(outcome),
        "decidingRuleId": deciding.rule_id if deciding is not None else None,
        "rules": explained,
    }
    # Every value above is already JSON-safe (traces convert their own values), so no second pass.
    return Decision(outcome, deciding, tuple(matched_ids), output)


# What an output keeps once the person it was about is erased (services.operations.erasure).
_EXPLANATION_KEYS = ("defaultOutcome", "outcome", "decidingRuleId")
_RULE_KEYS = ("ruleId", "name", "priority", "outcome", "matched")


def without_observations(output: Mapping[str, Any]) -> dict[str, Any]:
    """A stored output without what its conditions observed (an IP, an email, custom data): which
    rules matched and which one decided stay, so what is counted per rule still counts the same.
    Only keys :func:`decide` writes are kept; anything added beside them may hold inputs too."""
    kept = {key: output[key] for key in _EXPLANATION_KEYS if key in output}
    rules = output.get("rules")
    if isinstance(rules, list):
        kept["rules"] = [{key: rule[key] for key in _RULE_KEYS if key in rule} for rule in rules if isinstance(rule, dict)]
    return kept
