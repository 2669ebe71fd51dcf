"""Plain functions that put rows in place through the same services production uses."""

from __future__ import annotations

from typing import Any

import pyotp

from app.domain.decision import Outcome
from app.extensions import db
from app.models import Tenant
from app.services.rulesets.rules import ActionDocument, RuleDocument, create_action_configuration, create_rule
from app.services.rulesets.versions import publish
from app.services.tenancy.api_keys import create_api_key


def make_action(app, tenant_id: str, code: str, *, default_outcome: Outcome = Outcome.ALLOW, rules: list[dict] = (),
                **settings: Any):
    """Create an action configuration and its rules, published as its version 2 when there are rules
    (version 1 is the action as created); returns the created rule ids in order."""
    with app.app_context():
        create_action_configuration(tenant_id, ActionDocument(code=code, default_outcome=default_outcome, **settings))
        ids = [create_rule(tenant_id, code, RuleDocument.model_validate(rule)).id for rule in rules]
        if ids:
            publish("cli", tenant_id, code, note="The test's rules.")
        return ids


def rule(name: str, priority: int, outcome: str, conditions: Any = None, **extra: Any) -> dict:
    return {"name": name, "priority": priority, "outcome": outcome, "conditions": conditions, **extra}


def otp_uri() -> str:
    return pyotp.TOTP(pyotp.random_base32()).provisioning_uri(name="user@example.com", issuer_name="Tollgate")


def enroll_authenticator_app(api, user_id: str) -> dict:
    response = api.post(f"/users/{user_id}/authenticators",
                        json={"verificationMethod": "AUTHENTICATOR_APP", "otpUri": otp_uri()})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["authenticator"]


def add_tenant_with_key(app, name: str) -> tuple[str, str]:
    """Another tenant (the first one stays the default) and a secret key of its own: (id, raw key)."""
    with app.app_context():
        tenant = Tenant(name=name)
        db.session.add(tenant)
        db.session.commit()
        _, raw = create_api_key(tenant.id, name=name, settings=app.config["TOLLGATE"])
        return tenant.id, raw
