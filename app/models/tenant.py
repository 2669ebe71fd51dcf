"""A tenant (one integrating organisation) and the API secret keys its backends use."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TenantOwned, UTCDateTime, new_id, utcnow


def new_config_stamp() -> str:
    # Random, not a counter: two databases (tests, a restored backup) never share a stamp by chance.
    return secrets.token_hex(16)


class Tenant(Base):
    __tablename__ = "tenant"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Console overrides of the environment's defaults; None means "use the environment".
    logo_url: Mapped[str | None] = mapped_column(String(2048))
    webauthn_rp_id: Mapped[str | None] = mapped_column(String(255))
    webauthn_rp_name: Mapped[str | None] = mapped_column(String(120))
    webauthn_origins: Mapped[list[str] | None] = mapped_column(JSON)
    redirect_allowlist: Mapped[list[str] | None] = mapped_column(JSON)
    client_token_ttl: Mapped[int | None] = mapped_column(Integer)
    # Four-eyes on rule changes: a console user who edited an action's draft cannot publish it.
    publish_needs_second_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Days a browser stays remembered after a passed challenge when the user asks (models.trusted_device);
    # 0: the hosted pages do not offer it.
    remember_device_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The labels reviewers pick a decision's reason from (domain.review_reasons); None: the defaults.
    review_reasons: Mapped[list[str] | None] = mapped_column(JSON)
    # The hosted pages' theme (domain.theme.Theme.stored(): only the fields set); None: the pages' own look.
    theme: Mapped[dict | None] = mapped_column(JSON)
    # Changes whenever anything track reads of this tenant's configuration changes (models.config_stamp):
    # each process caches that configuration and trusts its copy only while the stamp is the same.
    config_stamp: Mapped[str] = mapped_column(String(32), default=new_config_stamp, server_default="initial")


class ApiKey(TenantOwned, Base):
    """Only a SHA-256 digest identifies a key; the encrypted copy exists for webhook signing."""

    __tablename__ = "api_key"
    __table_args__ = (Index(None, "tenant_id"),)

    name: Mapped[str] = mapped_column(String(120))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ManagementKey(TenantOwned, Base):
    """A Management API key (``/v1/management``): a digest like ApiKey's, but no encrypted copy, since
    nothing signs with it. A separate table, so a server key never opens the Management API and the
    server API's hot-path lookup never meets a management key."""

    __tablename__ = "management_key"
    __table_args__ = (Index(None, "tenant_id"),)

    name: Mapped[str] = mapped_column(String(120))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    # app.domain.api_keys.ManagementAccess: read, draft (writes edit drafts) or publish (writes go live).
    access: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
