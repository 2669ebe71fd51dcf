"""One review case: what a reviewer sees of it, who holds it (claims), and the notes on it.

A claim is a row whose primary key is the action id: two reviewers claiming at once both try to
INSERT and one of them gets the IntegrityError. An expired claim is taken over with a conditional
UPDATE (``WHERE expires_at <= now``), again with one winner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.config import Settings
from app.domain.builder import SUMMARY_CATALOGUE, describe_conditions
from app.domain.decision import ActionState
from app.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound
from app.extensions import db, upsert
from app.models import (
    ActionConfiguration,
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
from app.services.console import activity
from app.services.reviews.queue import due_at_for
from app.services.tenancy.audit import record_change

MAX_NOTE_LENGTH = 4000
RECENT_ACTIONS_SHOWN = 10
EARLIER_DECISIONS_SHOWN = 20
REVIEW_OUTCOME_STATES = frozenset({ActionState.REVIEW_SUCCEEDED, ActionState.REVIEW_FAILED})


@dataclass(frozen=True)
class ClaimView:
    holder_id: str
    holder_email: str
    claimed_at: datetime
    expires_at: datetime | None  # None: an assignment, held until decided, released or reassigned
    is_mine: bool
    assigned_by: str | None = None  # the admin who assigned the case, for an assignment


@dataclass(frozen=True)
class DecidingRule:
    """The rule that sent the case to review, and its conditions as the Rules tab says them."""

    name: str  # as it was when the action was decided
    sentence: str | None  # None: the rule was deleted since
    changed_since: bool  # the rule was changed after the decision: the sentence is how it reads now


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
    deciding_rule: DecidingRule | None  # None: no rule matched, the action's default outcome applied

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
    due_at = due_at_for(action.state_updated_at, deadline) if action.state is ActionState.REVIEW_REQUIRED else None
    flag = db.session.get(ReviewOverdueFlag, action.id)
    return CaseView(
        detail=detail,
        claim=claim_holder(action.id, viewer_id=viewer_id, now=now),
        notes=_notes(action.id),
        decision=own[0] if own else None,
        recent_actions=[row for row in recent if row.id != action.id],
        authenticators=authenticators,
        earlier_decisions=[d for d in decisions if d.user_action_id != action.id][:EARLIER_DECISIONS_SHOWN],
        due_at=due_at,
        overdue=due_at is not None and due_at <= now,
        flagged_at=flag.flagged_at if flag else None,
        deciding_rule=_deciding_rule(detail),
    )


def _deciding_rule(detail: activity.ActionDetail) -> DecidingRule | None:
    action = detail.action
    if not action.priority_rule_id:
        return None
    rule = db.session.execute(
        select(Rule).join(ActionConfiguration, ActionConfiguration.id == Rule.action_configuration_id)
        .where(Rule.id == action.priority_rule_id, ActionConfiguration.tenant_id == action.tenant_id)
    ).scalar_one_or_none()
    traced = detail.trace.deciding_rule
    name = traced.name if traced else (rule.name if rule else action.priority_rule_id)
    if rule is None:
        return DecidingRule(name=name, sentence=None, changed_since=True)
    return DecidingRule(name=name, sentence=describe_conditions(rule.conditions, catalogue=SUMMARY_CATALOGUE),
                        changed_since=rule.updated_at > action.created_at)


def claim_holder(action_id: int, *, viewer_id: str | None, now: datetime) -> ClaimView | None:
    row = db.session.execute(
        select(ReviewClaim, ConsoleUser.email)
        .join(ConsoleUser, ConsoleUser.id == ReviewClaim.console_user_id)
        .where(ReviewClaim.user_action_id == action_id, ReviewClaim.is_held(now))
    ).first()
    if row is None:
        return None
    claim, email = row
    return ClaimView(holder_id=claim.console_user_id, holder_email=email, claimed_at=claim.claimed_at,
                     expires_at=claim.expires_at, is_mine=claim.console_user_id == viewer_id,
                     assigned_by=claim.assigned_by)


def _notes(action_id: int) -> list[ReviewNote]:
    return list(db.session.execute(
        select(ReviewNote).where(ReviewNote.user_action_id == action_id).order_by(ReviewNote.id)
    ).scalars())


def load_case_action(tenant_id: str, action_id: int) -> UserAction:
    action = db.session.execute(
        select(UserAction).where(UserAction.tenant_id == tenant_id, UserAction.id == action_id)
    ).scalar_one_or_none()
    if action is None:
        raise NotFound("There is no such case.", code="review_case_not_found")
    return action


def require_open(action: UserAction) -> None:
    if action.state in REVIEW_OUTCOME_STATES:
        raise Conflict(f"This case was already decided ({action.state.value}).", code="review_already_decided")
    if action.state is not ActionState.REVIEW_REQUIRED:
        raise Conflict(f"This action is {action.state.value}, not waiting for review.", code="review_not_pending")


def claim_case(actor: ConsoleUser, action_id: int, *, settings: Settings, now: datetime) -> ClaimView:
    """Take the case, or keep it (a reviewer's own claim is extended). One holder at a time."""
    action = load_case_action(actor.tenant_id, action_id)
    require_open(action)
    held = claim_holder(action.id, viewer_id=actor.id, now=now)
    if held is not None and held.is_mine and held.expires_at is None:
        return held  # assigned to me: it holds without lapse, claiming it again would shorten it
    expires_at = now + timedelta(minutes=settings.review_claim_minutes)
    # Mine already, or lapsed: one conditional UPDATE, so two takers of a lapsed claim get one winner.
    taken = db.session.execute(
        update(ReviewClaim)
        .where(ReviewClaim.user_action_id == action.id,
               or_(ReviewClaim.console_user_id == actor.id, ~ReviewClaim.is_held(now)))
        .values(console_user_id=actor.id, claimed_at=now, expires_at=expires_at, assigned_by=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        try:
            db.session.add(ReviewClaim(user_action_id=action.id, console_user_id=actor.id, claimed_at=now,
                                       expires_at=expires_at))
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            holder = claim_holder(action_id, viewer_id=actor.id, now=now)
            who = holder.holder_email if holder else "another reviewer"
            raise Conflict(f"This case is claimed by {who}.", code="review_claimed") from None
    record_change(actor, "review.claimed", str(action.id), "user_action", after={"expiresAt": expires_at.isoformat()},
                  now=now)
    db.session.commit()
    return ClaimView(holder_id=actor.id, holder_email=actor.email, claimed_at=now, expires_at=expires_at, is_mine=True)


def release_case(actor: ConsoleUser, action_id: int, *, now: datetime) -> None:
    """Give the case back. Admins may release anyone's claim (a reviewer who left); reviewers only their own."""
    action = load_case_action(actor.tenant_id, action_id)
    claim = db.session.get(ReviewClaim, action.id)
    if claim is None or not claim.is_held(now):
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
    """Append a note (no one edits or deletes notes; erasing the user does). Working on a case you hold keeps your claim."""
    text = (text or "").strip()
    if not text:
        raise InvalidRequest("Write the note first.", code="note_required")
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidRequest(f"A note is at most {MAX_NOTE_LENGTH} characters.", code="note_too_long")
    action = load_case_action(actor.tenant_id, action_id)
    note = ReviewNote(user_action_id=action.id, author_id=actor.id, author_email=actor.email, created_at=now, text=text)
    db.session.add(note)
    db.session.execute(
        update(ReviewClaim)
        .where(ReviewClaim.user_action_id == action.id, ReviewClaim.console_user_id == actor.id,
               ReviewClaim.expires_at > now)  # an assignment (no lapse time) needs no extending
        .values(expires_at=now + timedelta(minutes=settings.review_claim_minutes))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return note


def assignable_reviewers(tenant_id: str) -> list[ConsoleUser]:
    """Who an admin can give a case to: the team's members who can sign in (reviewers and admins)."""
    return list(db.session.execute(
        select(ConsoleUser).where(ConsoleUser.tenant_id == tenant_id, ConsoleUser.disabled_at.is_(None))
        .order_by(ConsoleUser.email)
    ).scalars())


def assign_case(actor: ConsoleUser, action_id: int, assignee_id: str | None, *, now: datetime) -> ClaimView:
    """An admin gives the case to a named member of the team: the assignee holds its claim, without
    lapse, in place of whoever held it. One statement (an upsert on the claim's primary key), so
    two admins assigning at once leave exactly one holder: the later one's."""
    if not actor.is_admin:
        raise Forbidden("Only admins can assign cases.", code="admin_only")
    action = load_case_action(actor.tenant_id, action_id)
    assignee = db.session.execute(
        select(ConsoleUser).where(ConsoleUser.tenant_id == actor.tenant_id, ConsoleUser.id == (assignee_id or ""),
                                  ConsoleUser.disabled_at.is_(None))
    ).scalar_one_or_none()
    if assignee is None:
        raise InvalidRequest("Pick a member of the team to assign the case to.", code="invalid_assignee")
    require_open(action)
    before = claim_holder(action.id, viewer_id=actor.id, now=now)
    values = {"console_user_id": assignee.id, "claimed_at": now, "expires_at": None, "assigned_by": actor.email}
    db.session.execute(
        upsert(ReviewClaim).values(user_action_id=action.id, **values)
        .on_conflict_do_update(index_elements=["user_action_id"], set_=values)
    )
    record_change(actor, "review.assigned", str(action.id), "user_action",
                  before={"claimedBy": before.holder_email} if before else None,
                  after={"assignedTo": assignee.email}, now=now)
    db.session.commit()
    return ClaimView(holder_id=assignee.id, holder_email=assignee.email, claimed_at=now, expires_at=None,
                     is_mine=assignee.id == actor.id, assigned_by=actor.email)
