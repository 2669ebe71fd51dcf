"""The console's Overview: outcomes over time, challenges by method, the review backlog and the rules
that decide most, for the whole tenant or one action, over the last 24 hours, 7 or 30 days.

Everything but the backlog comes from the hourly counts (services.console.outcome_hours), so the
page costs the same at a thousand actions as at a million; the backlog is an index-only count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from app.domain.charts import StackedBarChart, stacked_bars
from app.domain.decision import ActionState, Outcome
from app.domain.labels import label
from app.extensions import db
from app.models import UserAction
from app.services.console.activity import action_codes
from app.services.console.outcome_hours import HOUR, NO_METHOD, Counts, hour_counts, start_of_hour
from app.services.tenancy.tenant_config import current_config

# window → (bars, one bar's span)
WINDOWS: dict[str, tuple[int, timedelta]] = {"24h": (24, HOUR), "7d": (7, timedelta(days=1)), "30d": (30, timedelta(days=1))}
WINDOW_LABELS = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days"}
DEFAULT_WINDOW = "24h"
# What the chart stacks: outcomes, as the actions list counts them (outcome_hours.bucket_for), so a
# challenge counts as one whether it is pending, passed or failed.
SERIES = [(outcome.value, label(outcome)) for outcome in Outcome]
TOP_RULES = 10
DEFAULT_RULE = "Default outcome"


@dataclass(frozen=True)
class MethodRate:
    method: str  # the VerificationMethod's value, "" when not recorded (a failed challenge records none)
    label: str
    succeeded: int
    failed: int

    @property
    def total(self) -> int:
        return self.succeeded + self.failed

    @property
    def rate(self) -> float:
        """Percentage of the ended challenges that passed."""
        return round(100 * self.succeeded / self.total, 1) if self.total else 0.0


@dataclass(frozen=True)
class RuleHits:
    action_code: str
    rule_id: str  # "" for the default outcome
    name: str
    count: int
    share: float  # percentage of the window's actions (of the action picked, or all)


@dataclass(frozen=True)
class Backlog:
    open_cases: int
    oldest_at: datetime | None

    def waited(self, now: datetime) -> str:
        """How long the oldest open case has waited, in the two largest units ('' without one)."""
        if self.oldest_at is None:
            return ""
        minutes = max(int((now - self.oldest_at).total_seconds() // 60), 0)
        days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
        if days:
            return f"{days} d {hours} h"
        if hours:
            return f"{hours} h {minutes} min"
        return f"{minutes} min" if minutes else "under a minute"


@dataclass(frozen=True)
class Overview:
    window: str
    action_code: str | None  # None: every action
    actions: list[str]  # the tenant's configured actions, for the picker
    chart: StackedBarChart
    days: dict[str, tuple[date, date]]  # bar key → the days its link to the activity list covers
    window_days: tuple[date, date]  # the days the whole window touches (its tables' links)
    methods: list[MethodRate]
    rules: list[RuleHits]
    backlog: Backlog
    uncounted: int  # hours of the window not counted yet (a later view counts them)


def parse_window(value: str | None) -> str:
    return value if value in WINDOWS else DEFAULT_WINDOW


def overview(tenant_id: str, *, window: str, action_code: str | None, now: datetime) -> Overview:
    bars, span = WINDOWS[window]
    actions = action_codes(tenant_id)
    code = action_code if action_code in actions else None
    today = start_of_hour(now).replace(hour=0)
    first = (start_of_hour(now) if span == HOUR else today) - (bars - 1) * span
    counted = hour_counts(tenant_id, first, now=now)
    per_hour = {hour: _of_action(counts, code) for hour, counts in counted.hours.items()}
    columns = []
    days = {}
    for n in range(bars):
        start = first + n * span
        key = start.isoformat()
        outcomes: dict[str, int] = {}
        for hour in _hours_of(start, span):
            for _, per_code in per_hour.get(hour, ()):
                for bucket, count in per_code["outcomes"].items():
                    outcomes[bucket] = outcomes.get(bucket, 0) + count
        columns.append((key, f"{start:%H:00}" if span == HOUR else f"{start:%a %-d %b}", outcomes))
        days[key] = (start.date(), start.date())
    chart = stacked_bars(columns, SERIES, max_labels=8 if span == HOUR else 10)
    window_counts = [per_code for counts in per_hour.values() for per_code in counts]
    return Overview(
        window=window, action_code=code, actions=actions, chart=chart, days=days, window_days=(first.date(), now.date()),
        methods=_method_rates(window_counts), rules=_top_rules(tenant_id, per_hour, chart.total),
        backlog=review_backlog(tenant_id, code), uncounted=counted.uncounted,
    )


def _of_action(counts: Counts, code: str | None) -> list[tuple[str, dict]]:
    """(code, its counts) of the action picked, or of every action."""
    return [(c, per_code) for c, per_code in counts.items() if code is None or c == code]


def _hours_of(start: datetime, span: timedelta) -> Iterable[datetime]:
    return (start + n * HOUR for n in range(int(span / HOUR)))


def _method_rates(window_counts: list[tuple[str, dict]]) -> list[MethodRate]:
    ended: dict[str, dict[str, int]] = {}
    for _, per_code in window_counts:
        for method, states in per_code["methods"].items():
            for state, count in states.items():
                ended.setdefault(method, {}).setdefault(state, 0)
                ended[method][state] += count
    rates = [
        MethodRate(method, label(method) if method != NO_METHOD else "Not recorded",
                   states.get(ActionState.CHALLENGE_SUCCEEDED.value, 0), states.get(ActionState.CHALLENGE_FAILED.value, 0))
        for method, states in ended.items()
    ]
    return sorted(rates, key=lambda rate: (-rate.total, rate.label))


def _top_rules(tenant_id: str, per_hour: dict[datetime, list[tuple[str, dict]]], total: int) -> list[RuleHits]:
    hits: dict[tuple[str, str], int] = {}
    for counts in per_hour.values():
        for code, per_code in counts:
            for rule_id, count in per_code["rules"].items():
                hits[(code, rule_id)] = hits.get((code, rule_id), 0) + count
    top = sorted(hits.items(), key=lambda item: -item[1])[:TOP_RULES]
    names = _live_rule_names(tenant_id, {code for (code, _), _ in top})
    return [
        RuleHits(code, rule_id, names.get((code, rule_id), "Rule no longer live") if rule_id else DEFAULT_RULE,
                 count, round(100 * count / total, 1) if total else 0.0)
        for (code, rule_id), count in top
    ]


def _live_rule_names(tenant_id: str, codes: set[str]) -> dict[tuple[str, str], str]:
    """(action code, rule id) → the rule's name in the action's live version."""
    config = current_config(tenant_id)
    names = {}
    for code in codes:
        policy = config.action(code)
        if policy is not None:
            names.update({(code, rule.rule_id): rule.name for rule in config.rule_set(policy).rules})
    return names


def review_backlog(tenant_id: str, action_code: str | None) -> Backlog:
    """Open cases and the oldest one's arrival: one range of the (tenant_id, state, created_at) index."""
    query = select(func.count(), func.min(UserAction.created_at)).where(
        UserAction.tenant_id == tenant_id, UserAction.in_state(ActionState.REVIEW_REQUIRED))
    if action_code:
        query = query.where(UserAction.action_code == action_code)
    open_cases, oldest = db.session.execute(query).one()
    return Backlog(open_cases, oldest)
