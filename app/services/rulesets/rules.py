"""Action configurations and their rules: what admins manage from the console and the CLI.

Every edit here changes the action's **draft**; tracks are decided by its live version until the
draft is published (services.rulesets.versions). Creating an action publishes its version 1.

Past our usual size because an action's configuration and its rules are one draft: every edit
here (settings, a rule added, moved, switched off) goes through the same load-check-write of that
draft, and the checks only make sense side by side.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from app.domain.actions import DEFAULT_VERIFICATION_METHODS, MAX_REVIEW_DEADLINE_MINUTES, is_action_code
from app.domain.decision import Outcome, UnenrolledPolicy, VerificationMethod
from app.domain.errors import Conflict, InvalidRequest, NotFound
from app.domain.rules import validate_conditions
from app.extensions import db
from app.models import ActionConfiguration, ConsoleUser, Rule
from app.models.base import utcnow
from app.models.review import OverduePolicy
from app.services.rulesets.drafts import actor_name, first_version, note_draft_author, rule_document
from app.services.tenancy.audit import Agent, record_change
from app.services.tenancy.records import flush_or_refuse


def validate_action_code(code: str) -> str:
    if not is_action_code(code):
        raise InvalidRequest(
            "The action code must be 1-64 letters, digits, '_' or '-'.", code="invalid_action_code"
        )
    return code


class _Document(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def _default_method_offered(document: Any) -> Any:
    """A document's default verification method must be one it offers (None offers every method)."""
    if document.default_verification_method and document.verification_methods is not None:
        if document.default_verification_method not in document.verification_methods:
            raise ValueError("defaultVerificationMethod must be one of verificationMethods")
    return document


class RuleDocument(_Document):
    """A rule as JSON (camelCase, like Authsignal's management API; ``type`` is also accepted)."""

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    is_active: bool = True
    priority: int = Field(ge=0, le=99)
    outcome: Outcome
    verification_methods: list[VerificationMethod] | None = None
    default_verification_method: VerificationMethod | None = None
    conditions: Any = None

    @model_validator(mode="before")
    @classmethod
    def _type_means_outcome(cls, data: Any) -> Any:
        if isinstance(data, dict) and "type" in data and "outcome" not in data:
            data = {**data, "outcome": data["type"]}
            del data["type"]
        return data

    _default_method_is_allowed = model_validator(mode="after")(_default_method_offered)


class ActionDocument(_Document):
    code: str
    name: str | None = Field(default=None, max_length=120)
    default_outcome: Outcome = Outcome.ALLOW
    verification_methods: list[VerificationMethod] = Field(
        default_factory=lambda: [VerificationMethod(m) for m in DEFAULT_VERIFICATION_METHODS]
    )
    default_verification_method: VerificationMethod | None = None
    unenrolled_policy: UnenrolledPolicy = UnenrolledPolicy.ALLOW
    require_device_bound_passkey: bool = False

    @field_validator("code")
    @classmethod
    def _code_format(cls, code: str) -> str:
        if not is_action_code(code):
            raise ValueError("must be 1-64 letters, digits, '_' or '-'")
        return code


_FIND_ACTION_CONFIGURATION = select(ActionConfiguration).where(
    ActionConfiguration.tenant_id == bindparam("tenant_id"), ActionConfiguration.code == bindparam("code")
)


def find_action_configuration(tenant_id: str, code: str) -> ActionConfiguration | None:
    # Prebuilt: every track looks its action up, so the statement is compiled once.
    return db.session.execute(_FIND_ACTION_CONFIGURATION, {"tenant_id": tenant_id, "code": code}).scalar_one_or_none()


def get_action_configuration(tenant_id: str, code: str) -> ActionConfiguration:
    config = find_action_configuration(tenant_id, code)
    if config is None:
        raise action_not_found(code)
    return config


def action_not_found(code: str) -> NotFound:
    return NotFound(f"No action '{code}' exists.", code="action_not_found")


