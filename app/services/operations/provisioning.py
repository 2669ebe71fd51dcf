"""Tenants, first keys and the demo: what a fresh install needs before anyone can call the API."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from app.config import Settings
from app.domain.decision import Outcome, UnenrolledPolicy
from app.extensions import db
from app.models import ApiKey, Tenant
from app.services.console.console_users import create_console_user, find_console_user, reset_password
from app.services.rulesets.rules import (
    ActionDocument,
    RuleDocument,
    create_action_configuration,
    create_rule,
    find_action_configuration,
)
from app.services.rulesets.versions import publish
from app.services.tenancy.api_keys import create_api_key, find_api_key

DEMO_ACTION = "withdraw-funds"
DEMO_REMEMBER_DEVICE_DAYS = 30
DEMO_ADMIN_EMAIL = "admin@example.com"


def _withdrawal_rule(name: str, description: str, *, at_least: int, outcome: Outcome, priority: int) -> RuleDocument:
    return RuleDocument(name=name, description=description, priority=priority, outcome=outcome,
                        conditions={">=": [{"var": "custom.amount"}, at_least]})


DEMO_RULES = [
    _withdrawal_rule("Very large withdrawal", "Withdrawals of 10,000 or more are checked by a person.",
                     at_least=10000, outcome=Outcome.REVIEW, priority=0),
    # Ahead of the challenge, behind the review: a remembered device skips the one, never the other.
    RuleDocument(name="Remembered device", priority=5, outcome=Outcome.ALLOW,
                 description="A device the user asked not to be challenged on again (tracks must send its deviceId).",
                 conditions={"==": [{"var": "device.isTrusted"}, True]}),
    _withdrawal_rule("Large withdrawal", "Withdrawals of 1,000 or more need a passkey or authenticator app.",
                     at_least=1000, outcome=Outcome.CHALLENGE, priority=10),
]


@dataclass(frozen=True)
class SeedReport:
    tenant: Tenant
    new_api_key: str | None  # raw value, only when this run generated it
    api_key_source: str  # "generated" | "provided" | "existing"
    admin_email: str | None = None
    new_admin_password: str | None = None  # only when this run generated it


_OLDEST_FIRST = (Tenant.created_at, Tenant.id)


def default_tenant() -> Tenant | None:
    return db.session.execute(select(Tenant).order_by(*_OLDEST_FIRST).limit(1)).scalar_one_or_none()


def list_tenants() -> list[Tenant]:
    """Every tenant, oldest (the default) first."""
    return list(db.session.execute(select(Tenant).order_by(*_OLDEST_FIRST)).scalars())


def ensure_tenant(name: str) -> Tenant:
    tenant = default_tenant()
    if tenant is None:
        tenant = Tenant(name=name)
        db.session.add(tenant)
        db.session.commit()
    return tenant


def ensure_api_key(tenant: Tenant, *, settings: Settings, raw_key: str | None) -> tuple[str | None, str]:
    """Make sure the tenant can be called: the given key, else any active key, else a new one."""
    if raw_key:
        if find_api_key(raw_key) is None:
            create_api_key(tenant.id, name="Provisioned", settings=settings, raw_key=raw_key)
        return None, "provided"
    active = db.session.execute(
        select(ApiKey.id).where(ApiKey.tenant_id == tenant.id, ApiKey.revoked_at.is_(None)).limit(1)
    ).scalar_one_or_none()
    if active is not None:
        return None, "existing"
    _, raw = create_api_key(tenant.id, name="Default", settings=settings)
    return raw, "generated"


def ensure_admin(tenant_id: str, *, email: str, password: str | None, settings: Settings,
                 temporary: bool = False) -> str | None:
    """Create the first admin if there is none with this email; returns a generated password.

    ``temporary``: the password is being handed to someone, who must choose their own at sign-in."""
    if find_console_user(email) is not None:
        if password is not None:
            reset_password(email, password, settings=settings, temporary=temporary)
        return None
    generated = None if password is not None else secrets.token_urlsafe(12)
    create_console_user(
        tenant_id, email=email, password=password or generated, role="admin", name="Admin", settings=settings,
        temporary=temporary,
    )
    return generated


def seed_demo(*, settings: Settings, raw_key: str | None) -> SeedReport:
    """Idempotent: running it again changes nothing that is already there."""
    tenant = ensure_tenant("Demo")
    new_key, source = ensure_api_key(tenant, settings=settings, raw_key=raw_key)
    if find_action_configuration(tenant.id, DEMO_ACTION) is None:
        # A user with nothing enrolled is challenged too (and enrols on the hosted page): the demo's
        # first track of a large withdrawal shows the challenge, not a quiet ALLOW.
        create_action_configuration(tenant.id, ActionDocument(
            code=DEMO_ACTION, name="Withdraw funds", unenrolled_policy=UnenrolledPolicy.REQUIRE_ENROLLMENT))
        for rule in DEMO_RULES:
            create_rule(tenant.id, DEMO_ACTION, rule)
        publish("seed-demo", tenant.id, DEMO_ACTION, note="The demo's rules.")
        # Its "Remembered device" rule needs the hosted page to offer remembering one.
        tenant.remember_device_days = DEMO_REMEMBER_DEVICE_DAYS
        db.session.commit()
    admin_email = settings.bootstrap_admin_email or DEMO_ADMIN_EMAIL
    new_password = ensure_admin(
        tenant.id, email=admin_email, password=settings.bootstrap_admin_password, settings=settings
    )
    return SeedReport(tenant=tenant, new_api_key=new_key, api_key_source=source, admin_email=admin_email,
                      new_admin_password=new_password)
