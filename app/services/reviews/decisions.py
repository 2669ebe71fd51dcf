"""Ending a review: a reviewer's decision, an admin's bulk decision, the server API's update_action.

Every path that ends a review (these, and the SLA job in ``sla``) goes through :func:`decide_locked`,
which first runs a conditional ``UPDATE user_action ... WHERE state = 'REVIEW_REQUIRED'``. On
PostgreSQL that UPDATE takes the row lock and re-checks the state once a concurrent decider commits;
on SQLite it takes the database's write lock, and its WHERE reads the committed state. Either way
exactly one decider sees a row count of 1; the others get ``Conflict`` (``review_already_decided``,
409 on the API). Times are passed in (``now``); each use case commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, update

from app.domain.decision import ActionState
from app.domain.errors import Conflict, Forbidden, InvalidRequest
from app.domain.review_reasons import ReasonCode
from app.extensions import db
from app.models import (
    ConsoleUser,
    ReviewClaim,
    ReviewDecision,
    UserAction,
)
from app.services.decisions.action_state import change_action_state, get_action
from app.services.delivery.events import emit_review_decided
from app.services.reviews.cases import REVIEW_OUTCOME_STATES, claim_holder, load_case_action, require_open
from app.services.reviews.reasons import find_reason
from app.services.tenancy.audit import record_change

BULK_LIMIT = 500
MAX_REASON_LENGTH = 2000
DECISIONS = {"approve": ActionState.REVIEW_SUCCEEDED, "reject": ActionState.REVIEW_FAILED}
REVIEW_STATES = REVIEW_OUTCOME_STATES | {ActionState.REVIEW_REQUIRED}
API_REASON = "Set through the server API (update_action)."


@dataclass(frozen=True)
class Decided:
    action: UserAction
    decision: ReviewDecision


def parse_decision(value: str | None) -> ActionState:
    try:
        return DECISIONS[(value or "").strip().lower()]
    except KeyError:
        raise InvalidRequest("Choose approve or reject.", code="invalid_decision") from None


def validate_reason(reason: str | None, code: ReasonCode | None = None) -> str:
    """A decision's reason: what was written, or, with nothing written, the label of the code picked."""
    reason = (reason or "").strip()
    if not reason and code is None:
        raise InvalidRequest("Give a reason for the decision.", code="reason_required")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidRequest(f"A reason is at most {MAX_REASON_LENGTH} characters.", code="reason_too_long")
    return reason or code.label


def decide_case(
    actor: ConsoleUser, action_id: int, outcome: ActionState, reason: str, *, now: datetime,
    reason_code: str | None = None,
) -> Decided:
    """A reviewer's (or admin's) decision on one case, with a reason written, a reason code picked
    from the tenant's list, or both. A case someone else holds is theirs to decide."""
    code = find_reason(actor.tenant_id, reason_code)
    reason = validate_reason(reason, code)
    if outcome not in REVIEW_OUTCOME_STATES:
        raise InvalidRequest("Choose approve or reject.", code="invalid_decision")
    action = load_case_action(actor.tenant_id, action_id)
    require_open(action)
    holder = claim_holder(action.id, viewer_id=actor.id, now=now)
    if holder is not None and not holder.is_mine:
        raise Conflict(f"This case is claimed by {holder.holder_email}; only they can decide it now.",
                       code="review_claimed")
    decision = _decide_or_conflict(action, outcome, reason, actor=actor, source="console", now=now, code=code)
    db.session.commit()
    return Decided(action=action, decision=decision)


def decide_from_api(action: UserAction, new_state: ActionState, *, now: datetime) -> UserAction:
    """The server API's update_action to a review outcome on a case in review (or already decided)."""
    if new_state not in REVIEW_OUTCOME_STATES:
        raise InvalidRequest("Only REVIEW_SUCCEEDED or REVIEW_FAILED decide a review.", code="invalid_decision")
    require_open(action)
    _decide_or_conflict(action, new_state, API_REASON, actor=None, source="api", now=now)
    db.session.commit()
    return action


def update_action_state(
    tenant_id: str, user_id: str, action_code: str, idempotency_key: str, new_state: ActionState, *, now: datetime
) -> UserAction:
    """The server API's update_action: integrators may set any state (Authsignal does too).

    A review outcome on a case in review is a review decision (exactly one wins, a second is a
    409 review_already_decided); any other is a plain state change.
    """
    action = get_action(tenant_id, user_id, action_code, idempotency_key)
    if new_state in REVIEW_OUTCOME_STATES and action.state in REVIEW_STATES:
        return decide_from_api(action, new_state, now=now)
    change_action_state(action, new_state, source="api", now=now)
    db.session.commit()
    return action


