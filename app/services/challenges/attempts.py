"""The per-user budget of wrong codes: MAX_FAILED_ATTEMPTS within ATTEMPT_WINDOW, over all code methods.

A code takes a slot *before* it is checked, and the slot counts as a failure unless the code turns
out right. Taking the slot and counting the window happen under a lock on the user held to the
caller's commit, so requests racing on other workers or instances take slots one at a time: no
more than the limit are ever checked, however many arrive together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select

from app.domain.decision import ActionState, VerificationMethod
from app.extensions import db
from app.models import EndUser, VerificationAttempt
from app.models.prepared import PreparedStatement
from app.services.challenges.sessions import ClientSession
from app.services.decisions.action_state import change_action_state, refresh_state
from app.services.limits.slots import take_prepared_place

ATTEMPT_WINDOW = timedelta(minutes=5)
MAX_FAILED_ATTEMPTS = 10

# Every code's check runs these inside its write section (on SQLite the database's one write
# lock, held to the commit): prepared, with no ORM flush.
_attempts = VerificationAttempt.__table__
_LOCK_USER = PreparedStatement(select(EndUser.id).where(EndUser.id == bindparam("end_user_id")).with_for_update())
_INSERT_ATTEMPT = PreparedStatement(_attempts.insert().returning(_attempts.c.id))
_IN_WINDOW = PreparedStatement(select(func.count()).select_from(_attempts).where(
    _attempts.c.end_user_id == bindparam("end_user_id"), _attempts.c.attempted_at > bindparam("since")))
_DELETE_ATTEMPT = PreparedStatement(_attempts.delete().where(_attempts.c.id == bindparam("attempt_id")))


@dataclass(frozen=True)
class AttemptSlot:
    """A place in the user's budget, held for one code; ``number`` counts it among the window's failures."""

    attempt_id: int
    number: int


def take_attempt_slot(session: ClientSession, method: VerificationMethod, *, now: datetime) -> AttemptSlot | None:
    """The slot for the code about to be checked, or None (nothing taken, nothing to check) when the
    budget is spent. The caller settles it with release_slot or fail_slot in the same transaction."""
    connection = db.session.connection()
    user_pk = session.user.id
    insert = _INSERT_ATTEMPT.bind(connection, {"end_user_id": user_pk, "verification_method": method.value,
                                               "attempted_at": now})
    window = _IN_WINDOW.bind(connection, {"end_user_id": user_pk, "since": now - ATTEMPT_WINDOW})
    # The takers' lock (limits.slots) is the user row's rather than an advisory one: the row is
    # there, and the action below is read under it too. SQLite has no row locks (the statement would
    # be a round trip for nothing): the INSERT takes the database's write lock before the count.
    if connection.dialect.name != "sqlite":
        _LOCK_USER.rows(connection, {"end_user_id": user_pk})
    taken = take_prepared_place(insert, window, limit=MAX_FAILED_ATTEMPTS)
    if taken is None:
        return None
    # The action as the request that held the lock before left it (passed, or failed by the last
    # slot), not as this request read it before waiting: a stale CHALLENGE_REQUIRED would let a
    # wrong code fail a challenge that was just passed.
    refresh_state(session.action)
    attempt_id, number = taken
    return AttemptSlot(attempt_id=attempt_id, number=number)


def release_slot(slot: AttemptSlot) -> None:
    """The code was right: its slot was no failure. The caller commits."""
    _DELETE_ATTEMPT.rows(db.session.connection(), {"attempt_id": slot.attempt_id})


def fail_slot(session: ClientSession, slot: AttemptSlot, *, now: datetime) -> bool:
    """The code was wrong: the slot stays a failure, and the last one fails a pending challenge.
    Commits. True when the user is now locked out."""
    locked = slot.number >= MAX_FAILED_ATTEMPTS
    if locked and session.action.state is ActionState.CHALLENGE_REQUIRED:
        change_action_state(session.action, ActionState.CHALLENGE_FAILED, source="challenge", now=now)
    db.session.commit()
    return locked
