"""Remembered devices: a browser an end user chose to trust after a passed challenge.

The browser holds a random token in a cookie of Tollgate's origin (app.domain.trusted_devices); the
row keeps only its keyed digest, bound to the tenant and the user. ``device_id`` is the track
request's ``deviceId`` of the challenge that was passed: what a later track is matched against.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TenantOwned, UTCDateTime, utcnow


class TrustedDevice(TenantOwned, Base):
    __tablename__ = "trusted_device"
    __table_args__ = (
        # Track's device.isTrusted (this user, this device id), and the user's list in the console and API.
        Index(None, "end_user_id", "device_id"),
    )

    end_user_id: Mapped[int] = mapped_column(ForeignKey("end_user.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(String(255))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(120))  # a summary ("Chrome on macOS"), not the header
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
