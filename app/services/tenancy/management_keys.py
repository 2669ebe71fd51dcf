"""Management API keys: created and revoked by admins (console) and operators (CLI), one tenant each.

Like server keys they are long random strings looked up by their SHA-256 digest and compared in
constant time; unlike them, nothing needs the raw key later, so only the digest is kept. A key's
``access`` says whether it may write, and whether its writes publish (app.domain.api_keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from app.domain.api_keys import (
    MANAGEMENT_PREFIX,
    ManagementAccess,
    digest_api_key,
    digests_match,
    generate_api_key,
    key_hint,
)
from app.domain.errors import Conflict, InvalidRequest, Unauthorized
from app.extensions import db
from app.models import ConsoleUser, ManagementKey
from app.services.tenancy.api_keys import LAST_USED_RESOLUTION, UNAUTHORIZED_MESSAGE, InvalidApiKey, validate_key_name
from app.services.tenancy.audit import Agent
from app.services.tenancy.records import Records

ACCESS_LABELS = {
    ManagementAccess.READ: "Read only",
    ManagementAccess.DRAFT: "Read and write drafts (publishing is explicit)",
    ManagementAccess.PUBLISH: "Read and write, writes publish at once (Terraform)",
}


@dataclass(frozen=True)
class ManagementCaller:
    tenant_id: str
    key_id: str
    access: ManagementAccess
    agent: Agent  # who the audit trail says made each change: this key, by name and hint

    @property
    def may_write(self) -> bool:
        return self.access != ManagementAccess.READ

    @property
    def publishes(self) -> bool:
        return self.access == ManagementAccess.PUBLISH


def key_agent(key: ManagementKey) -> Agent:
    return Agent(name=f"management key “{key.name}” ({key.hint})", tenant_id=key.tenant_id)


def create_management_key(actor: ConsoleUser | Agent, *, name: str, access: str) -> tuple[ManagementKey, str]:
    """Store a new key's digest and return the key with its raw value, shown once. Commits."""
    name = validate_key_name(name)
    if access not in ManagementAccess.__members__.values():
        raise InvalidRequest(f"access must be one of {', '.join(ManagementAccess)}.", code="invalid_key_access")
    raw = generate_api_key(MANAGEMENT_PREFIX)
    key = ManagementKey(tenant_id=actor.tenant_id, name=name, digest=digest_api_key(raw), hint=key_hint(raw),
                        access=access)
    return _KEYS.created(actor, key), raw


def list_management_keys(tenant_id: str) -> list[ManagementKey]:
    """Active keys first, then revoked ones; each group oldest first."""
    return _KEYS.all(tenant_id, ManagementKey.revoked_at.is_not(None), ManagementKey.created_at, ManagementKey.id)


def get_management_key(tenant_id: str, key_id: str) -> ManagementKey:
    return _KEYS.get(tenant_id, key_id)


def revoke_management_key(actor: ConsoleUser | Agent, key_id: str, *, now: datetime) -> ManagementKey:
    """Revoke at once (any key: the Management API is optional, so no key must stay). Commits."""
    key = get_management_key(actor.tenant_id, key_id)
    if key.revoked_at is not None:
        raise Conflict("This key is already revoked.", code="management_key_revoked")
    before = _audited(key)
    key.revoked_at = now
    return _KEYS.changed(actor, key, before, verb="revoked", now=now)


def authenticate_management_key(raw_key: str | None, *, now: datetime) -> ManagementCaller:
    """A presented key that opens nothing raises InvalidApiKey, counted like a bad server key."""
    if not raw_key:
        raise Unauthorized(UNAUTHORIZED_MESSAGE)
    key = db.session.execute(
        select(ManagementKey).where(ManagementKey.digest == digest_api_key(raw_key))
    ).scalar_one_or_none()
    if key is None or key.revoked_at is not None or not digests_match(key.digest, raw_key):
        raise InvalidApiKey(UNAUTHORIZED_MESSAGE)
    caller = ManagementCaller(tenant_id=key.tenant_id, key_id=key.id, access=ManagementAccess(key.access),
                              agent=key_agent(key))
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        db.session.execute(update(ManagementKey).where(ManagementKey.id == key.id).values(last_used_at=now))
        db.session.commit()
    return caller


def _audited(key: ManagementKey) -> dict:
    """What the audit log keeps about a key: never the key itself."""
    return {"name": key.name, "hint": key.hint, "access": key.access, "revoked": key.revoked_at is not None}


_KEYS = Records(ManagementKey, "management_key", _audited, "No such management key.", "management_key_not_found")
