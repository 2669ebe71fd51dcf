"""Codes sent to a person by email, SMS or WhatsApp: one challenge per destination and action, single use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.decision import VerificationMethod
from app.models.base import Base, BigId, TenantOwned, UTCDateTime, str_enum, utcnow
from app.models.user import Authenticator


class CodeChallenge(TenantOwned, Base):
    """A code on its way to ``destination``; only its keyed digest is kept.

    Resending gives the challenge a new code (the old one stops working) but keeps its count of wrong
    codes, so resending never buys more guesses. It ends when a code is right (``verified_at``) or
    after too many wrong ones (``ended_at``). Its id is the ``challengeId`` the APIs hand out.
    """

    __tablename__ = "code_challenge"
    __table_args__ = (
        Index(None, "tenant_id"),
        # The newest challenge of an action and method: what a code typed on the page is checked against.
        Index(None, "user_action_id", "verification_method", "created_at"),
    )

    end_user_id: Mapped[int | None] = mapped_column(ForeignKey("end_user.id", ondelete="CASCADE"), index=True)
    user_action_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("user_action.id", ondelete="CASCADE"))
    # Set when the code enrols (or re-verifies) this authenticator.
    authenticator_id: Mapped[str | None] = mapped_column(ForeignKey("user_authenticator.id", ondelete="SET NULL"))
    action_code: Mapped[str] = mapped_column(String(64))
    verification_method: Mapped[VerificationMethod] = mapped_column(str_enum(VerificationMethod))
    destination: Mapped[str] = mapped_column(String(320))  # the email address or E.164 number
    # How its messages go: email | sms | whatsapp (an SMS challenge with smsChannel WHATSAPP goes by WhatsApp).
    channel: Mapped[str] = mapped_column(String(16), default="email", server_default="email")
    code_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    send_count: Mapped[int] = mapped_column(Integer, default=1)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "client": sent for a tracked action (hosted page, client API). "server": started by the server
    # API's /challenge, for an action that exists only once the challenge is claimed for a user
    # (claimed_at) under idempotency_key.
    origin: Mapped[str] = mapped_column(String(8), default="client")
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    authenticator: Mapped[Authenticator | None] = relationship()
