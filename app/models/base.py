"""Declarative base: naming convention for Alembic, UTC timestamps, id helpers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Enum, ForeignKey, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real 64-bit key.
BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator):
    """Stores UTC, always hands back timezone-aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

def str_enum(enum_cls) -> Enum:
    """An enum column stored as its plain string value, so adding a member never needs ALTER TYPE."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=32,
        create_constraint=False,
        values_callable=lambda members: [m.value for m in members],
    )

def utcnow() -> datetime:
    return datetime.now(UTC)

def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TenantOwned:
    """A row one tenant owns, under a random id; it goes when its tenant does. Services read it only
    within its tenant (services.tenancy.records), so another tenant's id reads as missing."""

    # First in each table, as the migrations create them.
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id, sort_order=-2)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), sort_order=-1)


class RunVerdict:
    """What a run of an action (back-test, shadow) found for one stored action. The row goes with
    its run, and with the action when erasure or retention deletes it. ``run_table``: the run's."""

    run_table: str

    # First in each table, as the migrations create them.
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True, sort_order=-3)
    user_action_id: Mapped[int] = mapped_column(ForeignKey("user_action.id", ondelete="CASCADE"), index=True,
                                                sort_order=-1)

    @declared_attr
    def run_id(cls) -> Mapped[str]:
        return mapped_column(ForeignKey(f"{cls.run_table}.id", ondelete="CASCADE"), sort_order=-2)
