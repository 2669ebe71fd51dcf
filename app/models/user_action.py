"""One tracked action: the decision, its trace, and every state it went through."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.decision import ActionState, VerificationMethod
from app.models.base import Base, BigId, UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from app.models.action import ActionConfiguration


# The partial (tenant_id, state, created_at) index's predicate; UserAction.in_state repeats it.
_ALLOW = f"'{ActionState.ALLOW.value}'"
_NOT_ALLOW = f"state <> {_ALLOW}"


class UserAction(Base):
    __tablename__ = "user_action"
    # Each index names the queries it serves: every track writes all of them, so none stays
    # that no query reads. Optional columns are indexed only where present.
    __table_args__ = (
        # Idempotent tracks, and every lookup of one action (get action, tokens, validate).
        UniqueConstraint("tenant_id", "idempotency_key"),
        # Everything read of one user's actions, in one index (every index is a page written per
        # track): their list newest first (query_user_actions, the console's user page, activity
        # by user), velocity.user.* (signals._velocity_statement), and with device and address
        # inside it, device.isNew / lastSeenDaysAgo / count and ip.isUnrecognized
        # (signals._history_signals) scan the user's entries without reading the rows.
        Index("ix_user_action_per_user", "tenant_id", "user_id", "created_at", "device_id", "ip_address"),
        # Everything read by a state other than ALLOW (each through in_state, below): the review
        # queue, its count and SLA (reviews.queue, reviews.sla), the Overview's backlog, /metrics'
        # queue, overdue cases and per-state counts, back-tests' open reviews, activity filtered by
        # such a state or outcome. Most tracks end ALLOW and no query needs them here: activity
        # filtered by ALLOW walks (tenant_id, created_at), /metrics counts ALLOW as the rest.
        Index(None, "tenant_id", "state", "created_at", sqlite_where=text(_NOT_ALLOW),
              postgresql_where=text(_NOT_ALLOW)),
        # Activity and the actions list newest first, retention's purge, back-test windows, the
        # Overview's closed hours.
        Index(None, "tenant_id", "created_at"),
        # velocity.device.* and velocity.ip.* (signals._velocity_statement).
        Index(None, "tenant_id", "device_id", "created_at", sqlite_where=text("device_id IS NOT NULL"),
              postgresql_where=text("device_id IS NOT NULL")),
        Index(None, "tenant_id", "ip_address", "created_at", sqlite_where=text("ip_address IS NOT NULL"),
              postgresql_where=text("ip_address IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    # History outlives a deleted action configuration; the code is kept on the row itself.
    # Not indexed: only deleting a configuration looks rows up by it (ON DELETE SET NULL), and that
    # rewrites most of them anyway.
    action_configuration_id: Mapped[str | None] = mapped_column(
        ForeignKey("action_configuration.id", ondelete="SET NULL")
    )
    action_code: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(255))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    state: Mapped[ActionState] = mapped_column(str_enum(ActionState))
    # The state it was created in, and by what ("track", or "challenge" for a claimed server
    # challenge): the first entry of its history, kept on the row so a track writes no history row.
    # action_state_change holds each change after it (services.decisions.action_state.history).
    initial_state: Mapped[ActionState] = mapped_column(str_enum(ActionState))
    created_by: Mapped[str] = mapped_column(String(32), default="track")
    state_updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    is_enrolled: Mapped[bool] = mapped_column(Boolean, default=False)
    allowed_verification_methods: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_verification_method: Mapped[VerificationMethod | None] = mapped_column(str_enum(VerificationMethod))
    verification_method: Mapped[VerificationMethod | None] = mapped_column(str_enum(VerificationMethod))
    verified_by_authenticator_id: Mapped[str | None] = mapped_column(String(36))

    # What decided it (app.domain.track_decision): the action's live version then, and every input
    # as it was. None on actions tracked before versions existed: they keep their stored trace only.
    action_version_id: Mapped[str | None] = mapped_column(ForeignKey("action_version.id", ondelete="SET NULL"))
    input_snapshot: Mapped[dict | None] = mapped_column(JSON)
    rule_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    priority_rule_id: Mapped[str | None] = mapped_column(String(36))
    # The decision's trace as stored by tracks before versions (and kept, without what it observed,
    # for an erased user). Tracks since store {}: services.decisions.replay.explanation rebuilds it.
    output: Mapped[dict] = mapped_column(JSON, default=dict)

    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    device_id: Mapped[str | None] = mapped_column(String(255))
    # Where ip_address was, as located at track time (iptocc; a GeoLite2-City file when configured),
    # so later tracks can judge travel without locating old addresses again.
    country_code: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(128))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    redirect_url: Mapped[str | None] = mapped_column(Text)
    # Everything else the caller sent (custom data, scope, locale...), as received.
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    # Set when a result token is accepted by /validate: result tokens work once.
    result_validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @classmethod
    def in_state(cls, *states: ActionState) -> ColumnElement[bool]:
        """The action is in one of ``states``, said so the partial (tenant_id, state, created_at)
        index serves the filter whenever ALLOW is not among them.

        SQLite uses a partial index only when the query's WHERE holds the index's own term:
        ``state = 'REVIEW_REQUIRED'`` does not count as ``state <> 'ALLOW'``. PostgreSQL proves
        that itself, but not in a prepared statement's generic plan, where the state is a
        parameter; so the redundant term is a literal, and the SQL is the same on both.
        """
        wanted = cls.state == states[0] if len(states) == 1 else cls.state.in_(states)
        if ActionState.ALLOW in states:
            return wanted  # not in that index: (tenant_id, created_at) or the user's index serves it
        return and_(wanted, cls.state != literal_column(_ALLOW))

    action_configuration: Mapped[ActionConfiguration | None] = relationship()
    state_changes: Mapped[list[ActionStateChange]] = relationship(
        back_populates="user_action", order_by="ActionStateChange.id", cascade="all, delete-orphan", passive_deletes=True
    )


class ActionStateChange(Base):
    """Append-only history after the first state (which the action's row keeps): challenged →
    succeeded/failed, reviewed, updated by the API."""

    __tablename__ = "action_state_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_action_id: Mapped[int] = mapped_column(ForeignKey("user_action.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[ActionState | None] = mapped_column(str_enum(ActionState))
    to_state: Mapped[ActionState] = mapped_column(str_enum(ActionState))
    source: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user_action: Mapped[UserAction] = relationship(back_populates="state_changes")
