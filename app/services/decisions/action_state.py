"""The state an action is in, and every move from one state to another.

Challenges (a passed or failed proof), reviews (a reviewer's decision) and the server API all move
actions through :func:`change_action_state`, so each move records its step and emits its webhook the
same way. The first state is the row's own (``initial_state``, set by whoever creates the action);
:func:`history` reads it as the first step. This module imports neither tracking nor reviews: both
build on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from app.domain.decision import ActionState, VerificationMethod
from app.domain.errors import NotFound
from app.extensions import db
from app.models import ActionStateChange, UserAction
from app.models.prepared import PreparedStatement
from app.services.delivery.events import emit_state_change

QUERY_WINDOW = timedelta(days=30)

# A move is a verification's last write, inside its write section (on SQLite the database's one
# write lock, held to the commit): prepared statements, not the ORM's unit of work at commit.
_actions = UserAction.__table__


def _update_of(*columns: str) -> PreparedStatement:
    """One action's UPDATE of these columns, each bound by its own name."""
    return PreparedStatement(_actions.update().where(_actions.c.id == bindparam("action_pk"))
                             .values({name: bindparam(name) for name in columns}))


_MOVED = ("state", "state_updated_at", "updated_at")
_MOVE = _update_of(*_MOVED)
_MOVE_VERIFIED = _update_of(*_MOVED, "verification_method", "verified_by_authenticator_id")
_INSERT_CHANGE = PreparedStatement(ActionStateChange.__table__.insert().inline())
# What another request's move or validation changes on the row.
_MOVING = (*_MOVED, "verification_method", "verified_by_authenticator_id", "result_validated_at")
_READ_MOVING = PreparedStatement(select(*(_actions.c[name] for name in _MOVING)).where(
    _actions.c.id == bindparam("action_pk")))


@dataclass(frozen=True)
class StateStep:
    from_state: ActionState | None
    to_state: ActionState
    source: str
    changed_at: datetime


def history(action: UserAction) -> list[StateStep]:
    """Every state the action went through, oldest first: the one it was created in, then each change."""
    first = StateStep(None, action.initial_state, action.created_by, action.created_at)
    return [first, *(StateStep(c.from_state, c.to_state, c.source, c.changed_at) for c in action.state_changes)]


def find_by_idempotency_key(tenant_id: str, idempotency_key: str) -> UserAction | None:
    return db.session.execute(
        select(UserAction).where(UserAction.tenant_id == tenant_id, UserAction.idempotency_key == idempotency_key)
    ).scalar_one_or_none()


def get_action(tenant_id: str, user_id: str, action_code: str, idempotency_key: str) -> UserAction:
    action = find_by_idempotency_key(tenant_id, idempotency_key)
    if action is None or action.user_id != user_id or action.action_code != action_code:
        raise NotFound("The action was not found.", code="action_not_found")
    return action


def change_action_state(action: UserAction, new_state: ActionState, *, source: str, now: datetime) -> None:
    """Move an action to a new state and record the step; the caller commits."""
    if action.state == new_state:
        return
    _move(action, new_state, _MOVE, {}, source=source, now=now)


def pass_challenge(action: UserAction, *, verification_method: VerificationMethod, authenticator_id: str | None,
                   now: datetime) -> None:
    """Move an action to CHALLENGE_SUCCEEDED with how it was passed, in one UPDATE; the caller commits."""
    _move(action, ActionState.CHALLENGE_SUCCEEDED, _MOVE_VERIFIED,
          {"verification_method": verification_method, "verified_by_authenticator_id": authenticator_id},
          source="challenge", now=now)


def refresh_state(action: UserAction) -> None:
    """Read the action's state (and what moves with it) again, as a request that held the lock
    before left it: one prepared SELECT of those columns, where ``Session.refresh`` reloads the row."""
    row = _READ_MOVING.one_or_none(db.session.connection(), {"action_pk": action.id})
    if row is None:
        raise NotFound("The action was not found.", code="action_not_found")
    for name, value in zip(_MOVING, row, strict=True):
        set_committed_value(action, name, value)


def _move(action: UserAction, new_state: ActionState, statement: PreparedStatement, recorded: dict[str, Any], *,
          source: str, now: datetime) -> None:
    emit_state_change(action, new_state, source=source, now=now)  # webhooks (before action.state moves on)
    if action.id is None:  # created in this transaction (a claimed server challenge): its row goes first
        db.session.flush()
    columns = {"state": new_state, "state_updated_at": now, "updated_at": now, **recorded}
    connection = db.session.connection()
    move = statement.bind(connection, {"action_pk": action.id, **columns})
    # The step is not appended to action.state_changes: that would load the history first.
    step = _INSERT_CHANGE.bind(connection, {"user_action_id": action.id, "from_state": action.state,
                                            "to_state": new_state, "source": source, "changed_at": now})
    move.rows()
    step.rows()
    for name, value in columns.items():  # the object says what the row now holds, with nothing left to flush
        set_committed_value(action, name, value)


def query_user_actions(
    tenant_id: str,
    user_id: str,
    *,
    from_date: datetime | None,
    codes: list[str] | None,
    state: ActionState | None,
    now: datetime,
    limit: int = 1000,
) -> list[UserAction]:
    """Newest first, never older than 30 days (as Authsignal's query endpoint)."""
    earliest = now - QUERY_WINDOW
    since = max(from_date, earliest) if from_date else earliest
    query = select(UserAction).where(
        UserAction.tenant_id == tenant_id, UserAction.user_id == user_id, UserAction.created_at >= since
    )
    if codes:
        query = query.where(UserAction.action_code.in_(codes))
    if state:
        query = query.where(UserAction.state == state)
    return list(db.session.execute(query.order_by(UserAction.created_at.desc()).limit(limit)).scalars())
