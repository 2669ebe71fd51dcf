"""Running a back-test: stream the window's stored actions, replay each by the version that decided
it and by the candidate, and checkpoint the tally batch by batch.

Rows stream, never a window in memory: a server-side cursor on PostgreSQL (from the read replica
when ``TOLLGATE_REPLICA_DATABASE_URL`` is set, so months of history never slow live tracks), and
short keyset batches on SQLite (a long read would pin the WAL). Each batch's changed actions, the
tally so far and the keyset position are written in one transaction under the worker's lease, so a
run resumed after a crash counts nothing twice; the same transaction sees a cancel request.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, create_engine, func, or_, select, update
from sqlalchemy.engine import Row

from app.config import Settings
from app.domain.backtest import BacktestTally, Verdict
from app.domain.track_decision import RuleSetVersion, decide_tracks, list_refs
from app.extensions import db
from app.models import BacktestChange, BacktestRun, UserAction
from app.models.base import utcnow
from app.services.decisions.backtests import CANCELLED, DONE, FAILED, QUEUED, RUNNING
from app.services.decisions.replay import SNAPSHOT_COLUMNS, list_items, stored_snapshot
from app.services.delivery.leases import claim
from app.services.rulesets.drafts import draft_rule_set
from app.services.tenancy.tenant_config import current_config

log = logging.getLogger("tollgate.backtests")
BATCH = 2000
LEASE = timedelta(minutes=2)  # renewed at every checkpoint; a batch takes well under a second

_ROWS = (
    select(UserAction.id, UserAction.created_at, UserAction.action_version_id, *SNAPSHOT_COLUMNS,
           UserAction.rule_ids, UserAction.priority_rule_id,
           # The state the track decided (later ones are challenges and reviews).
           UserAction.initial_state)
)
_replica_engines: dict[str, Engine] = {}


def claim_backtest(*, now: datetime, run_id: str | None = None) -> tuple[str, str] | None:
    """Take a queued run (or one whose worker's lease ran out): (run id, claim token). Commits."""
    due = [BacktestRun.status.in_((QUEUED, RUNNING))]
    if run_id is not None:
        due.append(BacktestRun.id == run_id)
    token, ids = claim(BacktestRun, due, order_by=BacktestRun.created_at, now=now, limit=1, lease=LEASE)
    return (ids[0], token) if ids else None


def run_due(settings: Settings, *, batch: int = BATCH, clock: Callable[[], datetime] = utcnow,
            stop: threading.Event | None = None) -> str | None:
    """Claim one due run and run it to its end; the run's final status, or None when none was due."""
    claimed = claim_backtest(now=clock())
    if claimed is None:
        return None
    return run_claimed(*claimed, settings=settings, batch=batch, clock=clock, stop=stop)


def run_claimed(run_id: str, token: str, *, settings: Settings, batch: int = BATCH,
                clock: Callable[[], datetime] = utcnow, stop: threading.Event | None = None) -> str:
    """Run a claimed back-test from its checkpoint; returns its final status, or ``running`` when
    it stopped before the end (``stop`` set, or its lease lost): another worker goes on with it."""
    try:
        return _Run(run_id, token, settings=settings, batch=batch, clock=clock, stop=stop).go()
    except Exception as exc:  # a bug or a database error: the run says so instead of staying "running"
        db.session.rollback()
        log.exception("back-test %s failed", run_id)
        db.session.execute(update(BacktestRun).where(BacktestRun.id == run_id, BacktestRun.claim_token == token)
                           .values(status=FAILED, error=_short(exc), finished_at=clock(), locked_until=None))
        db.session.commit()
        return FAILED


class _Run:
    def __init__(self, run_id: str, token: str, *, settings: Settings, batch: int, clock: Callable[[], datetime],
                 stop: threading.Event | None):
        self.token, self.batch, self.clock, self.stop = token, batch, clock, stop
        self.run = db.session.get(BacktestRun, run_id)
        self.reader = _reader_engine(settings)
        self.config = current_config(self.run.tenant_id)
        self.candidate = draft_rule_set(self.run.candidate_document)
        self.versions: dict[str, RuleSetVersion | None] = {}
        self.lists: dict[tuple[str, int], list[Any]] = {}
        self.tally = BacktestTally.from_document(self.run.tally)

    def go(self) -> str:
        table = BacktestRun.__table__
        started = db.session.execute(  # not if it was cancelled since it was claimed
            update(table).where(table.c.id == self.run.id, table.c.claim_token == self.token,
                                table.c.status.in_((QUEUED, RUNNING)))
            .values(status=RUNNING)
        ).rowcount
        db.session.commit()
        db.session.refresh(self.run)
        if not started:
            return self.run.status
        if self.run.started_at is None:
            self.run.started_at = self.clock()
            self.run.rows_total = self._count()
            db.session.commit()
        batches = self._batches()
        try:
            with _heap_frozen():
                for rows in batches:
                    ended = self._checkpoint(rows)
                    if ended is not None:
                        return ended
        finally:
            batches.close()  # ends a server-side cursor left open by a cancel
        return self._finish(DONE)

    def _where(self) -> list:
        run = self.run
        where = [UserAction.tenant_id == run.tenant_id, UserAction.action_configuration_id == run.action_configuration_id,
                 UserAction.created_at < run.window_end]
        if run.after_id is None:
            where.append(UserAction.created_at >= run.window_start)
        else:
            # The checkpoint, not the window's start, bounds the index range: with the start there,
            # each batch would walk the index again from the start (quadratic in the window).
            where += [UserAction.created_at >= run.after_created_at,
                      or_(UserAction.created_at > run.after_created_at,
                          and_(UserAction.created_at == run.after_created_at, UserAction.id > run.after_id))]
        return where

    def _count(self) -> int:
        with self.reader.connect() as connection:
            return connection.execute(select(func.count()).select_from(UserAction).where(*self._where())).scalar_one()

    def _batches(self) -> Iterator[Sequence[Row]]:
        if self.reader.dialect.name == "postgresql":
            with self.reader.connect() as connection:
                result = connection.execution_options(stream_results=True, max_row_buffer=self.batch).execute(
                    self._ordered())
                try:
                    yield from result.partitions(self.batch)
                finally:
                    result.close()  # the server-side cursor, before its connection goes back to the pool
            return
        while True:  # SQLite: each batch its own short read, from the checkpoint the last one wrote
            with self.reader.connect() as connection:
                rows = connection.execute(self._ordered().limit(self.batch)).all()
            if not rows:
                return
            yield rows

    def _ordered(self):
        return _ROWS.where(*self._where()).order_by(UserAction.created_at, UserAction.id)

    def _checkpoint(self, rows: Sequence[Row]) -> str | None:
        """Replay a batch and write what it found; the status to stop with, or None to go on."""
        changes, skipped = self._replay(rows)
        last = rows[-1]
        now = self.clock()
        table = BacktestRun.__table__
        held = db.session.execute(
            update(table).where(table.c.id == self.run.id, table.c.claim_token == self.token)
            .values(rows_done=table.c.rows_done + len(rows), skipped=table.c.skipped + skipped,
                    after_created_at=last.created_at, after_id=last.id, tally=self.tally.to_document(),
                    locked_until=now + LEASE)
        ).rowcount
        if not held:  # the lease ran out and another worker took the run: it goes on from the last checkpoint
            db.session.rollback()
            return RUNNING
        if changes:
            db.session.execute(BacktestChange.__table__.insert(), changes)
        db.session.commit()
        db.session.refresh(self.run)
        if self.run.cancel_requested_at is not None:
            return self._finish(CANCELLED)
        if self.stop is not None and self.stop.is_set():  # the worker is stopping: hand the run back
            db.session.execute(update(table).where(table.c.id == self.run.id, table.c.claim_token == self.token)
                               .values(locked_until=None))
            db.session.commit()
            return RUNNING
        return None

    def _replay(self, rows: Sequence[Row]) -> tuple[list[dict[str, Any]], int]:
        self._load_lists(rows)
        changes, skipped = [], 0
        for row in rows:
            version = self._version(row.action_version_id) if row.action_version_id else None
            if version is None or row.input_snapshot is None:
                skipped += 1  # tracked before versions, or its user erased: nothing to replay
                continue
            snapshot = stored_snapshot(row, self.lists)
            stored = Verdict(row.initial_state.value, tuple(row.rule_ids), row.priority_rule_id)
            reproduced, candidate = map(Verdict.of, decide_tracks((version, self.candidate), snapshot, explain=False))
            if self.tally.add(row.id, stored, reproduced, candidate):
                changes.append({"run_id": self.run.id, "user_action_id": row.id, "action_created_at": row.created_at,
                                "stored_state": stored.state, "candidate_state": candidate.state,
                                "stored_rule_id": stored.deciding_rule_id,
                                "candidate_rule_id": candidate.deciding_rule_id})
        return changes, skipped

    def _version(self, version_id: str) -> RuleSetVersion | None:
        if version_id not in self.versions:  # the config's own cache lives per stamp; a run outlives stamps
            self.versions[version_id] = self.config.version(version_id)
        return self.versions[version_id]

    def _load_lists(self, rows: Sequence[Row]) -> None:
        wanted = set().union(*(list_refs(row.input_snapshot) for row in rows if row.input_snapshot))
        self.lists.update(list_items(wanted - self.lists.keys()))

    def _finish(self, status: str) -> str:
        table = BacktestRun.__table__
        db.session.execute(update(table).where(table.c.id == self.run.id, table.c.claim_token == self.token)
                           .values(status=status, finished_at=self.clock(), locked_until=None))
        db.session.commit()
        db.session.refresh(self.run)  # the session keeps objects past a commit (expire_on_commit is off)
        return status


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """A run makes millions of short-lived objects, and every full collection they trigger would
    walk the whole application's heap again (an eighth of a run's time): the heap as it stands
    sits out the run, and goes back to the collector after it."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _reader_engine(settings: Settings) -> Engine:
    """Where back-tests read stored actions: the replica when there is one, else the database."""
    url = settings.replica_database_url
    if url is None:
        return db.engine
    if url not in _replica_engines:
        _replica_engines[url] = create_engine(url, pool_pre_ping=True)
    return _replica_engines[url]


def _short(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 500 else text[:497] + "..."
