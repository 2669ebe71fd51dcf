"""Review deadlines (SLA): an action's deadline and policy, and the job that applies them to overdue cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from app.domain.actions import MAX_REVIEW_DEADLINE_MINUTES
from app.domain.decision import ActionState
from app.domain.errors import InvalidRequest, NotFound
from app.extensions import db, upsert
from app.models import ActionConfiguration, ReviewOverdueFlag, UserAction
from app.models.review import OverduePolicy
from app.services.reviews.decisions import decide_locked


@dataclass(frozen=True)
class SlaReport:
    approved: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    flagged: list[int] = field(default_factory=list)


def set_review_sla(
    tenant_id: str, action_code: str, *, deadline_minutes: int | None, policy: OverduePolicy = OverduePolicy.FLAG
) -> ActionConfiguration:
    """Set (or with ``None`` clear) an action's review deadline and what happens when it passes."""
    if deadline_minutes is not None and not 1 <= deadline_minutes <= MAX_REVIEW_DEADLINE_MINUTES:
        raise InvalidRequest(f"The review deadline is 1-{MAX_REVIEW_DEADLINE_MINUTES} minutes.",
                             code="invalid_review_deadline")
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
            UserAction.in_state(ActionState.REVIEW_REQUIRED), UserAction.state_updated_at <= cutoff,
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
            if decide_locked(action, outcome, reason, actor=None, source="sla", now=now) is not None:
                (report.approved if outcome is ActionState.REVIEW_SUCCEEDED else report.rejected).append(action.id)
    db.session.commit()
    return report


def _flag(action_id: int, *, now: datetime) -> bool:
    """Record the case as overdue; False when another run flagged it first (ON CONFLICT DO NOTHING)."""
    statement = (
        upsert(ReviewOverdueFlag).values(user_action_id=action_id, flagged_at=now)
        .on_conflict_do_nothing(index_elements=["user_action_id"]).returning(ReviewOverdueFlag.user_action_id)
    )
    # RETURNING rather than rowcount: psycopg reports -1 for an ORM-enabled INSERT.
    return db.session.execute(statement).first() is not None
