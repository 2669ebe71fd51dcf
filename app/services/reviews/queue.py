"""The review queue: the filtered, keyset-paginated list of cases waiting, and the next one to work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from app.domain.decision import ActionState
from app.domain.keyset import Cursor
from app.extensions import db
from app.models import (
    ActionConfiguration,
    ConsoleUser,
    ReviewClaim,
    Rule,
    UserAction,
)
from app.services.console import activity
from app.services.decisions.trace_view import as_json_text
from app.services.tenancy.tenant_config import current_config

PAGE_SIZE = 50
KEY_VALUES_SHOWN = 3
CLAIM_FILTERS = ("all", "mine", "unclaimed", "available")  # available: mine or unclaimed


@dataclass(frozen=True)
class QueueFilters:
    action_code: str | None = None
    rule_id: str | None = None
    claim: str = "all"  # all | mine | unclaimed | available (mine or unclaimed: what I can decide)
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


def parse_queue_filters(args: Mapping[str, str]) -> activity.ParsedFilters[QueueFilters]:
    """Read the filter form (``action``, ``rule``, ``claim``, ``age`` in minutes); bad values are reported."""
    values = {name: (args.get(name) or "").strip() for name in ("action", "rule", "claim", "age")}
    errors: dict[str, str] = {}
    claim = values["claim"] or "all"
    if claim not in CLAIM_FILTERS:
        errors["claim"] = "Pick all, mine, unclaimed, or mine or unclaimed."
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
    return activity.ParsedFilters(filters=filters, errors=errors, values=values)


def parse_case_id(text: str | None) -> int | None:
    """A case id from a form or link; None for anything else (also numbers no BIGINT holds)."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


@dataclass(frozen=True)
class QueueRow(activity.ActivityRow):
    key_values: list[tuple[str, str]]
    claimed_by: str | None  # the holder's email, while the claim is live
    claimed_by_me: bool
    assigned: bool  # the claim is an admin's assignment
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
    claim_join = and_(ReviewClaim.user_action_id == UserAction.id, ReviewClaim.is_held(now))
    query = (
        select(
            *activity.ROW_COLUMNS, UserAction.state_updated_at, UserAction.attributes, UserAction.action_configuration_id,
            ReviewClaim.console_user_id.label("claimer_id"), ConsoleUser.email.label("claimer_email"),
            ReviewClaim.assigned_by,
        )
        .outerjoin(ReviewClaim, claim_join)
        .outerjoin(ConsoleUser, ConsoleUser.id == ReviewClaim.console_user_id)
        .where(UserAction.tenant_id == tenant_id, UserAction.in_state(ActionState.REVIEW_REQUIRED))
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
    elif filters.claim == "available":
        query = query.where(or_(ReviewClaim.user_action_id.is_(None), ReviewClaim.console_user_id == (viewer_id or "")))
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
    config = current_config(tenant_id)
    rows = []
    for row in fetched:
        due_at = due_at_for(row.state_updated_at, deadlines.get(row.action_configuration_id))
        rows.append(QueueRow.of(
            row, config, key_values=_key_values(row.attributes),
            claimed_by=row.claimer_email, claimed_by_me=bool(viewer_id and row.claimer_id == viewer_id),
            assigned=row.assigned_by is not None,
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
        .where(UserAction.tenant_id == tenant_id, UserAction.in_state(ActionState.REVIEW_REQUIRED))
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


def next_case_id(
    tenant_id: str, filters: QueueFilters = QueueFilters(), *, viewer_id: str, now: datetime,
    after_case: int | None = None,
) -> int | None:
    """The next case this reviewer can decide (theirs or unclaimed) in the queue ``filters`` select.

    Without ``after_case``: the reviewer's own oldest claim first, then the oldest unclaimed case.
    After a case (approve/reject and next, or skipping it): the next one in the queue's order
    (oldest first), wrapping round to the oldest once the end is reached, never that case itself.
    None when nothing is left to decide.
    """
    if after_case is None:
        claims = (filters.claim,) if filters.claim in ("mine", "unclaimed") else ("mine", "unclaimed")
        for claim in claims:
            page = list_queue(tenant_id, replace(filters, claim=claim), viewer_id=viewer_id, now=now, limit=1)
            if page.rows:
                return page.rows[0].id
        return None
    workable = filters if filters.claim in ("mine", "unclaimed") else replace(filters, claim="available")
    created_at = db.session.execute(
        select(UserAction.created_at).where(UserAction.tenant_id == tenant_id, UserAction.id == after_case)
    ).scalar_one_or_none()
    if created_at is not None:
        later = list_queue(tenant_id, workable, viewer_id=viewer_id, now=now, after=Cursor(created_at, after_case),
                           limit=1)
        if later.rows:
            return later.rows[0].id
    from_start = list_queue(tenant_id, workable, viewer_id=viewer_id, now=now, limit=2)
    return next((row.id for row in from_start.rows if row.id != after_case), None)


def _deadlines(tenant_id: str) -> dict[str, int]:
    rows = db.session.execute(
        select(ActionConfiguration.id, ActionConfiguration.review_deadline_minutes)
        .where(ActionConfiguration.tenant_id == tenant_id, ActionConfiguration.review_deadline_minutes.is_not(None))
    ).all()
    return {row.id: row.review_deadline_minutes for row in rows}


def due_at_for(review_started: datetime, deadline_minutes: int | None) -> datetime | None:
    return review_started + timedelta(minutes=deadline_minutes) if deadline_minutes else None


def _key_values(attributes: dict[str, Any] | None) -> list[tuple[str, str]]:
    custom = (attributes or {}).get("custom")
    if not isinstance(custom, dict):
        return []
    return [(str(k), as_json_text(v)) for k, v in list(custom.items())[:KEY_VALUES_SHOWN]]
