"""End users (the integrator's users, known by their own ids) and their authenticators."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.authenticator_names import KnownAuthenticator, known_authenticator
from app.domain.decision import VerificationMethod
from app.models.base import Base, BigId, UTCDateTime, new_id, str_enum, utcnow


class EndUser(Base):
    __tablename__ = "end_user"
    # Written by a user's first track: each index names its queries, optional columns only where set.
    __table_args__ = (
        # Every lookup of a user by id, and the console's users search (a range of ids).
        UniqueConstraint("tenant_id", "user_id"),
        # GET /v1/users?email= / phoneNumber= / username= (users.query_users); the users search by
        # phone number.
        Index(None, "tenant_id", "email", sqlite_where=text("email IS NOT NULL"),
              postgresql_where=text("email IS NOT NULL")),
        Index(None, "tenant_id", "phone_number", sqlite_where=text("phone_number IS NOT NULL"),
              postgresql_where=text("phone_number IS NOT NULL")),
        Index(None, "tenant_id", "username", sqlite_where=text("username IS NOT NULL"),
              postgresql_where=text("username IS NOT NULL")),
        # A passkey's user handle is unique; most users never add one, so only handles are indexed.
        Index("uq_end_user_webauthn_user_handle", "webauthn_user_handle", unique=True,
              sqlite_where=text("webauthn_user_handle IS NOT NULL"),
              postgresql_where=text("webauthn_user_handle IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_number: Mapped[str | None] = mapped_column(String(32))
    phone_number_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    username: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    custom: Mapped[dict] = mapped_column(JSON, default=dict)
    locale: Mapped[str | None] = mapped_column(String(35))
    # WebAuthn user handle: random, so a passkey reveals nothing about the integrator's user id.
    webauthn_user_handle: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    authenticators: Mapped[list[Authenticator]] = relationship(
        back_populates="user", order_by="Authenticator.created_at", cascade="all, delete-orphan", passive_deletes=True
    )


class Authenticator(Base):
    __tablename__ = "user_authenticator"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    end_user_id: Mapped[int] = mapped_column(ForeignKey("end_user.id", ondelete="CASCADE"), index=True)
    verification_method: Mapped[VerificationMethod] = mapped_column(str_enum(VerificationMethod))
    email: Mapped[str | None] = mapped_column(String(320))
    phone_number: Mapped[str | None] = mapped_column(String(32))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(String(120))
    # Encrypted with the configured Fernet key(s); never stored in plaintext.
    otp_secret_ciphertext: Mapped[str | None] = mapped_column(Text)
    # RFC 6238 §5.2: a code from a time-step not newer than the last accepted one is a replay.
    last_totp_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None while an enrolment waits for its first code.
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[EndUser] = relationship(back_populates="authenticators")
    passkey: Mapped[PasskeyCredential | None] = relationship(
        back_populates="authenticator", cascade="all, delete-orphan", passive_deletes=True
    )


class PasskeyCredential(Base):
    """The WebAuthn side of a PASSKEY authenticator."""

    __tablename__ = "passkey_credential"

    authenticator_id: Mapped[str] = mapped_column(
        ForeignKey("user_authenticator.id", ondelete="CASCADE"), primary_key=True
    )
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    aaguid: Mapped[str | None] = mapped_column(String(36))
    backup_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    backup_state: Mapped[bool] = mapped_column(Boolean, default=False)
    attachment: Mapped[str | None] = mapped_column(String(32))
    # Set when an assertion's sign count went backwards: a possible cloned authenticator.
    sign_count_regressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    authenticator: Mapped[Authenticator] = relationship(back_populates="passkey")

    @property
    def provider(self) -> KnownAuthenticator | None:
        """Which product made it, by its AAGUID (the bundled community list), for people to read."""
        return known_authenticator(self.aaguid)


class RecoveryCode(Base):
    """One-time codes shown once at first enrolment; only a keyed digest is stored."""

    __tablename__ = "recovery_code"
    __table_args__ = (UniqueConstraint("end_user_id", "code_digest"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    end_user_id: Mapped[int] = mapped_column(ForeignKey("end_user.id", ondelete="CASCADE"))
    code_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VerificationAttempt(Base):
    """Failed code attempts, counted per user over a sliding window to rate-limit guessing."""

    __tablename__ = "verification_attempt"
    __table_args__ = (
        Index(None, "end_user_id", "attempted_at"),
        # Across all users by time: /metrics counts the last minutes' failures, purge deletes the old ones.
        Index(None, "attempted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    end_user_id: Mapped[int] = mapped_column(ForeignKey("end_user.id", ondelete="CASCADE"))
    verification_method: Mapped[str] = mapped_column(String(32))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
