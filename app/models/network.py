"""Network lists: named sets of CIDRs (Tor exits, VPN and hosting ranges...) that rules match an IP against.

Operator-managed reference data, shared by every tenant like the country table: imported from a
text file (``flask ip-lists import NAME FILE``). ``version`` moves on every change, so a process
may keep a list's compiled ranges for as long as the version it compiled is current.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, BigId, UTCDateTime, new_id, utcnow


class NetworkList(Base):
    __tablename__ = "network_list"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    # Counts towards ip.isAnonymous (an office range, say, is a list but not anonymous).
    is_anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list[NetworkListEntry]] = relationship(
        back_populates="network_list", cascade="all, delete-orphan", passive_deletes=True
    )


class NetworkListEntry(Base):
    __tablename__ = "network_list_entry"
    __table_args__ = (UniqueConstraint("network_list_id", "cidr"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    network_list_id: Mapped[str] = mapped_column(ForeignKey("network_list.id", ondelete="CASCADE"))
    cidr: Mapped[str] = mapped_column(String(43))  # normalised, e.g. 2001:db8::/32

    network_list: Mapped[NetworkList] = relationship(back_populates="entries")