def new_action_configuration(tenant_id: str, document: ActionDocument) -> ActionConfiguration:
    """Build (not commit) an action configuration; tracking an unknown code uses the defaults."""
    return ActionConfiguration(
        tenant_id=tenant_id,
        code=document.code,
        name=document.name or document.code,
        default_outcome=document.default_outcome,
        verification_methods=[m.value for m in document.verification_methods],
        default_verification_method=document.default_verification_method,
        unenrolled_policy=document.unenrolled_policy,
        require_device_bound_passkey=document.require_device_bound_passkey,
    )


def create_action_configuration(
    tenant_id: str, document: ActionDocument, *, actor: ConsoleUser | Agent | None = None
) -> ActionConfiguration:
    """Create an action, its version 1 live at once; an ``actor`` is audited in the same transaction."""
    if find_action_configuration(tenant_id, document.code) is not None:
        raise Conflict(f"An action '{document.code}' already exists.", code="action_exists")
    config = new_action_configuration(tenant_id, document)
    db.session.add(config)
    flush_or_refuse(Conflict(f"An action '{document.code}' already exists.", code="action_exists"))
    db.session.add(first_version(config, published_by=actor_name(actor) if actor is not None else "cli", now=utcnow()))
    db.session.flush()
    if actor is not None:
        record_change(actor, "action.created", config.id, "action", after=action_document(config))
    db.session.commit()
    return config


class ActionSettings(_Document):
    """What can change on an existing action: everything but its code."""

    name: str = Field(min_length=1, max_length=120)
    default_outcome: Outcome
    verification_methods: list[VerificationMethod] = Field(min_length=1)
    default_verification_method: VerificationMethod | None = None
    unenrolled_policy: UnenrolledPolicy
    # The manual-review deadline (services.reviews.sla applies it): None means cases wait for ever.
    review_deadline_minutes: int | None = Field(default=None, ge=1, le=MAX_REVIEW_DEADLINE_MINUTES)
    review_overdue_policy: OverduePolicy = OverduePolicy.FLAG
    # Refuse synced passkeys (services.challenges.passkeys); not part of the rule set, so it applies at once.
    require_device_bound_passkey: bool = False

    _default_method_is_allowed = model_validator(mode="after")(_default_method_offered)


def update_action_configuration(actor: ConsoleUser | Agent, code: str, changes: ActionSettings) -> ActionConfiguration:
    """The name, the review deadline and the device-bound passkey requirement apply at once; the policy
    (outcome, methods, unenrolled policy) is part of the rule set, so it changes the draft."""
    config = get_action_configuration(actor.tenant_id, code)
    before = action_document(config)
    policy_before = _policy(config)
    config.name = changes.name
    config.default_outcome = changes.default_outcome
    config.verification_methods = [m.value for m in changes.verification_methods]
    config.default_verification_method = changes.default_verification_method
    config.unenrolled_policy = changes.unenrolled_policy
    config.review_deadline_minutes = changes.review_deadline_minutes
    config.review_overdue_policy = changes.review_overdue_policy
    config.require_device_bound_passkey = changes.require_device_bound_passkey
    after = action_document(config)
    if _policy(config) != policy_before:
        note_draft_author(config, actor)
    if after != before:
        record_change(actor, "action.updated", config.id, "action", before=before, after=after)
    db.session.commit()
    return config


def _policy(config: ActionConfiguration) -> tuple:
    return (config.default_outcome, list(config.verification_methods), config.default_verification_method,
            config.unenrolled_policy)


def delete_action_configuration(actor: ConsoleUser | Agent, code: str) -> None:
    """Delete an action and its rules. Tracked actions stay: their configuration link becomes
    NULL (ON DELETE SET NULL) and they keep the action code."""
    config = get_action_configuration(actor.tenant_id, code)
    before = {**action_document(config), "rules": [rule_document(rule) for rule in config.rules]}
    record_change(actor, "action.deleted", config.id, "action", before=before)
    db.session.delete(config)
    db.session.commit()


