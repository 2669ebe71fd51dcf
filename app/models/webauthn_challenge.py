"""Server-side WebAuthn challenges: single use, short-lived, bound to what they were issued for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, TenantOwned, UTCDateTime, utcnow


class WebAuthnChallenge(TenantOwned, Base):
    """Its id is the challengeId the client answers with."""

    __tablename__ = "webauthn_challenge"
    # Counting a client address's recent anonymous challenges (services.challenges.passkeys rate limit).
    __table_args__ = (Index(None, "tenant_id"), Index(None, "client_ip", "created_at"))

    # registration | authentication | sign-in (usernameless, started by /client/challenge)
    purpose: Mapped[str] = mapped_column(String(16))
    end_user_id: Mapped[int | None] = mapped_column(ForeignKey("end_user.id", ondelete="CASCADE"))
    user_action_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("user_action.id", ondelete="CASCADE"))
    action_code: Mapped[str | None] = mapped_column(String(64))
    challenge: Mapped[str | None] = mapped_column(String(128))  # base64url; set when options are issued
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set on challenges started without a token (usernameless sign-in): what the rate limit counts.
    client_ip: Mapped[str | None] = mapped_column(String(45))
