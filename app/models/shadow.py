"""Shadow rule sets: a candidate (the draft, or the live rules plus one draft rule) evaluated on
every track of its action after the live decision, and what it would have decided.

A shadow never changes a response, a state or a webhook: track decides by the live version as
ever, then decides the same inputs by the shadow and stores the verdict beside the action
(:class:`ShadowDecision`). One shadow at a time runs per action; starting, stopping and promoting
one change the tenant's configuration stamp, so every worker sees it on its next track.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, RunVerdict, TenantOwned, UTCDateTime, utcnow


class ShadowRun(TenantOwned, Base):
    __tablename__ = "shadow_run"
    __table_args__ = (
        Index(None, "action_configuration_id", "started_at"),  # an action's shadows, newest first
        # One running shadow per action, under any concurrency.
        Index("uq_shadow_run_active", "action_configuration_id", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    )

    action_configuration_id: Mapped[str] = mapped_column(ForeignKey("action_configuration.id", ondelete="CASCADE"))
    action_code: Mapped[str] = mapped_column(String(64))
    # "draft": the whole draft as it was when the shadow started; "rule": the live rules with one
    # rule of the draft added or changed (rule_id, rule_name).
    kind: Mapped[str] = mapped_column(String(8))
    rule_id: Mapped[str | None] = mapped_column(String(36))
    rule_name: Mapped[str | None] = mapped_column(String(200))
    base_number: Mapped[int] = mapped_column(Integer)  # the live version it shadows
    candidate_document: Mapped[dict] = mapped_column(JSON)
    candidate_digest: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | stopped | promoted
    started_by: Mapped[str] = mapped_column(String(320))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_by: Mapped[str | None] = mapped_column(String(320))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    promoted_number: Mapped[int | None] = mapped_column(Integer)  # the version promoting it published


class ShadowDecision(RunVerdict, Base):
    """What the shadow decided for one track, beside what the live version decided."""

    run_table = "shadow_run"
    __tablename__ = "shadow_decision"
    __table_args__ = (Index(None, "run_id", "id"),)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    live_state: Mapped[str] = mapped_column(String(32))
    shadow_state: Mapped[str] = mapped_column(String(32))
    live_rule_id: Mapped[str | None] = mapped_column(String(36))
    shadow_rule_id: Mapped[str | None] = mapped_column(String(36))
    matched_rule_ids: Mapped[list] = mapped_column(JSON)  # the shadow's, for per-rule counts