@dataclass(frozen=True)
class BulkResult:
    decided: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # action id → why


def bulk_decide(
    actor: ConsoleUser, action_ids: list[int], outcome: ActionState, reason: str, *, now: datetime,
    reason_code: str | None = None,
) -> BulkResult:
    """An admin decides many cases with one reason (and reason code). Cases already decided, not
    found, or held by another reviewer are skipped (and reported), never overridden."""
    if not actor.is_admin:
        raise Forbidden("Only admins can decide cases in bulk.", code="admin_only")
    code = find_reason(actor.tenant_id, reason_code)
    reason = validate_reason(reason, code)
    if outcome not in REVIEW_OUTCOME_STATES:
        raise InvalidRequest("Choose approve or reject.", code="invalid_decision")
    ids = list(dict.fromkeys(action_ids))
    if not ids:
        raise InvalidRequest("Select at least one case.", code="nothing_selected")
    if len(ids) > BULK_LIMIT:
        raise InvalidRequest(f"At most {BULK_LIMIT} cases at once.", code="too_many_selected")
    actions = {a.id: a for a in db.session.execute(
        select(UserAction).where(UserAction.tenant_id == actor.tenant_id, UserAction.id.in_(ids))
    ).scalars()}
    held = dict(db.session.execute(
        select(ReviewClaim.user_action_id, ReviewClaim.console_user_id)
        .where(ReviewClaim.user_action_id.in_(ids), ReviewClaim.is_held(now), ReviewClaim.console_user_id != actor.id)
    ).all())
    result = BulkResult()
    for action_id in ids:
        action = actions.get(action_id)
        if action is None:
            result.skipped[action_id] = "not found"
        elif action.state is not ActionState.REVIEW_REQUIRED:
            result.skipped[action_id] = f"already {action.state.value}"
        elif action_id in held:
            result.skipped[action_id] = "claimed by another reviewer"
        elif decide_locked(action, outcome, reason, actor=actor, source="bulk", now=now, code=code) is None:
            result.skipped[action_id] = "decided by someone else meanwhile"
        else:
            result.decided.append(action_id)
    db.session.commit()
    return result


def _decide_or_conflict(
    action: UserAction, outcome: ActionState, reason: str, *, actor: ConsoleUser | None, source: str, now: datetime,
    code: ReasonCode | None = None,
) -> ReviewDecision:
    decision = decide_locked(action, outcome, reason, actor=actor, source=source, now=now, code=code)
    if decision is None:
        db.session.rollback()
        raise Conflict("This case was already decided.", code="review_already_decided")
    return decision


def decide_locked(
    action: UserAction, outcome: ActionState, reason: str, *, actor: ConsoleUser | None, source: str, now: datetime,
    code: ReasonCode | None = None,
) -> ReviewDecision | None:
    """Decide if the case is still open in the database (None when a concurrent decider won); no commit."""
    won = db.session.execute(
        update(UserAction)
        .where(UserAction.id == action.id, UserAction.state == ActionState.REVIEW_REQUIRED)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not won:
        return None
    before = action.state
    # The state-change source reads as the path that decided: api, sla, or review (console and bulk).
    change_action_state(action, outcome, source=source if source in ("api", "sla") else "review", now=now)
    decision = ReviewDecision(
        tenant_id=action.tenant_id, user_action_id=action.id, user_id=action.user_id, action_code=action.action_code,
        outcome=outcome, reason=reason, source=source, decided_by_id=actor.id if actor else None,
        decided_by=actor.email if actor else source, decided_at=now,
        reason_code=code.code if code else None, reason_label=code.label if code else None,
    )
    db.session.add(decision)
    emit_review_decided(action, previous_state=before, decided_by=decision.decided_by, reason=reason, source=source,
                        reason_code=code, now=now)
    db.session.execute(delete(ReviewClaim).where(ReviewClaim.user_action_id == action.id))
    event = "review.approved" if outcome is ActionState.REVIEW_SUCCEEDED else "review.rejected"
    after = {"state": outcome.value, "reason": reason, "source": source}
    if code is not None:
        after["reasonCode"] = code.code
    audit = {"before": {"state": before.value}, "after": after}
    record_change(actor or source, event, str(action.id), "user_action", tenant_id=action.tenant_id, now=now, **audit)
    return decision
