"""The actions list at a glance (last week's outcomes per action, counted in one grouped query), and one
action's own tracked actions: its Activity tab, and what deleting it leaves behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.domain.decision import ActionState, Outcome
from app.extensions import db
from app.models import ActionConfiguration, UserAction
from app.services.rulesets.rules import count_active_rules, list_action_configurations

WINDOW = timedelta(days=7)
BUCKETS: tuple[str, ...] = tuple(outcome.value for outcome in Outcome)  # ALLOW, CHALLENGE, REVIEW, BLOCK


def bucket_for(state: ActionState | str) -> str:
    """ALLOW → ALLOW, CHALLENGE_* → CHALLENGE, REVIEW_* → REVIEW, BLOCK → BLOCK."""
    return str(state.value if isinstance(state, ActionState) else state).split("_", 1)[0]


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
    """{action code: {bucket: count}} over the last seven days (uses the (tenant_id, created_at) index)."""
    rows = db.session.execute(
        select(UserAction.action_code, UserAction.state, func.count())
        .where(UserAction.tenant_id == tenant_id, UserAction.created_at >= now - WINDOW)
        .group_by(UserAction.action_code, UserAction.state)
    )
    counts: dict[str, dict[str, int]] = {}
    for code, state, count in rows:
        per_code = counts.setdefault(code, dict.fromkeys(BUCKETS, 0))
        bucket = bucket_for(state)
        per_code[bucket] = per_code.get(bucket, 0) + count
    return counts


def list_action_summaries(tenant_id: str, *, now: datetime) -> list[ActionSummary]:
    """Every configured action with its active-rule count and the week's outcomes: three queries."""
    counts = outcome_counts(tenant_id, now=now)
    active = count_active_rules(tenant_id)
    return [
        ActionSummary(config, active.get(config.id, 0), counts.get(config.code, dict.fromkeys(BUCKETS, 0)))
        for config in list_action_configurations(tenant_id)
    ]


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
