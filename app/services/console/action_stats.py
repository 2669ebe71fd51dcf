"""The actions list at a glance (last week's outcomes per action, from the hourly counts the Overview
reads too), and one action's own tracked actions: its Activity tab, and what deleting it leaves behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import ActionConfiguration, UserAction
from app.services.console.outcome_hours import BUCKETS, hour_counts, start_of_hour
from app.services.rulesets.rules import count_active_rules
from app.services.tenancy.listing import ListQuery, Page, paged

WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class ActionSummary:
    config: ActionConfiguration
    active_rules: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, bucket: str) -> float:
        """Percentage of the week's actions in ``bucket`` (for the stacked bar)."""
        return round(100 * self.counts.get(bucket, 0) / self.total, 1) if self.total else 0.0


def outcome_counts(tenant_id: str, *, now: datetime) -> dict[str, dict[str, int]]:
    """{action code: {bucket: count}} over the last seven days, whole hours (the hour that began seven
    days ago counts whole): 168 stored hours and the open ones, where grouping a busy tenant's week
    of actions took 200 ms at a million. A week is fewer hours than a read counts, so none is missing."""
    counts: dict[str, dict[str, int]] = {}
    for hour in hour_counts(tenant_id, start_of_hour(now - WINDOW), now=now).hours.values():
        for code, per_code in hour.items():
            totals = counts.setdefault(code, dict.fromkeys(BUCKETS, 0))
            for bucket, count in per_code["outcomes"].items():
                totals[bucket] += count
    return counts


def list_action_summaries(tenant_id: str, wanted: ListQuery = ListQuery(), *, now: datetime) -> Page[ActionSummary]:
    """A page of the configured actions (by code; searched by code and name) with their active-rule
    counts and the week's outcomes: four queries."""
    configs = paged(select(ActionConfiguration).where(ActionConfiguration.tenant_id == tenant_id), wanted,
                    search=(ActionConfiguration.code, ActionConfiguration.name), order_by=(ActionConfiguration.code,))
    counts = outcome_counts(tenant_id, now=now)
    active = count_active_rules(tenant_id)
    return configs.map(lambda config: ActionSummary(config, active.get(config.id, 0),
                                                    counts.get(config.code, dict.fromkeys(BUCKETS, 0))))


def latest_tracked(tenant_id: str, action_code: str, *, limit: int) -> list[UserAction]:
    """The action's newest tracked actions, newest first."""
    return list(db.session.execute(
        select(UserAction)
        .where(UserAction.tenant_id == tenant_id, UserAction.action_code == action_code)
        .order_by(UserAction.id.desc())
        .limit(limit)
    ).scalars())


def count_tracked(tenant_id: str, action_code: str) -> int:
    return db.session.execute(
        select(func.count()).select_from(UserAction)
        .where(UserAction.tenant_id == tenant_id, UserAction.action_code == action_code)
    ).scalar_one()