def count_active_rules(tenant_id: str) -> dict[str, int]:
    """Active rules per action configuration id, in one grouped query."""
    rows = db.session.execute(
        select(Rule.action_configuration_id, func.count())
        .join(ActionConfiguration)
        .where(ActionConfiguration.tenant_id == tenant_id, Rule.is_active.is_(True))
        .group_by(Rule.action_configuration_id)
    )
    return {config_id: count for config_id, count in rows}


def list_action_configurations(tenant_id: str) -> list[ActionConfiguration]:
    return list(
        db.session.execute(
            select(ActionConfiguration).where(ActionConfiguration.tenant_id == tenant_id).order_by(ActionConfiguration.code)
        ).scalars()
    )


def create_rule(tenant_id: str, action_code: str, document: RuleDocument, *, actor: ConsoleUser | Agent | None = None) -> Rule:
    config = get_action_configuration(tenant_id, action_code)
    validate_conditions(document.conditions)
    rule = Rule(
        action_configuration_id=config.id,
        name=document.name,
        description=document.description,
        is_active=document.is_active,
        priority=document.priority,
        outcome=document.outcome,
        verification_methods=(
            None if document.verification_methods is None else [m.value for m in document.verification_methods]
        ),
        default_verification_method=document.default_verification_method,
        conditions=document.conditions,
    )
    db.session.add(rule)
    note_draft_author(config, actor)
    flush_or_refuse(Conflict(f"Action '{action_code}' already has a rule with priority {document.priority}.",
                             code="priority_taken"))
    if actor is not None:
        record_change(actor, "rule.created", rule.id, "rule", after={"action": action_code, **rule_document(rule)})
    db.session.commit()
    return rule


def list_rules(tenant_id: str, action_code: str) -> list[Rule]:
    return list(get_action_configuration(tenant_id, action_code).rules)


def find_rule(tenant_id: str, rule_id: str, *, action_code: str | None = None) -> Rule:
    query = select(Rule).join(ActionConfiguration).where(Rule.id == rule_id, ActionConfiguration.tenant_id == tenant_id)
    if action_code is not None:
        query = query.where(ActionConfiguration.code == action_code)
    rule = db.session.execute(query).scalar_one_or_none()
    if rule is None:
        raise NotFound(f"No rule '{rule_id}' exists.", code="rule_not_found")
    return rule


def delete_rule(tenant_id: str, rule_id: str, *, actor: ConsoleUser | Agent | None = None) -> None:
    rule = find_rule(tenant_id, rule_id)
    if actor is not None:
        record_change(actor, "rule.deleted", rule.id, "rule",
                      before={"action": rule.action_configuration.code, **rule_document(rule)})
    config = rule.action_configuration
    note_draft_author(config, actor)
    db.session.delete(rule)
    db.session.commit()
    db.session.expire(config, ["rules"])


class RuleChanges(_Document):
    """A rule as the console edits it: everything but its priority, which the order decides."""

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    is_active: bool = True
    outcome: Outcome
    verification_methods: list[VerificationMethod] | None = None
    default_verification_method: VerificationMethod | None = None
    conditions: Any = None

    _default_method_is_allowed = model_validator(mode="after")(_default_method_offered)


def next_free_priority(taken: set[int]) -> int | None:
    """After the last rule, or the first gap when the last slot (99) is used."""
    if not taken:
        return 0
    if max(taken) < MAX_PRIORITY:
        return max(taken) + 1
    return next((p for p in range(MAX_PRIORITY + 1) if p not in taken), None)


MAX_PRIORITY = 99


def add_rule(actor: ConsoleUser, action_code: str, changes: RuleChanges) -> Rule:
    """A new rule goes to the bottom of the list (first match wins from the top)."""
    config = get_action_configuration(actor.tenant_id, action_code)
    priority = next_free_priority({rule.priority for rule in config.rules})
    if priority is None:
        raise Conflict("An action can have at most 100 rules.", code="too_many_rules")
    document = RuleDocument(priority=priority, **changes.model_dump())
    rule = create_rule(actor.tenant_id, action_code, document, actor=actor)
    db.session.expire(config, ["rules"])
    return rule


