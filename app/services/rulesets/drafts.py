"""An action's draft as a document, and who changed it: what the rule editors, publishing and
tracking's first version of a new action all read.

Below the editors (services.rulesets.rules) and the lifecycle (services.rulesets.versions), so
both use it without importing each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.domain.rule_sets import compile_rule_set
from app.domain.rules import compile_conditions
from app.domain.track_decision import RuleSetVersion
from app.models import ActionConfiguration, ActionVersion, ConsoleUser, Rule
from app.models.base import new_id
from app.services.tenancy.audit import Agent

Actor = ConsoleUser | Agent | str  # a console user, a management key, or what acted without one ("cli")


def actor_name(actor: Actor) -> str:
    """Who acted, as versions and back-tests record it: a console user's email, an agent's name, or "cli"."""
    if isinstance(actor, ConsoleUser):
        return actor.email
    return actor.name if isinstance(actor, Agent) else actor


def draft_document(config: ActionConfiguration) -> dict[str, Any]:
    """The draft as a rule-set document (app.domain.rule_sets): what publishing it would store."""
    return {
        "defaultOutcome": config.default_outcome.value,
        "verificationMethods": list(config.verification_methods),
        "defaultVerificationMethod": config.default_verification_method and config.default_verification_method.value,
        "unenrolledPolicy": config.unenrolled_policy.value,
        "rules": [rule_document(rule) for rule in config.rules],
    }


def draft_rule_set(document: dict[str, Any]) -> RuleSetVersion:
    """A draft document as the decision input (the Test action and Replay try it): compiled afresh,
    since a draft, unlike a version, can change under the same rule ids."""
    return compile_rule_set(document, version_id=None, number=None,
                            compile_conditions=lambda _rule_id, expr: compile_conditions(expr))


def first_version(config: ActionConfiguration, *, published_by: str, now: datetime) -> ActionVersion:
    """Version 1 of a new action (for the caller to add after the action): its draft as created,
    live at once, since nothing was decided by the action before. Both ids are set now, so a track
    can decide by the version before either row is written."""
    if config.id is None:
        config.id = new_id()
    return ActionVersion(id=new_id(), tenant_id=config.tenant_id, action_configuration_id=config.id,
                         action_code=config.code, number=1, document=draft_document(config), note="Created.",
                         published_by=published_by, published_at=now)


def note_draft_author(config: ActionConfiguration, actor: Actor | None) -> None:
    """Remember who changed the draft (four-eyes: they may not publish it)."""
    if isinstance(actor, ConsoleUser) and actor.id not in config.draft_authors:
        config.draft_authors = [*config.draft_authors, actor.id]


def rule_document(rule: Rule) -> dict:
    """The JSON form of a rule, as the CLI prints it and accepts it back."""
    return {
        "ruleId": rule.id,
        "name": rule.name,
        "description": rule.description,
        "isActive": rule.is_active,
        "priority": rule.priority,
        "outcome": rule.outcome.value,
        "verificationMethods": rule.verification_methods,
        "defaultVerificationMethod": rule.default_verification_method and rule.default_verification_method.value,
        "conditions": rule.conditions,
    }
