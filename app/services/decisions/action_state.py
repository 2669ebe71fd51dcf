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

from sqlalchemy import select

from app.domain.decision import ActionState
from app.domain.errors import NotFound
from app.extensions import db
from app.models import ActionStateChange, UserAction
from app.services.delivery.events import emit_state_change

QUERY_WINDOW = timedelta(days=30)


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
    emit_state_change(action, new_state, source=source, now=now)  # webhooks (before action.state moves on)
    # Added from the change's side: appending to action.state_changes would first load the history.
    db.session.add(ActionStateChange(user_action=action, from_state=action.state, to_state=new_state, source=source,
                                     changed_at=now))
    action.state = new_state
    action.state_updated_at = now
    action.updated_at = now


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
