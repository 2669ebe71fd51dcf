"""The numbers operators alert on, read from the database at the moment they are asked for.

Nothing is counted in process memory: gunicorn runs several workers and deployments several
instances, and whichever answers a scrape must give the same numbers. So every figure is a query,
and each is an index range, never a scan of a table that grows with traffic (``user_action`` can
hold millions of rows):

- recent actions and the review queue: ranges of the ``(tenant_id, state, created_at)`` index,
  one per tenant and state but ALLOW, which that index leaves out: ALLOW is the rest of the
  tenant's range of ``(tenant_id, created_at)``. They are correlated subqueries of a SELECT over
  ``tenant`` (a new tenant adds ranges, not statements), because each then names its tenant and
  the index range is the only plan; a plain join leaves the order to the planner, and SQLite
  without ANALYZE statistics scans the whole index instead;
- overdue reviews: the same index, from each deadline's tenant and cutoff back;
- webhook deliveries: the ``(status, next_attempt_at)`` index the worker reads;
- failed codes: the ``attempted_at`` index;
- invalid API keys: the ``(kind, failed_at)`` index over the limit's own minute (rows older than
  that are the purge's to delete), grouped by address; codes asked for by client addresses likewise,
  over their hour;
- messages (codes and links): the ``(tenant_id, created_at)`` index over the window, and over the hour
  for the destinations at their send limit (the refusals SMS pumping runs into).

A snapshot is ten statements (nine while no action has a review deadline), however much data there is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from app.config import Settings
from app.domain.decision import ActionState
from app.extensions import db
from app.models import ActionConfiguration, OutboundMessage, Tenant, UserAction, VerificationAttempt, WebhookDelivery
from app.services.delivery import messages
from app.services.delivery.events import FAILED, PENDING
from app.services.limits.address_failures import API_KEY, CODE_SEND, WindowSummary, summarise_window

# How far back the "recent" figures look: short enough to show an incident, long enough to be
# stable between two scrapes (Prometheus' default interval is one minute).
WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class MetricsSnapshot:
    # Actions tracked within WINDOW, by the state they are in now; every state is present.
    recent_actions: dict[ActionState, int]
    reviews_waiting: int
    # Waiting longer than their action's review deadline (what the queue highlights as overdue).
    reviews_overdue: int
    oldest_review_age: timedelta  # zero when nothing waits
    # Deliveries still to be sent (pending) and given up on after the last attempt (failed).
    webhook_deliveries: dict[str, int]
    # How long the most overdue pending delivery has been due: a stopped worker makes it grow.
    webhook_delivery_lag: timedelta
    recent_failed_verifications: int  # wrong codes entered within WINDOW, all users
    # Invalid API keys within the limit's window (limits.address_failures.API_KEY), and the addresses refused now.
    api_key_failures: WindowSummary
    # Messages queued within WINDOW, by (channel, status now); every pair is present.
    recent_messages: dict[tuple[str, str], int]
    # Addresses and numbers at their hourly send limit now (further codes to them are refused), by channel.
    destinations_at_limit: dict[str, int]
    # Codes asked for by browsers within the hour, and the client addresses refused now.
    code_sends: WindowSummary


def take_snapshot(*, settings: Settings, now: datetime) -> MetricsSnapshot:
    since = now - WINDOW
    recent_actions = _recent_actions(since)
    waiting, oldest = _review_queue()
    overdue = _overdue_reviews(now)
    deliveries, next_due = _webhook_backlog()
    return MetricsSnapshot(
        recent_actions=recent_actions,
        reviews_waiting=waiting,
        reviews_overdue=overdue,
        oldest_review_age=_age(oldest, now),
        webhook_deliveries=deliveries,
        webhook_delivery_lag=_age(next_due, now),
        recent_failed_verifications=_failed_verifications(since),
        api_key_failures=summarise_window(API_KEY, allowed=settings.api_key_failures_per_minute, now=now),
        recent_messages=_recent_messages(since),
        destinations_at_limit=_destinations_at_limit(now, limit=settings.sends_per_destination_per_hour),
        code_sends=summarise_window(CODE_SEND, allowed=settings.sends_per_client_address_per_hour, now=now),
    )


def _recent_actions(since: datetime) -> dict[ActionState, int]:
    """Per tenant, all its recent actions and one count per state but ALLOW: index-only ranges.

    The state index leaves ALLOW out (most actions end there), so ALLOW is what the other states
    leave of the total; one statement reads one snapshot, so the difference is exact.
    """
    others = [state for state in ActionState if state is not ActionState.ALLOW]
    recent = UserAction.tenant_id == Tenant.id, UserAction.created_at >= since
    counts = [
        select(func.count()).where(*recent).scalar_subquery(),
        *(select(func.count()).where(*recent, UserAction.in_state(state)).scalar_subquery() for state in others),
    ]
    per_tenant = db.session.execute(select(*counts).select_from(Tenant)).all()
    total, *counted = (sum(row[i] for row in per_tenant) for i in range(len(counts)))
    by_state = {**dict(zip(others, counted, strict=True)), ActionState.ALLOW: total - sum(counted)}
    return {state: by_state[state] for state in ActionState}


def _review_queue() -> tuple[int, datetime | None]:
    """How many cases wait, and since when the oldest does (the queue's order: created_at)."""
    waiting = UserAction.tenant_id == Tenant.id, UserAction.in_state(ActionState.REVIEW_REQUIRED)
    per_tenant = db.session.execute(select(
        select(func.count()).where(*waiting).scalar_subquery(),
        select(func.min(UserAction.created_at)).where(*waiting).scalar_subquery(),
    ).select_from(Tenant)).all()
    oldest = [since for _, since in per_tenant if since is not None]
    return sum(count for count, _ in per_tenant), min(oldest, default=None)


def _overdue_reviews(now: datetime) -> int:
    """Cases past their action's deadline, as apply_sla judges them: in review since before now - deadline.

    Deadlines are minutes per action configuration, and date arithmetic is not portable SQL, so
    the (few) deadlines are read first and each becomes its own cutoff. An action's cases all
    started after they were created, so ``created_at <= cutoff`` holds for every overdue one and
    narrows the index range to the old cases.
    """
    deadlines = db.session.execute(
        select(ActionConfiguration.id, ActionConfiguration.tenant_id, ActionConfiguration.review_deadline_minutes)
        .where(ActionConfiguration.review_deadline_minutes.is_not(None))
    ).all()
    overdue = []
    for config_id, tenant_id, minutes in deadlines:
        cutoff = now - timedelta(minutes=minutes)
        overdue.append(and_(
            UserAction.tenant_id == tenant_id, UserAction.in_state(ActionState.REVIEW_REQUIRED),
            UserAction.created_at <= cutoff, UserAction.action_configuration_id == config_id,
            UserAction.state_updated_at <= cutoff,
        ))
    if not overdue:
        return 0
    return db.session.execute(select(func.count()).select_from(UserAction).where(or_(*overdue))).scalar_one()


def _webhook_backlog() -> tuple[dict[str, int], datetime | None]:
    """Pending and failed deliveries (an index-only read), and when the earliest pending one became due."""
    rows = db.session.execute(
        select(WebhookDelivery.status, func.count(), func.min(WebhookDelivery.next_attempt_at))
        .where(WebhookDelivery.status.in_((PENDING, FAILED)))
        .group_by(WebhookDelivery.status)
    ).all()
    counts = {PENDING: 0, FAILED: 0}
    next_due = None
    for status, count, earliest in rows:
        counts[status] = count
        if status == PENDING:
            next_due = earliest
    return counts, next_due


def _failed_verifications(since: datetime) -> int:
    return db.session.execute(
        select(func.count()).select_from(VerificationAttempt).where(VerificationAttempt.attempted_at >= since)
    ).scalar_one()


def _recent_messages(since: datetime) -> dict[tuple[str, str], int]:
    counts = dict.fromkeys(((channel, status) for channel in messages.CHANNELS
                            for status in (messages.QUEUED, messages.SENT, messages.FAILED)), 0)
    rows = db.session.execute(
        select(OutboundMessage.channel, OutboundMessage.status, func.count())
        .join(Tenant, Tenant.id == OutboundMessage.tenant_id)
        .where(OutboundMessage.created_at >= since)
        .group_by(OutboundMessage.channel, OutboundMessage.status)
    ).all()
    for channel, status, count in rows:
        counts[(channel, status)] = count
    return counts


def _destinations_at_limit(now: datetime, *, limit: int) -> dict[str, int]:
    """As the send limit counts them (messages.SEND_HOUR, a destination's case ignored)."""
    per_destination = (
        select(OutboundMessage.channel.label("channel"))
        .join(Tenant, Tenant.id == OutboundMessage.tenant_id)
        .where(OutboundMessage.created_at > now - messages.SEND_HOUR)
        .group_by(OutboundMessage.tenant_id, OutboundMessage.channel, func.lower(OutboundMessage.recipient))
        .having(func.count() >= limit)
        .subquery()
    )
    counts = dict.fromkeys(messages.CHANNELS, 0)
    for channel, count in db.session.execute(
            select(per_destination.c.channel, func.count()).group_by(per_destination.c.channel)).all():
        counts[channel] = count
    return counts


def _age(moment: datetime | None, now: datetime) -> timedelta:
    """How long ago ``moment`` was; zero for nothing, or for a moment still ahead (a retry not yet due)."""
    return max(now - moment, timedelta(0)) if moment is not None else timedelta(0)
