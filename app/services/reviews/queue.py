"""The manual-review queue: list, claim, note and decide REVIEW_REQUIRED actions; apply review SLAs.

Every path that ends a review (a reviewer's decision, an admin's bulk decision, the server API's
update_action, the SLA job) goes through ``_decide_locked``, which first runs a conditional
``UPDATE user_action ... WHERE state = 'REVIEW_REQUIRED'``. On PostgreSQL that UPDATE takes the row
lock and re-checks the state once a concurrent decider commits; on SQLite it takes the database's
write lock, and its WHERE reads the committed state. Either way exactly one decider sees a row
count of 1; the others get ``Conflict`` (``review_already_decided``, 409 on the API).

A claim is a row whose primary key is the action id: two reviewers claiming at once both try to
INSERT and one of them gets the IntegrityError. An expired claim is taken over with a conditional
UPDATE (``WHERE expires_at <= now``), again with one winner.

Times are passed in (``now``); each use case commits once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app.config import Settings
from app.domain.decision import ActionState
from app.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound
from app.domain.keyset import Cursor
from app.extensions import db
from app.models import (
    ActionConfiguration,
    AuditEvent,
    Authenticator,
    ConsoleUser,
    EndUser,
    ReviewClaim,
    ReviewDecision,
    ReviewNote,
    ReviewOverdueFlag,
    Rule,
    UserAction,
)
from app.models.review import OverduePolicy
from app.services.console import activity
from app.services.decisions.action_state import change_action_state, get_action
from app.services.decisions.trace_view import as_json_text
from app.services.delivery.webhooks import emit_review_decided
from app.services.tenancy.audit import record_change

PAGE_SIZE = 50
BULK_LIMIT = 500
MAX_REASON_LENGTH = 2000
MAX_NOTE_LENGTH = 4000
KEY_VALUES_SHOWN = 3
RECENT_ACTIONS_SHOWN = 10
EARLIER_DECISIONS_SHOWN = 20
CLAIM_FILTERS = ("all", "mine", "unclaimed")
DECISIONS = {"approve": ActionState.REVIEW_SUCCEEDED, "reject": ActionState.REVIEW_FAILED}
REVIEW_OUTCOME_STATES = frozenset(DECISIONS.values())
REVIEW_STATES = REVIEW_OUTCOME_STATES | {ActionState.REVIEW_REQUIRED}
API_REASON = "Set through the server API (update_action)."


# ---------------------------------------------------------------------------------------------
# The queue


@dataclass(frozen=True)
class QueueFilters:
    action_code: str | None = None
    rule_id: str | None = None
    claim: str = "all"  # all | mine | unclaimed
    min_age_minutes: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.action_code or self.rule_id or self.claim != "all" or self.min_age_minutes)

    def as_query(self) -> dict[str, str]:
        query = {
            "action": self.action_code, "rule": self.rule_id, "claim": None if self.claim == "all" else self.claim,
            "age": str(self.min_age_minutes) if self.min_age_minutes else None,
        }
        return {name: value for name, value in query.items() if value}


@dataclass(frozen=True)
class ParsedQueueFilters:
    filters: QueueFilters
    errors: dict[str, str]
    values: dict[str, str]


def parse_queue_filters(args: Mapping[str, str]) -> ParsedQueueFilters:
    """Read the filter form (``action``, ``rule``, ``claim``, ``age`` in minutes); bad values are reported."""
    values = {name: (args.get(name) or "").strip() for name in ("action", "rule", "claim", "age")}
    errors: dict[str, str] = {}
    claim = values["claim"] or "all"
    if claim not in CLAIM_FILTERS:
        errors["claim"] = "Pick all, mine or unclaimed."
        claim = "all"
    age = None
    if values["age"]:
        try:
            age = int(values["age"])
            if not 0 <= age <= 525_600:
                raise ValueError
        except ValueError:
            errors["age"] = "Enter a whole number of minutes (0-525600)."
            age = None
    filters = QueueFilters(
        action_code=values["action"][:64] or None, rule_id=values["rule"][:36] or None, claim=claim,
        min_age_minutes=age or None,
    )
    return ParsedQueueFilters(filters=filters, errors=errors, values=values)


@dataclass(frozen=True)
class QueueRow:
    id: int
    created_at: datetime
    action_code: str
    user_id: str
    deciding_rule_name: str | None
    ip_address: str | None
    key_values: list[tuple[str, str]]
    claimed_by: str | None  # the holder's email, while the claim is live
    claimed_by_me: bool
    due_at: datetime | None
    overdue: bool


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    newer: Cursor | None  # the page after this one (toward newer cases), if any
    older: Cursor | None  # the page before this one (toward older cases), if any


def list_queue(
    tenant_id: str,
    filters: QueueFilters = QueueFilters(),
    *,
    viewer_id: str | None,
    now: datetime,
    after: Cursor | None = None,
    before: Cursor | None = None,
    limit: int | None = None,
) -> QueuePage:
    """REVIEW_REQUIRED actions, oldest first, keyset-paginated both ways.

    The (tenant_id, state, created_at) index serves the order and the age filter; the id breaks
    ties (it is SQLite's rowid, so the index already holds it in order). Live claims are an outer
    join on the claim's primary key.
    """
    limit = limit or PAGE_SIZE
    claim_join = and_(ReviewClaim.user_action_id == UserAction.id, ReviewClaim.expires_at > now)
    query = (
        select(
            UserAction.id, UserAction.created_at, UserAction.state_updated_at, UserAction.action_code,
            UserAction.user_id, UserAction.ip_address, UserAction.priority_rule_id, UserAction.output,
            UserAction.attributes, UserAction.action_configuration_id,
            ReviewClaim.console_user_id.label("claimer_id"), ConsoleUser.email.label("claimer_email"),
        )
        .outerjoin(ReviewClaim, claim_join)
        .outerjoin(ConsoleUser, ConsoleUser.id == ReviewClaim.console_user_id)
        .where(UserAction.tenant_id == tenant_id, UserAction.state == ActionState.REVIEW_REQUIRED)
    )
    if filters.action_code:
        query = query.where(UserAction.action_code == filters.action_code)
    if filters.rule_id:
        query = query.where(UserAction.priority_rule_id == filters.rule_id)
    if filters.min_age_minutes:
        query = query.where(UserAction.created_at <= now - timedelta(minutes=filters.min_age_minutes))
    if filters.claim == "mine":
        query = query.where(ReviewClaim.console_user_id == (viewer_id or ""))
    elif filters.claim == "unclaimed":
        query = query.where(ReviewClaim.user_action_id.is_(None))
    backwards = before is not None and after is None
    if after:
        query = query.where(
            UserAction.created_at >= after.created_at,
            or_(UserAction.created_at > after.created_at,
                and_(UserAction.created_at == after.created_at, UserAction.id > after.id)),
        )
    elif before:
        query = query.where(
            UserAction.created_at <= before.created_at,
            or_(UserAction.created_at < before.created_at,
                and_(UserAction.created_at == before.created_at, UserAction.id < before.id)),
        )
    if backwards:
        query = query.order_by(UserAction.created_at.desc(), UserAction.id.desc())
    else:
        query = query.order_by(UserAction.created_at, UserAction.id)
    fetched = db.session.execute(query.limit(limit + 1)).all()
    more = len(fetched) > limit
    fetched = fetched[:limit]
    if backwards:
        fetched.reverse()
    deadlines = _deadlines(tenant_id)
    rows = []
    for row in fetched:
        due_at = _due_at(row.state_updated_at, deadlines.get(row.action_configuration_id))
        rows.append(QueueRow(
            id=row.id, created_at=row.created_at, action_code=row.action_code, user_id=row.user_id,
            deciding_rule_name=activity.deciding_rule_name(row.output, row.priority_rule_id),
            ip_address=row.ip_address, key_values=_key_values(row.attributes),
            claimed_by=row.claimer_email, claimed_by_me=bool(viewer_id and row.claimer_id == viewer_id),
            due_at=due_at, overdue=due_at is not None and due_at <= now,
        ))
    first = Cursor(rows[0].created_at, rows[0].id) if rows else None
    last = Cursor(rows[-1].created_at, rows[-1].id) if rows else None
    if backwards:
        return QueuePage(rows=rows, newer=last, older=first if more else None)
    return QueuePage(rows=rows, newer=last if more else None, older=first if after and rows else None)


def count_pending(tenant_id: str) -> int:
    """How many cases wait for a decision (an index-only count)."""
    return db.session.execute(
        select(func.count()).select_from(UserAction)
        .where(UserAction.tenant_id == tenant_id, UserAction.state == ActionState.REVIEW_REQUIRED)
    ).scalar_one()


@dataclass(frozen=True)
class RuleChoice:
    id: str
    label: str


def rule_choices(tenant_id: str) -> list[RuleChoice]:
    """The tenant's rules, for the queue's 'deciding rule' filter."""
    rows = db.session.execute(
        select(Rule.id, Rule.name, ActionConfiguration.code)
        .join(ActionConfiguration, ActionConfiguration.id == Rule.action_configuration_id)
        .where(ActionConfiguration.tenant_id == tenant_id)
        .order_by(ActionConfiguration.code, Rule.priority)
    ).all()
    return [RuleChoice(id=row.id, label=f"{row.code}: {row.name}") for row in rows]


def next_case_id(tenant_id: str, *, viewer_id: str, now: datetime) -> int | None:
    """The oldest case nobody else holds: the reviewer's own claims first, then unclaimed ones."""
    for claim in ("mine", "unclaimed"):
        page = list_queue(tenant_id, QueueFilters(claim=claim), viewer_id=viewer_id, now=now, limit=1)
        if page.rows:
            return page.rows[0].id
    return None


def _deadlines(tenant_id: str) -> dict[str, int]:
    rows = db.session.execute(
        select(ActionConfiguration.id, ActionConfiguration.review_deadline_minutes)
        .where(ActionConfiguration.tenant_id == tenant_id, ActionConfiguration.review_deadline_minutes.is_not(None))
    ).all()
    return {row.id: row.review_deadline_minutes for row in rows}


def _due_at(review_started: datetime, deadline_minutes: int | None) -> datetime | None:
    return review_started + timedelta(minutes=deadline_minutes) if deadline_minutes else None


def _key_values(attributes: dict[str, Any] | None) -> list[tuple[str, str]]:
    custom = (attributes or {}).get("custom")
    if not isinstance(custom, dict):
        return []
    return [(str(k), as_json_text(v)) for k, v in list(custom.items())[:KEY_VALUES_SHOWN]]


# ---------------------------------------------------------------------------------------------
# One case


@dataclass(frozen=True)
class ClaimView:
    holder_id: str
    holder_email: str
    claimed_at: datetime
    expires_at: datetime
    is_mine: bool


@dataclass(frozen=True)
class CaseView:
    detail: activity.ActionDetail
    claim: ClaimView | None
    notes: list[ReviewNote]
    decision: ReviewDecision | None  # the latest decision on this action
    recent_actions: list[activity.ActivityRow]
    authenticators: list[Authenticator]
    earlier_decisions: list[ReviewDecision]  # on this user's other actions, newest first
    due_at: datetime | None
    overdue: bool
    flagged_at: datetime | None

    @property
    def action(self) -> UserAction:
        return self.detail.action

    @property
    def is_open(self) -> bool:
        return self.action.state is ActionState.REVIEW_REQUIRED


def get_case(tenant_id: str, action_id: int, *, viewer_id: str | None, now: datetime) -> CaseView:
    detail = activity.get_action_detail(tenant_id, action_id)
    if detail is None:
        raise NotFound("There is no such case.", code="review_case_not_found")
    action = detail.action
    recent = activity.list_activity(
        tenant_id, activity.ActivityFilters(user_id=action.user_id), limit=RECENT_ACTIONS_SHOWN
    ).rows
    authenticators = list(db.session.execute(
        select(Authenticator).join(EndUser, EndUser.id == Authenticator.end_user_id)
        .where(EndUser.tenant_id == tenant_id, EndUser.user_id == action.user_id, Authenticator.verified_at.is_not(None))
        .order_by(Authenticator.created_at)
    ).scalars())
    decisions = list(db.session.execute(
        select(ReviewDecision).where(ReviewDecision.tenant_id == tenant_id, ReviewDecision.user_id == action.user_id)
        .order_by(ReviewDecision.decided_at.desc(), ReviewDecision.id.desc()).limit(EARLIER_DECISIONS_SHOWN + 5)
    ).scalars())
    own = [d for d in decisions if d.user_action_id == action.id]
    deadline = None
    if action.action_configuration_id:
        deadline = db.session.execute(
            select(ActionConfiguration.review_deadline_minutes).where(ActionConfiguration.id == action.action_configuration_id)
        ).scalar_one_or_none()
    due_at = _due_at(action.state_updated_at, deadline) if action.state is ActionState.REVIEW_REQUIRED else None
    flag = db.session.get(ReviewOverdueFlag, action.id)
    return CaseView(
        detail=detail,
        claim=_claim_view(action.id, viewer_id=viewer_id, now=now),
        notes=_notes(action.id),
        decision=own[0] if own else None,
        recent_actions=[row for row in recent if row.id != action.id],
        authenticators=authenticators,
        earlier_decisions=[d for d in decisions if d.user_action_id != action.id][:EARLIER_DECISIONS_SHOWN],
        due_at=due_at,
        overdue=due_at is not None and due_at <= now,
        flagged_at=flag.flagged_at if flag else None,
    )


def _claim_view(action_id: int, *, viewer_id: str | None, now: datetime) -> ClaimView | None:
    row = db.session.execute(
        select(ReviewClaim, ConsoleUser.email)
        .join(ConsoleUser, ConsoleUser.id == ReviewClaim.console_user_id)
        .where(ReviewClaim.user_action_id == action_id, ReviewClaim.expires_at > now)
    ).first()
    if row is None:
        return None
    claim, email = row
    return ClaimView(holder_id=claim.console_user_id, holder_email=email, claimed_at=claim.claimed_at,
                     expires_at=claim.expires_at, is_mine=claim.console_user_id == viewer_id)


def claim_view(actor: ConsoleUser, action_id: int, *, now: datetime) -> ClaimView | None:
    """The live claim on a case (after a claim or release, for the claim fragment)."""
    _load_action(actor.tenant_id, action_id)
    return _claim_view(action_id, viewer_id=actor.id, now=now)


def _notes(action_id: int) -> list[ReviewNote]:
    return list(db.session.execute(
        select(ReviewNote).where(ReviewNote.user_action_id == action_id).order_by(ReviewNote.id)
    ).scalars())


def list_notes(actor: ConsoleUser, action_id: int) -> list[ReviewNote]:
    _load_action(actor.tenant_id, action_id)
    return _notes(action_id)


def _load_action(tenant_id: str, action_id: int) -> UserAction:
    action = db.session.execute(
        select(UserAction).where(UserAction.tenant_id == tenant_id, UserAction.id == action_id)
    ).scalar_one_or_none()
    if action is None:
        raise NotFound("There is no such case.", code="review_case_not_found")
    return action


def _require_open(action: UserAction) -> None:
    if action.state in REVIEW_OUTCOME_STATES:
        raise Conflict(f"This case was already decided ({action.state.value}).", code="review_already_decided")
    if action.state is not ActionState.REVIEW_REQUIRED:
        raise Conflict(f"This action is {action.state.value}, not waiting for review.", code="review_not_pending")


# ---------------------------------------------------------------------------------------------
# Claims and notes


def claim_case(actor: ConsoleUser, action_id: int, *, settings: Settings, now: datetime) -> ClaimView:
    """Take the case, or keep it (a reviewer's own claim is extended). One holder at a time."""
    action = _load_action(actor.tenant_id, action_id)
    _require_open(action)
    expires_at = now + timedelta(minutes=settings.review_claim_minutes)
    # Mine already, or lapsed: one conditional UPDATE, so two takers of a lapsed claim get one winner.
    taken = db.session.execute(
        update(ReviewClaim)
        .where(ReviewClaim.user_action_id == action.id,
               or_(ReviewClaim.console_user_id == actor.id, ReviewClaim.expires_at <= now))
        .values(console_user_id=actor.id, claimed_at=now, expires_at=expires_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        try:
            db.session.add(ReviewClaim(user_action_id=action.id, console_user_id=actor.id, claimed_at=now,
                                       expires_at=expires_at))
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            holder = _claim_view(action_id, viewer_id=actor.id, now=now)
            who = holder.holder_email if holder else "another reviewer"
            raise Conflict(f"This case is claimed by {who}.", code="review_claimed") from None
    record_change(actor, "review.claimed", str(action.id), "user_action", after={"expiresAt": expires_at.isoformat()},
                  now=now)
    db.session.commit()
    return ClaimView(holder_id=actor.id, holder_email=actor.email, claimed_at=now, expires_at=expires_at, is_mine=True)


def release_case(actor: ConsoleUser, action_id: int, *, now: datetime) -> None:
    """Give the case back. Admins may release anyone's claim (a reviewer who left); reviewers only their own."""
    action = _load_action(actor.tenant_id, action_id)
    claim = db.session.get(ReviewClaim, action.id)
    if claim is None or claim.expires_at <= now:
        if claim is not None:
            db.session.delete(claim)
            db.session.commit()
        return
    if claim.console_user_id != actor.id and not actor.is_admin:
        raise Forbidden("Only the reviewer holding this case (or an admin) can release it.", code="review_claimed")
    db.session.execute(delete(ReviewClaim).where(ReviewClaim.user_action_id == action.id,
                                                 ReviewClaim.console_user_id == claim.console_user_id))
    record_change(actor, "review.released", str(action.id), "user_action",
                  before={"claimedBy": claim.console_user_id}, now=now)
    db.session.commit()


def add_note(actor: ConsoleUser, action_id: int, text: str, *, settings: Settings, now: datetime) -> ReviewNote:
    """Append a note (notes are never edited or deleted). Working on a case you hold keeps your claim."""
    text = (text or "").strip()
    if not text:
        raise InvalidRequest("Write the note first.", code="note_required")
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidRequest(f"A note is at most {MAX_NOTE_LENGTH} characters.", code="note_too_long")
    action = _load_action(actor.tenant_id, action_id)
    note = ReviewNote(user_action_id=action.id, author_id=actor.id, author_email=actor.email, created_at=now, text=text)
    db.session.add(note)
    db.session.execute(
        update(ReviewClaim)
        .where(ReviewClaim.user_action_id == action.id, ReviewClaim.console_user_id == actor.id,
               ReviewClaim.expires_at > now)
        .values(expires_at=now + timedelta(minutes=settings.review_claim_minutes))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return note


# ---------------------------------------------------------------------------------------------
# Decisions


@dataclass(frozen=True)
class Decided:
    action: UserAction
    decision: ReviewDecision


def parse_decision(value: str | None) -> ActionState:
    try:
        return DECISIONS[(value or "").strip().lower()]
    except KeyError:
        raise InvalidRequest("Choose approve or reject.", code="invalid_decision") from None


def validate_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest("Give a reason for the decision.", code="reason_required")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidRequest(f"A reason is at most {MAX_REASON_LENGTH} characters.", code="reason_too_long")
    return reason


def decide_case(
    actor: ConsoleUser, action_id: int, outcome: ActionState, reason: str, *, now: datetime
) -> Decided:
    """A reviewer's (or admin's) decision on one case. A case someone else holds is theirs to decide."""
    reason = validate_reason(reason)
    if outcome not in REVIEW_OUTCOME_STATES:
        raise InvalidRequest("Choose approve or reject.", code="invalid_decision")
    action = _load_action(actor.tenant_id, action_id)
    _require_open(action)
    holder = _claim_view(action.id, viewer_id=actor.id, now=now)
    if holder is not None and not holder.is_mine:
        raise Conflict(f"This case is claimed by {holder.holder_email}; only they can decide it now.",
                       code="review_claimed")
    decision = _decide_or_conflict(action, outcome, reason, actor=actor, source="console", now=now)
    db.session.commit()
    return Decided(action=action, decision=decision)


def decide_from_api(action: UserAction, new_state: ActionState, *, now: datetime) -> UserAction:
    """The server API's update_action to a review outcome on a case in review (or already decided)."""
    if new_state not in REVIEW_OUTCOME_STATES:
        raise InvalidRequest("Only REVIEW_SUCCEEDED or REVIEW_FAILED decide a review.", code="invalid_decision")
    _require_open(action)
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
    actor: ConsoleUser, action_ids: list[int], outcome: ActionState, reason: str, *, now: datetime
) -> BulkResult:
    """An admin decides many cases with one reason. Cases already decided, not found, or held by
    another reviewer are skipped (and reported), never overridden."""
    if not actor.is_admin:
        raise Forbidden("Only admins can decide cases in bulk.", code="admin_only")
    reason = validate_reason(reason)
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
        .where(ReviewClaim.user_action_id.in_(ids), ReviewClaim.expires_at > now, ReviewClaim.console_user_id != actor.id)
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
        elif _decide_locked(action, outcome, reason, actor=actor, source="bulk", now=now) is None:
            result.skipped[action_id] = "decided by someone else meanwhile"
        else:
            result.decided.append(action_id)
    db.session.commit()
    return result


def _decide_or_conflict(
    action: UserAction, outcome: ActionState, reason: str, *, actor: ConsoleUser | None, source: str, now: datetime
) -> ReviewDecision:
    decision = _decide_locked(action, outcome, reason, actor=actor, source=source, now=now)
    if decision is None:
        db.session.rollback()
        raise Conflict("This case was already decided.", code="review_already_decided")
    return decision


def _decide_locked(
    action: UserAction, outcome: ActionState, reason: str, *, actor: ConsoleUser | None, source: str, now: datetime,
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
    )
    db.session.add(decision)
    emit_review_decided(action, previous_state=before, decided_by=decision.decided_by, reason=reason, source=source,
                        now=now)
    db.session.execute(delete(ReviewClaim).where(ReviewClaim.user_action_id == action.id))
    event = "review.approved" if outcome is ActionState.REVIEW_SUCCEEDED else "review.rejected"
    audit = {"before": {"state": before.value}, "after": {"state": outcome.value, "reason": reason, "source": source}}
    if actor is not None:
        record_change(actor, event, str(action.id), "user_action", now=now, **audit)
    else:
        db.session.add(AuditEvent(tenant_id=action.tenant_id, actor_id=None, actor_email=source, occurred_at=now,
                                  event=event, target_type="user_action", target_id=str(action.id), **audit))
    return decision


# ---------------------------------------------------------------------------------------------
# SLA


@dataclass(frozen=True)
class SlaReport:
    approved: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    flagged: list[int] = field(default_factory=list)


def set_review_sla(
    tenant_id: str, action_code: str, *, deadline_minutes: int | None, policy: OverduePolicy = OverduePolicy.FLAG
) -> ActionConfiguration:
    """Set (or with ``None`` clear) an action's review deadline and what happens when it passes."""
    if deadline_minutes is not None and not 1 <= deadline_minutes <= 525_600:
        raise InvalidRequest("The review deadline is 1-525600 minutes.", code="invalid_review_deadline")
    config = db.session.execute(
        select(ActionConfiguration).where(ActionConfiguration.tenant_id == tenant_id, ActionConfiguration.code == action_code)
    ).scalar_one_or_none()
    if config is None:
        raise NotFound(f"There is no action '{action_code}'.", code="action_not_found")
    config.review_deadline_minutes = deadline_minutes
    config.review_overdue_policy = policy
    db.session.commit()
    return config


def apply_sla(*, now: datetime, tenant_id: str | None = None, limit: int = 1000) -> SlaReport:
    """Act on every case whose action's review deadline has passed (all tenants unless one is named).

    Auto-approve and auto-reject decide through the same conditional UPDATE as reviewers (a case a
    reviewer decides meanwhile is left alone); FLAG records the case as overdue, once. Safe to run
    from several processes at once.
    """
    query = select(ActionConfiguration).where(ActionConfiguration.review_deadline_minutes.is_not(None))
    if tenant_id:
        query = query.where(ActionConfiguration.tenant_id == tenant_id)
    report = SlaReport()
    for config in db.session.execute(query).scalars().all():
        cutoff = now - timedelta(minutes=config.review_deadline_minutes or 0)
        overdue = select(UserAction).where(
            UserAction.action_configuration_id == config.id, UserAction.tenant_id == config.tenant_id,
            UserAction.state == ActionState.REVIEW_REQUIRED, UserAction.state_updated_at <= cutoff,
        )
        if config.review_overdue_policy is OverduePolicy.FLAG:
            overdue = overdue.outerjoin(ReviewOverdueFlag, ReviewOverdueFlag.user_action_id == UserAction.id).where(
                ReviewOverdueFlag.user_action_id.is_(None))
        actions = db.session.execute(overdue.order_by(UserAction.created_at).limit(limit)).scalars().all()
        for action in actions:
            if config.review_overdue_policy is OverduePolicy.FLAG:
                if _flag(action.id, now=now):
                    report.flagged.append(action.id)
                continue
            outcome = (ActionState.REVIEW_SUCCEEDED if config.review_overdue_policy is OverduePolicy.AUTO_APPROVE
                       else ActionState.REVIEW_FAILED)
            verb = "approved" if outcome is ActionState.REVIEW_SUCCEEDED else "rejected"
            reason = f"The review deadline of {config.review_deadline_minutes} minutes passed; {verb} automatically."
            if _decide_locked(action, outcome, reason, actor=None, source="sla", now=now) is not None:
                (report.approved if outcome is ActionState.REVIEW_SUCCEEDED else report.rejected).append(action.id)
    db.session.commit()
    return report


def _flag(action_id: int, *, now: datetime) -> bool:
    """Record the case as overdue; False when another run flagged it first (ON CONFLICT DO NOTHING)."""
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(ReviewOverdueFlag).values(user_action_id=action_id, flagged_at=now)
        .on_conflict_do_nothing(index_elements=["user_action_id"]).returning(ReviewOverdueFlag.user_action_id)
    )
    # RETURNING rather than rowcount: psycopg reports -1 for an ORM-enabled INSERT.
    return db.session.execute(statement).first() is not None
