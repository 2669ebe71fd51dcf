"""Back-test runs of an action's rule set over its stored actions, and the actions each one changes.

A run is a job (services.decisions.backtests): ``queued`` → ``running`` → ``done``, ``cancelled``
or ``failed``. A worker holds it with a lease (``locked_until``, ``claim_token``) and checkpoints
after each batch: the rows done, the keyset position (``after_created_at``, ``after_id``) and the
tally so far, with that batch's changed actions, in one transaction. A worker that dies lets the
lease run out; the next resumes from the checkpoint, so nothing is counted twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, RunVerdict, TenantOwned, UTCDateTime, utcnow


class BacktestRun(TenantOwned, Base):
    __tablename__ = "backtest_run"
    __table_args__ = (
        Index(None, "action_configuration_id", "created_at"),  # an action's runs, newest first
        Index(None, "status", "created_at"),  # the workers' "what is due" scan
    )

    # Runs go with their action: they describe what its drafts would do.
    action_configuration_id: Mapped[str] = mapped_column(ForeignKey("action_configuration.id", ondelete="CASCADE"))
    action_code: Mapped[str] = mapped_column(String(64))
    # What is tested: the draft as it was when the run was asked for, or a version by number.
    candidate_number: Mapped[int | None] = mapped_column(Integer)  # None: the draft
    candidate_document: Mapped[dict] = mapped_column(JSON)
    candidate_digest: Mapped[str] = mapped_column(String(32))
    window_label: Mapped[str] = mapped_column(String(40))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    purpose: Mapped[str] = mapped_column(String(16), default="manual")  # manual | impact (the publish preview) | cli
    requested_by: Mapped[str] = mapped_column(String(320))

    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | cancelled | failed
    rows_total: Mapped[int | None] = mapped_column(BigInteger)  # counted when the run starts
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped: Mapped[int] = mapped_column(BigInteger, default=0)  # actions that cannot be replayed
    after_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    after_id: Mapped[int | None] = mapped_column(BigInteger)
    tally: Mapped[dict | None] = mapped_column(JSON)  # app.domain.backtest.BacktestTally.to_document()
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BacktestChange(RunVerdict, Base):
    """One stored action whose state the run's candidate changes (the matrix's off-diagonal)."""

    run_table = "backtest_run"
    __tablename__ = "backtest_change"
    __table_args__ = (Index(None, "run_id", "user_action_id", unique=True),)

    action_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stored_state: Mapped[str] = mapped_column(String(32))
    candidate_state: Mapped[str] = mapped_column(String(32))
    stored_rule_id: Mapped[str | None] = mapped_column(String(36))
    candidate_rule_id: Mapped[str | None] = mapped_column(String(36))
