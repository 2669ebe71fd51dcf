"""End users (the integrator's users, known by their own ids) and their authenticators."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.decision import VerificationMethod
from app.models.base import Base, BigId, UTCDateTime, new_id, str_enum, utcnow


class EndUser(Base):
    __tablename__ = "end_user"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        Index(None, "tenant_id", "email"),
        Index(None, "tenant_id", "phone_number"),
        Index(None, "tenant_id", "username"),
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
    # Encrypted with the configured Fernet key(s); never stored in plaintext.
    otp_secret_ciphertext: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[EndUser] = relationship(back_populates="authenticators")
