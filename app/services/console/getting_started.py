"""The console's first run: what a tenant needs to send its first event, until it has sent one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.domain.api_keys import PREFIX as SECRET_KEY_PREFIX
from app.extensions import db
from app.models import ActionConfiguration, ApiKey, UserAction

SNIPPET_ACTION = "sign-in"  # when the tenant has configured no action yet


@dataclass(frozen=True)
class FirstEvent:
    user_id: str
    action_code: str
    state: str
    action_id: int


@dataclass(frozen=True)
class GettingStarted:
    tenant_id: str
    api_url: str  # what the SDKs call api_url / apiUrl
    key_prefix: str
    key_hints: list[tuple[str, str]]  # (name, last characters) of the active secret keys
    action_code: str  # the one the snippets track


def first_event(tenant_id: str) -> FirstEvent | None:
    row = db.session.execute(
        select(UserAction.user_id, UserAction.action_code, UserAction.state, UserAction.id)
        .where(UserAction.tenant_id == tenant_id).order_by(UserAction.id).limit(1)
    ).first()
    return FirstEvent(row.user_id, row.action_code, row.state.value, row.id) if row is not None else None


def getting_started(tenant_id: str, *, public_url: str) -> GettingStarted | None:
    """None once anything was tracked: the panel has done its job."""
    if first_event(tenant_id) is not None:
        return None
    keys = db.session.execute(
        select(ApiKey.name, ApiKey.hint).where(ApiKey.tenant_id == tenant_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at)
    ).all()
    code = db.session.execute(
        select(ActionConfiguration.code).where(ActionConfiguration.tenant_id == tenant_id)
        .order_by(ActionConfiguration.created_at).limit(1)
    ).scalar_one_or_none()
    return GettingStarted(tenant_id=tenant_id, api_url=f"{public_url}/v1", key_prefix=SECRET_KEY_PREFIX,
                          key_hints=[(row.name, row.hint) for row in keys], action_code=code or SNIPPET_ACTION)
