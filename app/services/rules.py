"""Action configurations and their rules: what admins manage (CLI today, console next)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.domain.decision import Outcome, UnenrolledPolicy, VerificationMethod
from app.domain.errors import Conflict, InvalidRequest, NotFound
from app.domain.rules import validate_conditions
from app.extensions import db
from app.models import ActionConfiguration, Rule

ACTION_CODE_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# What the hosted pages can verify; a new action offers these unless an admin narrows them.
DEFAULT_VERIFICATION_METHODS = [VerificationMethod.PASSKEY.value, VerificationMethod.AUTHENTICATOR_APP.value]


def validate_action_code(code: str) -> str:
    if not isinstance(code, str) or not ACTION_CODE_PATTERN.fullmatch(code):
        raise InvalidRequest(
            "The action code must be 1-64 letters, digits, '_' or '-'.", code="invalid_action_code"
        )
    return code


class _Document(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


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

    @model_validator(mode="after")
    def _default_method_is_allowed(self) -> RuleDocument:
        if self.default_verification_method and self.verification_methods is not None:
            if self.default_verification_method not in self.verification_methods:
                raise ValueError("defaultVerificationMethod must be one of verificationMethods")
        return self


class ActionDocument(_Document):
    code: str
    name: str | None = Field(default=None, max_length=120)
    default_outcome: Outcome = Outcome.ALLOW
    verification_methods: list[VerificationMethod] = Field(
        default_factory=lambda: [VerificationMethod(m) for m in DEFAULT_VERIFICATION_METHODS]
    )
    default_verification_method: VerificationMethod | None = None
    unenrolled_policy: UnenrolledPolicy = UnenrolledPolicy.ALLOW

    @field_validator("code")
    @classmethod
    def _code_format(cls, code: str) -> str:
        if not ACTION_CODE_PATTERN.fullmatch(code):
            raise ValueError("must be 1-64 letters, digits, '_' or '-'")
        return code


def find_action_configuration(tenant_id: str, code: str) -> ActionConfiguration | None:
    return db.session.execute(
        select(ActionConfiguration).where(ActionConfiguration.tenant_id == tenant_id, ActionConfiguration.code == code)
    ).scalar_one_or_none()


def get_action_configuration(tenant_id: str, code: str) -> ActionConfiguration:
    config = find_action_configuration(tenant_id, code)
    if config is None:
        raise NotFound(f"No action '{code}' exists.", code="action_not_found")
    return config


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
    )


def create_action_configuration(tenant_id: str, document: ActionDocument) -> ActionConfiguration:
    config = new_action_configuration(tenant_id, document)
    db.session.add(config)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(f"An action '{document.code}' already exists.", code="action_exists") from exc
    return config


def list_action_configurations(tenant_id: str) -> list[ActionConfiguration]:
    return list(
        db.session.execute(
            select(ActionConfiguration).where(ActionConfiguration.tenant_id == tenant_id).order_by(ActionConfiguration.code)
        ).scalars()
    )


def create_rule(tenant_id: str, action_code: str, document: RuleDocument) -> Rule:
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
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(
            f"Action '{action_code}' already has a rule with priority {document.priority}.", code="priority_taken"
        ) from exc
    return rule


def list_rules(tenant_id: str, action_code: str) -> list[Rule]:
    return list(get_action_configuration(tenant_id, action_code).rules)


def delete_rule(tenant_id: str, rule_id: str) -> None:
    rule = db.session.execute(
        select(Rule)
        .join(ActionConfiguration)
        .where(Rule.id == rule_id, ActionConfiguration.tenant_id == tenant_id)
    ).scalar_one_or_none()
    if rule is None:
        raise NotFound(f"No rule '{rule_id}' exists.", code="rule_not_found")
    db.session.delete(rule)
    db.session.commit()


def action_document(config: ActionConfiguration) -> dict:
    """The JSON form of an action configuration, as the CLI prints it."""
    return {
        "code": config.code,
        "name": config.name,
        "defaultOutcome": config.default_outcome.value,
        "verificationMethods": config.verification_methods,
        "defaultVerificationMethod": config.default_verification_method and config.default_verification_method.value,
        "unenrolledPolicy": config.unenrolled_policy.value,
    }


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
