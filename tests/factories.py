"""Plain functions that put rows in place through the same services production uses."""

from __future__ import annotations

from typing import Any

import pyotp

from app.domain.decision import Outcome
from app.services.rulesets.rules import ActionDocument, RuleDocument, create_action_configuration, create_rule


def make_action(app, tenant_id: str, code: str, *, default_outcome: Outcome = Outcome.ALLOW, rules: list[dict] = (),
                **settings: Any):
    """Create an action configuration and its rules; returns the created rule ids in order."""
    with app.app_context():
        create_action_configuration(tenant_id, ActionDocument(code=code, default_outcome=default_outcome, **settings))
        return [create_rule(tenant_id, code, RuleDocument.model_validate(rule)).id for rule in rules]


def rule(name: str, priority: int, outcome: str, conditions: Any = None, **extra: Any) -> dict:
    return {"name": name, "priority": priority, "outcome": outcome, "conditions": conditions, **extra}


def otp_uri() -> str:
    return pyotp.TOTP(pyotp.random_base32()).provisioning_uri(name="user@example.com", issuer_name="Tollgate")


def enroll_authenticator_app(api, user_id: str) -> dict:
    response = api.post(f"/users/{user_id}/authenticators",
                        json={"verificationMethod": "AUTHENTICATOR_APP", "otpUri": otp_uri()})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["authenticator"]
