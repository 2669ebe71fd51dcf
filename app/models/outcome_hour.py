"""A closed hour of one tenant's tracked actions, counted once for the console's Overview."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, UTCDateTime, utcnow


class OutcomeHour(Base):
    """One row per (tenant, hour), written once the hour has ended: the row is both the mark that the
    hour is counted (an hour without actions has one too, so it is never counted again) and its
    counts, ``{action code: {"outcomes": {...}, "rules": {...}, "methods": {...}}}``
    (services.console.outcome_hours). The unique key lets two instances race to write the same hour:
    one insert wins, the other does nothing."""

    __tablename__ = "outcome_hour"
    __table_args__ = (UniqueConstraint("tenant_id", "hour"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    hour: Mapped[datetime] = mapped_column(UTCDateTime)  # its start, UTC
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
