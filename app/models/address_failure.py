"""Refused credentials, by client address: what the per-address failure limits count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, UTCDateTime, utcnow


class AddressFailure(Base):
    """A failed console sign-in or an invalid API key, by client address (services.limits.address_failures).

    Too many of one kind from one address within that kind's window stop the address's further
    attempts: password spraying across accounts (before argon2's cost is spent on it) and floods
    of guessed keys. Each kind is read as a range of its own: by address for the limit, by time for
    the metrics and the purge."""

    __tablename__ = "address_failure"
    __table_args__ = (Index(None, "kind", "client_ip", "failed_at"), Index(None, "kind", "failed_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # sign_in | api_key
    client_ip: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