def update_rule(actor: ConsoleUser, action_code: str, rule_id: str, changes: RuleChanges) -> Rule:
    """Every change bumps the version: compiled conditions are cached per (rule id, version)."""
    validate_conditions(changes.conditions)
    rule = find_rule(actor.tenant_id, rule_id, action_code=action_code)
    before = rule_document(rule)
    rule.name = changes.name
    rule.description = changes.description
    rule.is_active = changes.is_active
    rule.outcome = changes.outcome
    rule.verification_methods = (
        None if changes.verification_methods is None else [m.value for m in changes.verification_methods]
    )
    rule.default_verification_method = changes.default_verification_method
    rule.conditions = changes.conditions
    after = rule_document(rule)
    if after != before:
        rule.version += 1
        note_draft_author(rule.action_configuration, actor)
        record_change(actor, "rule.updated", rule.id, "rule", before=before, after=after)
    db.session.commit()
    return rule


def set_rule_active(actor: ConsoleUser, action_code: str, rule_id: str, *, active: bool) -> Rule:
    rule = find_rule(actor.tenant_id, rule_id, action_code=action_code)
    if rule.is_active != active:
        rule.is_active = active
        rule.version += 1
        note_draft_author(rule.action_configuration, actor)
        record_change(actor, "rule.activated" if active else "rule.deactivated", rule.id, "rule",
                      before={"name": rule.name, "isActive": not active}, after={"name": rule.name, "isActive": active})
    db.session.commit()
    return rule


def move_rule(actor: ConsoleUser, action_code: str, rule_id: str, *, direction: str) -> Rule:
    """Swap a rule's priority with its neighbour's above (``up``) or below (``down``).

    Priorities are unique per action and not deferrable, and both SQLite (per row) and
    PostgreSQL (per statement) would see a duplicate mid-swap. So the rule first parks in a free
    slot of 0-99, then the neighbour takes its place, then the rule takes the neighbour's: three
    flushed UPDATEs in one transaction, never a duplicate. With all 100 slots taken there is no
    parking slot and the move is refused.
    """
    if direction not in ("up", "down"):
        raise InvalidRequest("Move a rule up or down.", code="invalid_direction")
    rule = find_rule(actor.tenant_id, rule_id, action_code=action_code)
    rules = list(rule.action_configuration.rules)
    index = rules.index(rule)
    other_index = index - 1 if direction == "up" else index + 1
    if not 0 <= other_index < len(rules):
        db.session.rollback()
        return rule
    other = rules[other_index]
    taken = {r.priority for r in rules}
    parking = next((p for p in range(MAX_PRIORITY + 1) if p not in taken), None)
    if parking is None:
        db.session.rollback()
        raise Conflict("All 100 priorities are in use; delete a rule before reordering.", code="no_free_priority")
    mine, theirs = rule.priority, other.priority
    try:
        rule.priority = parking
        db.session.flush()
        other.priority = mine
        db.session.flush()
        rule.priority = theirs
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict("The rules changed while moving; look again and retry.", code="priority_taken") from exc
    note_draft_author(rule.action_configuration, actor)
    record_change(actor, "rule.moved", rule.id, "rule",
                  before={"name": rule.name, "priority": mine}, after={"name": rule.name, "priority": theirs})
    db.session.commit()
    db.session.expire(rule.action_configuration, ["rules"])  # the loaded list is in the old order
    return rule


def action_document(config: ActionConfiguration) -> dict:
    """The JSON form of an action configuration, as the CLI prints it."""
    return {
        "code": config.code,
        "name": config.name,
        "defaultOutcome": config.default_outcome.value,
        "verificationMethods": config.verification_methods,
        "defaultVerificationMethod": config.default_verification_method and config.default_verification_method.value,
        "unenrolledPolicy": config.unenrolled_policy.value,
        "reviewDeadlineMinutes": config.review_deadline_minutes,
        "reviewOverduePolicy": config.review_overdue_policy.value if config.review_overdue_policy else None,
        "requireDeviceBoundCredential": bool(config.require_device_bound_passkey),
    }
