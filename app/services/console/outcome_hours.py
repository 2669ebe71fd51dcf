"""Tracked actions counted per hour for the Overview: each closed hour once, the open one live.

Reading a month of a busy tenant's actions for every page view would cost seconds, and counting on
the track path would put a write on every track. Instead the first read that needs an hour which
has ended counts it from ``user_action`` (one range of its (tenant_id, created_at) index) and keeps
the result in ``outcome_hour``; later reads take the row. The hours still open are counted live.

An hour counts as ended only ``SETTLE`` after its end, so that a track whose transaction began in
the hour but committed after it, and a challenge completed within its link's lifetime (10 minutes
by default), are in the count. Two instances counting the same hour insert the same row under one
unique key: one insert wins, the other does nothing. A read counts at most ``HOURS_PER_READ``
missing hours, the newest first, so the first view after a long quiet costs a bounded time; the
rest are counted by the next reads, and :class:`HourCounts` says how many are still missing.

The actions list (its last 7 days) and the Overview read these counts. An action counts under the
outcome of its current state (a challenge, passed or failed, is a challenge: :func:`bucket_for`),
frozen when its hour is counted; under its deciding rule (``priority_rule_id``; "" when the
default outcome decided); and, once its challenge ended, under the method that passed it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.domain.decision import ActionState, Outcome
from app.extensions import db, upsert
from app.models import OutcomeHour, UserAction

BUCKETS: tuple[str, ...] = tuple(outcome.value for outcome in Outcome)  # ALLOW, CHALLENGE, REVIEW, BLOCK
HOUR = timedelta(hours=1)
SETTLE = timedelta(minutes=15)
HOURS_PER_READ = 240
CHALLENGE_ENDS = (ActionState.CHALLENGE_SUCCEEDED, ActionState.CHALLENGE_FAILED)
NO_METHOD = ""  # a failed challenge records no method on its action

# {action code: {"outcomes": {bucket: n}, "rules": {rule id or "": n}, "methods": {method: {end state: n}}}}
Counts = dict[str, dict[str, dict]]


def bucket_for(state: ActionState | str) -> str:
    """ALLOW → ALLOW, CHALLENGE_* → CHALLENGE, REVIEW_* → REVIEW, BLOCK → BLOCK."""
    return str(state.value if isinstance(state, ActionState) else state).split("_", 1)[0]


def start_of_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class HourCounts:
    hours: dict[datetime, Counts]  # by the hour's start; an hour without actions is {} (or missing)
    uncounted: int  # ended hours in the range not counted yet (the next reads count them)


def hour_counts(tenant_id: str, since: datetime, *, now: datetime, limit: int = HOURS_PER_READ) -> HourCounts:
    """Every hour from ``since`` (an hour's start) to ``now``; counts (and commits) missing ended hours."""
    ended_before = start_of_hour(now - SETTLE)
    stored = dict(db.session.execute(
        select(OutcomeHour.hour, OutcomeHour.counts)
        .where(OutcomeHour.tenant_id == tenant_id, OutcomeHour.hour >= since, OutcomeHour.hour < ended_before)
    ).all())
    missing = [hour for hour in _hours(since, ended_before) if hour not in stored]
    missing.reverse()  # the newest first: the day view fills before the month's
    counted = {hour: count_hour(tenant_id, hour) for hour in missing[:limit]}
    if counted:
        # Every instance inserts its hours in the same order (newest first), so two racing over
        # overlapping hours wait for each other on PostgreSQL rather than deadlock.
        db.session.execute(
            upsert(OutcomeHour).values([
                {"tenant_id": tenant_id, "hour": hour, "counts": counts, "counted_at": now}
                for hour, counts in counted.items()
            ]).on_conflict_do_nothing(index_elements=["tenant_id", "hour"])
        )
        db.session.commit()
    live = {hour: count_hour(tenant_id, hour) for hour in _hours(max(since, ended_before), now)}
    return HourCounts(hours={**stored, **counted, **live}, uncounted=max(len(missing) - limit, 0))


def count_hour(tenant_id: str, hour: datetime) -> Counts:
    """One hour's actions, counted from user_action."""
    rows = db.session.execute(
        select(UserAction.action_code, UserAction.state, UserAction.priority_rule_id, UserAction.verification_method,
               func.count())
        .where(UserAction.tenant_id == tenant_id, UserAction.created_at >= hour, UserAction.created_at < hour + HOUR)
        .group_by(UserAction.action_code, UserAction.state, UserAction.priority_rule_id,
                  UserAction.verification_method)
    )
    counts: Counts = {}
    for code, state, rule_id, method, count in rows:
        per_code = counts.setdefault(code, {"outcomes": {}, "rules": {}, "methods": {}})
        _add(per_code["outcomes"], bucket_for(state), count)
        _add(per_code["rules"], rule_id or "", count)
        if state in CHALLENGE_ENDS:
            _add(per_code["methods"].setdefault(method.value if method else NO_METHOD, {}), state.value, count)
    return counts


def _add(counts: dict[str, int], key: str, count: int) -> None:
    counts[key] = counts.get(key, 0) + count


def _hours(start: datetime, end: datetime) -> Iterable[datetime]:
    """Hour starts from ``start`` (an hour's start) while before ``end``."""
    hour = start
    while hour < end:
        yield hour
        hour += HOUR
