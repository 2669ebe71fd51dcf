"""Webhooks: endpoints an admin registers, the outbox of events, and one delivery per endpoint×event.

Events are written in the same transaction as the change they describe (the outbox), so a change
that rolls back sends nothing and a committed one is never lost; a worker delivers them later.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, BigId, TenantOwned, UTCDateTime, utcnow


class WebhookEndpoint(TenantOwned, Base):
    __tablename__ = "webhook_endpoint"
    # Emitting looks up the tenant's active endpoints on every tracked action: one indexed query.
    __table_args__ = (Index(None, "tenant_id", "is_active"),)

    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEvent(TenantOwned, Base):
    """One event (the outbox row); its id is the envelope's ``id`` receivers de-duplicate on."""

    __tablename__ = "webhook_event"
    __table_args__ = (Index(None, "tenant_id", "created_at"),)

    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # What ``data`` must not keep in the clear (the code of an email.created / sms.created event):
    # encrypted JSON, merged into ``data`` only in the request body sent.
    sealed_data: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """Sending one event to one endpoint: pending until a 2xx (delivered) or the last attempt (failed).

    A worker claims a due delivery by setting ``locked_until`` (a lease) and ``claim_token`` in one
    conditional UPDATE; only the holder of the token records the outcome. A worker that dies
    mid-attempt lets the lease run out and another worker tries again (at least once delivery).
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),  # the worker's "what is due" scan
        Index(None, "endpoint_id", "id"),  # the per-endpoint delivery log, newest first
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_event.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_response_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[WebhookEvent] = relationship()
    endpoint: Mapped[WebhookEndpoint] = relationship()
