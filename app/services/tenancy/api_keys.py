"""Creating, authenticating and revoking API secret keys.

The raw key exists only in the return value of ``create_api_key`` (shown once) and, encrypted, in
``secret_ciphertext`` (webhook signing); audit records name a key by its id, name and hint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update

from app.config import Settings
from app.domain.api_keys import digest_api_key, digests_match, generate_api_key, key_hint
from app.domain.errors import Conflict, InvalidRequest, Unauthorized
from app.domain.secretbox import SecretBox
from app.extensions import db
from app.models import ApiKey, ConsoleUser, Tenant
from app.models.prepared import PreparedStatement
from app.services.limits import address_failures
from app.services.limits.address_failures import API_KEY
from app.services.tenancy.audit import record_change
from app.services.tenancy.listing import ListQuery, Page
from app.services.tenancy.records import Records
from app.services.tenancy.tenant_config import TENANT_COLUMNS, TenantConfig, config_for

UNAUTHORIZED_MESSAGE = (
    "The request is unauthorized. Check that your API key and region base URL are correctly configured."
)
# Writing last_used_at on every request would turn each read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiCaller:
    tenant_id: str
    api_key_id: str
    config: TenantConfig  # the tenant's configuration, checked by the stamp read with the key


def create_api_key(
    tenant_id: str, *, name: str, settings: Settings, raw_key: str | None = None, actor: ConsoleUser | None = None
) -> tuple[ApiKey, str]:
    """Store a new key (digest + encrypted copy) and return it with the raw value, shown once."""
    name = validate_key_name(name)
    raw = raw_key or generate_api_key()
    key = ApiKey(
        tenant_id=tenant_id,
        name=name,
        digest=digest_api_key(raw),
        hint=key_hint(raw),
        secret_ciphertext=SecretBox(settings.encryption_keys).encrypt(raw),
    )
    db.session.add(key)
    if actor is not None:
        db.session.flush()  # the id, for the audit record
        record_change(actor, "api_key.created", key.id, "api_key", after=_audited(key))
    db.session.commit()
    return key, raw


def validate_key_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidRequest("Give the key a name, e.g. the backend that will use it.", code="invalid_key_name")
    if len(name) > 120:
        raise InvalidRequest("The name must be at most 120 characters.", code="invalid_key_name")
    return name


def list_api_keys(tenant_id: str, wanted: ListQuery = ListQuery()) -> Page[ApiKey]:
    """Active keys first, then revoked ones; each group oldest first. Searched by name and hint."""
    return _KEYS.page(tenant_id, wanted, search=(ApiKey.name, ApiKey.hint),
                      order_by=(ApiKey.revoked_at.is_not(None), ApiKey.created_at, ApiKey.id))


def count_active_keys(tenant_id: str) -> int:
    return db.session.execute(
        select(func.count()).select_from(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.revoked_at.is_(None))
    ).scalar_one()


def get_api_key(tenant_id: str, key_id: str) -> ApiKey:
    return _KEYS.get(tenant_id, key_id)


def revoke_api_key(actor: ConsoleUser, key_id: str, *, now: datetime) -> ApiKey:
    """Revoke a key at once; refused when it is the tenant's last active key. Commits."""
    # Two admins revoking the last two keys at once must not both win. PostgreSQL: the tenant row
    # lock serialises revocations. SQLite: flushing the UPDATE takes the database's write lock
    # before the count, so the count sees every committed revocation.
    db.session.execute(select(Tenant.id).where(Tenant.id == actor.tenant_id).with_for_update())
    key = get_api_key(actor.tenant_id, key_id)
    if key.revoked_at is not None:
        raise Conflict("This key is already revoked.", code="api_key_revoked")
    before = _audited(key)
    key.revoked_at = now
    db.session.flush()
    if count_active_keys(actor.tenant_id) == 0:
        db.session.rollback()
        raise Conflict(
            "This is the last active key. Create a new key first: there must be at least one active key at all times.",
            code="last_api_key",
        )
    return _KEYS.changed(actor, key, before, verb="revoked", now=now)


def _audited(key: ApiKey) -> dict:
    """What the audit log keeps about a key: never the key itself."""
    return {
        "name": key.name,
        "hint": key.hint,
        "revoked": key.revoked_at is not None,
    }


_KEYS = Records(ApiKey, "api_key", _audited, "No such API key.")


class InvalidApiKey(Unauthorized):
    """A key was presented and opens nothing (unknown or revoked): what count_invalid_key counts."""


def count_invalid_key(*, client_ip: str | None, settings: Settings, now: datetime) -> None:
    """An invalid key (InvalidApiKey; on the client API, a tenant id that names no tenant) counts
    against the client address; past TOLLGATE_API_KEY_FAILURES_PER_MINUTE the address gets
    TooManyRequests instead. Commits. Only refused keys come here: a valid key is never counted,
    slowed or refused, even from an address that is refused."""
    address_failures.take_failure(API_KEY, client_ip, allowed=settings.api_key_failures_per_minute, now=now)
    db.session.commit()


def find_api_key(raw_key: str) -> ApiKey | None:
    return db.session.execute(select(ApiKey).where(ApiKey.digest == digest_api_key(raw_key))).scalar_one_or_none()


_KEY_BY_DIGEST = PreparedStatement(
    select(ApiKey.id, ApiKey.tenant_id, ApiKey.digest, ApiKey.revoked_at, ApiKey.last_used_at, *TENANT_COLUMNS)
    .join(Tenant, Tenant.id == ApiKey.tenant_id)
    .where(ApiKey.digest == bindparam("digest"))
)


def authenticate_api_key(raw_key: str | None, *, now: datetime) -> ApiCaller:
    """On every server API request: one indexed lookup, which also tells whether this process's copy
    of the tenant's configuration is still current (services.tenancy.tenant_config).

    A presented key that opens nothing raises InvalidApiKey, for the caller to count_invalid_key."""
    if not raw_key:
        raise Unauthorized(UNAUTHORIZED_MESSAGE)
    key = _KEY_BY_DIGEST.one_or_none(db.session.connection(), {"digest": digest_api_key(raw_key)})
    if key is None or key.revoked_at is not None or not digests_match(key.digest, raw_key):
        raise InvalidApiKey(UNAUTHORIZED_MESSAGE)
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        db.session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        db.session.commit()
    config = config_for(key.tenant_id, key)
    return ApiCaller(tenant_id=key.tenant_id, api_key_id=key.id, config=config)
