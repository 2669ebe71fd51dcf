"""Custom data points (typed names for the integrator's ``custom`` values) and custom lists.

A data point says what ``custom.<name>`` (action) or ``user.custom.<name>`` (user) holds, so the
rule builder offers fitting operators and tracking can report values of the wrong type. A list is
a named set of strings, numbers or CIDRs that rules read as ``lists.<name>``; its items live in one
JSON column so a track loads every list it needs in one query.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TenantOwned, UTCDateTime, utcnow


class CustomDataPoint(TenantOwned, Base):
    __tablename__ = "custom_data_point"
    # custom.country and user.custom.country are different fields, so the name is unique per model.
    __table_args__ = (UniqueConstraint("tenant_id", "model_type", "name"),)

    name: Mapped[str] = mapped_column(String(64))
    data_type: Mapped[str] = mapped_column(String(16))  # text | number | boolean | multiselect
    model_type: Mapped[str] = mapped_column(String(16))  # action | user
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def path(self) -> str:
        return f"user.custom.{self.name}" if self.model_type == "user" else f"custom.{self.name}"


class CustomList(TenantOwned, Base):
    __tablename__ = "custom_list"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # strings | numbers | cidrs
    description: Mapped[str] = mapped_column(String(500), default="")
    items: Mapped[list] = mapped_column(JSON, default=list)
    item_count: Mapped[int] = mapped_column(Integer, default=0)  # listing pages need no items
    # Bumped whenever the items change: a cache of derived data (parsed CIDRs) can key on it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomListVersion(Base):
    """A list's items as of one version, kept for ever (app.models.list_history writes one whenever
    the items change): a stored decision names the versions it read, so a later edit of the list
    cannot change what it replays to."""

    __tablename__ = "custom_list_version"

    # No foreign key to the list: its history outlives it, as the decisions that read it do.
    list_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    items: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
