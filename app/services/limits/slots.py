"""A place within a limit over a window of rows, taken before the attempt it pays for.

Counting first and adding the row afterwards lets every request of a burst count the same rows
and pass together. Instead the row goes in first, and the window is counted with it, under a lock
held to the caller's commit: requests racing on other workers or instances take places one at a
time, each counting all the places taken before it, so no more than the limit ever pass however
many arrive together. The caller keeps the row, or deletes it when what it paid for turns out not
to count (a right code, a valid password), in the transaction it commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from app.extensions import db
from app.models.base import Base
from app.models.prepared import BoundStatement


def serialise(key: str) -> None:
    """Until this transaction ends, make any other that names ``key`` wait here: for limits with no
    row of their own to lock FOR UPDATE (a client address).

    PostgreSQL: a transaction-scoped advisory lock (should two keys hash alike, they only wait on
    each other). SQLite needs none: take_place's INSERT takes the database's write lock before it
    counts."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))


def take_place(row: Base, window: Select, *, limit: int) -> int | None:
    """Add ``row`` and count ``window`` (a count of the rows it competes with, itself included):
    its number there, or None when that is past ``limit``, rolled back so nothing is taken.

    The caller holds the lock that makes takers wait for each other (serialise, or a row locked
    FOR UPDATE) and commits."""
    db.session.add(row)
    db.session.flush()
    return _within(db.session.execute(window).scalar_one(), limit)


def take_prepared_place(insert: BoundStatement, window: BoundStatement, *, limit: int) -> tuple[Any, int] | None:
    """take_place for a hot path's prepared statements: ``insert`` returns the new row's key, and
    the answer is (that key, its number), or None when past ``limit``."""
    key = insert.scalar()
    number = _within(window.scalar(), limit)
    return None if number is None else (key, number)


def _within(number: int, limit: int) -> int | None:
    if number > limit:
        db.session.rollback()  # nothing taken
        return None
    return number
