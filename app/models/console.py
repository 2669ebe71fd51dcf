"""People who use the console (admins and reviewers) and the audit trail of what they change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, BigId, TenantOwned, UTCDateTime, new_id, utcnow

ROLES = ("admin", "reviewer")


class ConsoleUser(TenantOwned, Base):
    __tablename__ = "console_user"
    __table_args__ = (Index(None, "tenant_id"),)

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id
    # An invited user's first password was seen by the admin who invited them: it only gets them
    # as far as choosing their own (console.guard).
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Bumped on sign-in, sign-out (and the idle one), password change and disabling: every older
    # session cookie stops working, so a user has at most one live session, begun at last_login_at.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    webauthn_user_handle: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Password guessing: after too many failures the account waits until locked_until.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    passkeys: Mapped[list[ConsolePasskey]] = relationship(
        back_populates="console_user", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ConsolePasskey.created_at",
    )

    # Flask-Login's user protocol, spelled out rather than mixed in.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class ConsolePasskey(Base):
    """A console user's passkey: once registered, it is required at every sign-in."""

    __tablename__ = "console_passkey"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    console_user_id: Mapped[str] = mapped_column(ForeignKey("console_user.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(120), default="Passkey")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    console_user: Mapped[ConsoleUser] = relationship(back_populates="passkeys")


class AuditEvent(Base):
    """Every console change: who, when, what, and the record before and after."""

    __tablename__ = "audit_event"
    __table_args__ = (Index(None, "tenant_id", "occurred_at"), UniqueConstraint("tenant_id", "chain_seq"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("console_user.id", ondelete="SET NULL"))
    actor_email: Mapped[str] = mapped_column(String(320))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event: Mapped[str] = mapped_column(String(64))  # e.g. rule.updated
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    # The tenant's hash chain (domain.audit_chain): the place in it, the digest of the content as it
    # was written (an erasure's redaction changes the content, never this), and the link.
    chain_seq: Mapped[int] = mapped_column(BigInteger)
    content_digest: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The newest link of a tenant's audit chain. Writers lock this row to append, so two instances
    never give two entries one place; the last verified link lets the console check only what is new."""

    __tablename__ = "audit_chain_head"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    chain_hash: Mapped[str] = mapped_column(String(64))
    verified_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    verified_hash: Mapped[str] = mapped_column(String(64))
