"""Emails and text messages to send: an outbox row per message, written with what it is about."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TenantOwned, UTCDateTime, utcnow


class OutboundMessage(TenantOwned, Base):
    """One message: ``queued`` until its transport took it (``sent``) or the last attempt failed.

    Written in the transaction of the challenge it carries, so a code exists exactly when its message
    does. The content (which holds the code) is encrypted; workers claim a due message with a lease
    (``locked_until``, ``claim_token``) as they do webhook deliveries.
    """

    __tablename__ = "outbound_message"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),  # the worker's "what is due" scan
        Index(None, "tenant_id", "created_at"),  # the console's list, newest first
    )

    code_challenge_id: Mapped[str | None] = mapped_column(ForeignKey("code_challenge.id", ondelete="SET NULL"),
                                                          index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | sms | whatsapp
    recipient: Mapped[str] = mapped_column(String(320))
    # smtp | outbox (the development outbox: kept for the console, never sent)
    transport: Mapped[str] = mapped_column(String(16))
    content_ciphertext: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
