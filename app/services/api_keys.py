"""Creating, authenticating and revoking API secret keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.config import Settings
from app.domain.api_keys import digest_api_key, digests_match, generate_api_key, key_hint
from app.domain.errors import Unauthorized
from app.domain.secretbox import SecretBox
from app.extensions import db
from app.models import ApiKey

UNAUTHORIZED_MESSAGE = (
    "The request is unauthorized. Check that your API key and region base URL are correctly configured."
)
# Writing last_used_at on every request would turn each read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiCaller:
    tenant_id: str
    api_key_id: str


def create_api_key(tenant_id: str, *, name: str, settings: Settings, raw_key: str | None = None) -> tuple[ApiKey, str]:
    """Store a new key (digest + encrypted copy) and return it with the raw value, shown once."""
    raw = raw_key or generate_api_key()
    key = ApiKey(
        tenant_id=tenant_id,
        name=name,
        digest=digest_api_key(raw),
        hint=key_hint(raw),
        secret_ciphertext=SecretBox(settings.encryption_keys).encrypt(raw),
    )
    db.session.add(key)
    db.session.commit()
    return key, raw


def find_api_key(raw_key: str) -> ApiKey | None:
    return db.session.execute(select(ApiKey).where(ApiKey.digest == digest_api_key(raw_key))).scalar_one_or_none()


def authenticate_api_key(raw_key: str | None, *, now: datetime) -> ApiCaller:
    """On every server API request: one indexed lookup of the few columns needed, no ORM object."""
    if not raw_key:
        raise Unauthorized(UNAUTHORIZED_MESSAGE)
    key = db.session.execute(
        select(ApiKey.id, ApiKey.tenant_id, ApiKey.digest, ApiKey.revoked_at, ApiKey.last_used_at).where(
            ApiKey.digest == digest_api_key(raw_key)
        )
    ).one_or_none()
    if key is None or key.revoked_at is not None or not digests_match(key.digest, raw_key):
        raise Unauthorized(UNAUTHORIZED_MESSAGE)
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        db.session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        db.session.commit()
    return ApiCaller(tenant_id=key.tenant_id, api_key_id=key.id)
