"""Claiming due outbox rows with a lease, so several workers never send the same row at once, and
the report of a pass over the rows claimed.

``FOR UPDATE SKIP LOCKED`` on PostgreSQL lets workers pass each other's rows by; everywhere, the
claim itself is a conditional UPDATE that re-checks the row is still due, and the rows a worker
holds are those carrying its claim token. A worker that dies lets its lease run out, and another
takes the row again (at least once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update

from app.extensions import db
from app.models.base import new_id


def claim(model, due: Sequence[ColumnElement[bool]], *, order_by, now: datetime, limit: int,
          lease: timedelta, token: str | None = None) -> tuple[str, list]:
    """Take up to ``limit`` rows of ``model`` matching ``due`` and not leased: (claim token, ids). Commits.

    ``model`` has ``id``, ``locked_until`` and ``claim_token`` columns. ``token``: the caller's own,
    so that it can ``release`` the claim after an error that left it unsure whether the commit
    went through."""
    due = (*due, or_(model.locked_until.is_(None), model.locked_until <= now))
    candidates = select(model.id).where(*due).order_by(order_by).limit(limit)
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(db.session.execute(candidates).scalars())
    token = token or new_id()
    if ids:
        # Re-checked inside the UPDATE: on SQLite another worker may have claimed since the SELECT.
        db.session.execute(
            update(model).where(model.id.in_(ids), *due)
            .values(locked_until=now + lease, claim_token=token)
            .execution_options(synchronize_session=False)
        )
        ids = list(db.session.execute(select(model.id).where(model.claim_token == token).order_by(model.id)).scalars())
    db.session.commit()
    return token, ids


def release(model, token: str) -> None:
    """Give back every row still claimed with ``token``, unsent, to be due again at once. Commits."""
    db.session.execute(update(model).where(model.claim_token == token).values(locked_until=None, claim_token=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()


@dataclass
class SendReport:
    """What a pass over claimed rows (webhook deliveries, messages) came to: each row went out, is
    left for a retry, or failed for good."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed

    def count(self, *, sent: bool, failed: bool) -> None:
        if sent:
            self.sent += 1
        elif failed:
            self.failed += 1
        else:
            self.retrying += 1
