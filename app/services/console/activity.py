"""Tracked actions for the console: the filtered, keyset-paginated list and one action's story.

The list is ordered ``created_at DESC, id DESC`` and paginated by that pair (never OFFSET), so a
page costs the same however deep it is and equal timestamps neither repeat nor skip a row. Every
filter combination starts from one of the table's indexes, all led by ``tenant_id`` and ending in
``created_at``: (tenant_id, created_at), (tenant_id, state, created_at) and
(tenant_id, user_id, created_at); the action code is a filter on top of the first. The state index
holds no ALLOW action: a filter for ALLOW walks the first, where most rows are ALLOW.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, Self, TypeVar

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from app.domain.decision import ActionState, Outcome, VerificationMethod
from app.domain.keyset import Cursor
from app.domain.review_reasons import code_for
from app.extensions import db
from app.models import ActionConfiguration, ActionVersion, ReviewDecision, UserAction
from app.services.console.outcome_hours import bucket_for
from app.services.decisions.action_state import StateStep, history
from app.services.decisions.replay import explanation
from app.services.decisions.trace_view import DecisionTrace, as_json_text, read_trace
from app.services.tenancy.tenant_config import TenantConfig, current_config

PAGE_SIZE = 50
Filters = TypeVar("Filters")
DEFAULT_RULE = "default"  # the ``rule`` filter's value for actions no rule decided (the action's default)
RULE_ID_MAX = 36

@dataclass(frozen=True)
class ActivityFilters:
    action_code: str | None = None
    state: ActionState | None = None
    user_id: str | None = None
    date_from: date | None = None  # inclusive, UTC
    date_to: date | None = None  # inclusive, UTC
    reason_code: str | None = None  # decided in review with this reason code (domain.review_reasons)
    # Any state of this outcome (a challenge pending, passed or failed): what the Overview's bars count.
    outcome: Outcome | None = None
    rule_id: str | None = None  # the deciding rule's id, or DEFAULT_RULE: decided by no rule
    method: VerificationMethod | None = None  # the method the user verified with

    @property
    def active(self) -> bool:
        return any((self.action_code, self.state, self.user_id, self.date_from, self.date_to, self.reason_code,
                    self.outcome, self.rule_id, self.method))

    def as_query(self) -> dict[str, str]:
        """The filters as URL query arguments, for links that keep them (pagination)."""
        query = {
            "action": self.action_code, "state": self.state.value if self.state else None, "user": self.user_id,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None, "reason": self.reason_code,
            "outcome": self.outcome.value if self.outcome else None, "rule": self.rule_id,
            "method": self.method.value if self.method else None,
        }
        return {name: value for name, value in query.items() if value}


@dataclass(frozen=True)
class ParsedFilters(Generic[Filters]):
    """A list's filter form as read (the activity list's, the review queue's)."""

    filters: Filters
    errors: dict[str, str]  # query argument → message; a bad value is reported and ignored
    values: dict[str, str]  # what was typed, to put back in the form


def parse_filters(args: Mapping[str, str]) -> ParsedFilters[ActivityFilters]:
    """Read the filter form (``action``, ``state``, ``user``, ``from``, ``to``, ``reason``, ``outcome``,
    ``rule``, ``method``)."""
    values = {name: (args.get(name) or "").strip()
              for name in ("action", "state", "user", "from", "to", "reason", "outcome", "rule", "method")}
    errors: dict[str, str] = {}
    reason_code = values["reason"] or None
    if reason_code and code_for(reason_code) != reason_code:
        errors["reason"] = "Pick a reason from the list."
        reason_code = None
    # A picker's value that is not one of its enum's members (a hand-edited URL) is reported and ignored.
    picked = {}
    for name, enum, noun in (("state", ActionState, "a state"), ("outcome", Outcome, "an outcome"),
                             ("method", VerificationMethod, "a method")):
        picked[name] = next((member for member in enum if member.value == values[name]), None)
        if values[name] and picked[name] is None:
            errors[name] = f"Pick {noun} from the list."
    dates: dict[str, date | None] = {"from": None, "to": None}
    for name in dates:
        if values[name]:
            try:
                dates[name] = date.fromisoformat(values[name])
            except ValueError:
                errors[name] = "Enter a date as YYYY-MM-DD."
    if dates["from"] and dates["to"] and dates["from"] > dates["to"]:
        errors["to"] = "The end date is before the start date."
        dates["to"] = None
    filters = ActivityFilters(
        action_code=values["action"][:64] or None,
        state=picked["state"],
        user_id=values["user"][:255] or None,
        date_from=dates["from"],
        date_to=dates["to"],
        reason_code=reason_code,
        outcome=picked["outcome"],
        # Any id is accepted: a rule deleted since still decided the actions it decided.
        rule_id=values["rule"][:RULE_ID_MAX] or None,
        method=picked["method"],
    )
    return ParsedFilters(filters=filters, errors=errors, values=values)


@dataclass(frozen=True)
class ActivityRow:
    """A tracked action as a list shows it (the review queue's rows add their claim and deadline)."""

    id: int
    created_at: datetime
    action_code: str
    user_id: str
    state: ActionState
    deciding_rule_name: str | None
    ip_address: str | None

    @classmethod
    def of(cls, row: Any, config: TenantConfig, **more: Any) -> Self:
        """From a selected row that has at least ``ROW_COLUMNS``; ``config``: its tenant's."""
        return cls(id=row.id, created_at=row.created_at, action_code=row.action_code, user_id=row.user_id,
                   state=row.state,
                   deciding_rule_name=deciding_rule_name(config, row.output, row.action_version_id,
                                                         row.priority_rule_id),
                   ip_address=row.ip_address, **more)


ROW_COLUMNS = (
    UserAction.id, UserAction.created_at, UserAction.action_code, UserAction.user_id, UserAction.state,
    UserAction.ip_address, UserAction.priority_rule_id, UserAction.output, UserAction.action_version_id,
)


@dataclass(frozen=True)
class ActivityPage:
    rows: list[ActivityRow]
    next_cursor: Cursor | None  # None on the last page


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def list_activity(
    tenant_id: str, filters: ActivityFilters = ActivityFilters(), *, cursor: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> ActivityPage:
    """Newest first. Fetches ``limit + 1`` rows to know whether an older page exists."""
    query = select(*ROW_COLUMNS).where(UserAction.tenant_id == tenant_id)
    # Equality filters first: they pick the index whose next column is created_at.
    if filters.user_id:
        query = query.where(UserAction.user_id == filters.user_id)
    if filters.state:
        query = query.where(UserAction.in_state(filters.state))
    if filters.action_code:
        query = query.where(UserAction.action_code == filters.action_code)
    if filters.outcome:
        query = query.where(UserAction.in_state(*(state for state in ActionState
                                                   if bucket_for(state) == filters.outcome.value)))
    if filters.rule_id:
        query = query.where(UserAction.priority_rule_id.is_(None) if filters.rule_id == DEFAULT_RULE
                            else UserAction.priority_rule_id == filters.rule_id)
    if filters.method:
        query = query.where(UserAction.verification_method == filters.method)
    if filters.reason_code:
        # Few actions are decided in review: the decisions with the code (an index range) pick them.
        query = query.where(UserAction.id.in_(
            select(ReviewDecision.user_action_id)
            .where(ReviewDecision.tenant_id == tenant_id, ReviewDecision.reason_code == filters.reason_code)
        ))
    if filters.date_from:
        query = query.where(UserAction.created_at >= _start_of(filters.date_from))
    if filters.date_to:
        query = query.where(UserAction.created_at < _start_of(filters.date_to + timedelta(days=1)))
    if cursor:
        # (created_at, id) < cursor, written so the first conjunct is an index range on created_at
        # and the second only sorts out rows sharing the cursor's timestamp.
        query = query.where(
            UserAction.created_at <= cursor.created_at,
            or_(UserAction.created_at < cursor.created_at,
                and_(UserAction.created_at == cursor.created_at, UserAction.id < cursor.id)),
        )
    query = query.order_by(UserAction.created_at.desc(), UserAction.id.desc()).limit(limit + 1)
    fetched = db.session.execute(query).all()
    config = current_config(tenant_id)
    rows = [ActivityRow.of(row, config) for row in fetched[:limit]]
    more = len(fetched) > limit
    return ActivityPage(rows=rows, next_cursor=Cursor(rows[-1].created_at, rows[-1].id) if more else None)


def deciding_rule_name(config: TenantConfig, output: dict | None, version_id: str | None,
                       rule_id: str | None) -> str | None:
    """The deciding rule's name as it was when the action was decided (rules can be renamed), for
    list rows that need only the name, not the whole trace: from the version that decided it (a
    handful per page, each compiled once per process), else from an output stored before versions."""
    if not rule_id:
        return None
    for rule in (output or {}).get("rules") or ():
        if isinstance(rule, dict) and rule.get("ruleId") == rule_id:
            return rule.get("name")
    version = config.version(version_id) if version_id else None
    return next((rule.name for rule in version.rules if rule.rule_id == rule_id), None) if version else None


def action_codes(tenant_id: str) -> list[str]:
    """Configured action codes, to suggest in the filter form."""
    return list(db.session.execute(
        select(ActionConfiguration.code).where(ActionConfiguration.tenant_id == tenant_id)
        .order_by(ActionConfiguration.code)
    ).scalars())


@dataclass(frozen=True)
class RuleChoice:
    rule_id: str
    action_code: str
    name: str


def rule_choices(tenant_id: str) -> list[RuleChoice]:
    """The rules the filter's picker offers: each action's live rules, by action and priority. A rule no
    longer live is still a valid filter (from a link), just not offered."""
    config = current_config(tenant_id)
    choices: list[RuleChoice] = []
    for code in action_codes(tenant_id):
        policy = config.action(code)
        if policy is not None:
            choices += [RuleChoice(rule.rule_id, code, rule.name) for rule in config.rule_set(policy).rules]
    return choices


# ---------------------------------------------------------------------------------------------
# One action


@dataclass(frozen=True)
class ActionDetail:
    action: UserAction
    custom: list[tuple[str, str]]  # (key, JSON text of the value)
    scope: str | None
    trace: DecisionTrace
    history: list[StateStep]
    version: ActionVersion | None  # the rule-set version that decided it; None: tracked before versions

    @property
    def replayable(self) -> bool:
        """Its version and input snapshot are stored (an erased user's snapshot is not)."""
        return self.version is not None and self.action.input_snapshot is not None


def get_action_detail(tenant_id: str, action_id: int) -> ActionDetail | None:
    """None when the action does not exist or belongs to another tenant."""
    action = db.session.execute(
        select(UserAction).where(UserAction.tenant_id == tenant_id, UserAction.id == action_id)
        .options(selectinload(UserAction.state_changes))
    ).scalar_one_or_none()
    if action is None:
        return None
    attributes = action.attributes or {}
    return ActionDetail(
        action=action,
        custom=_items(attributes.get("custom")),
        scope=attributes.get("scope") or None,
        trace=read_trace(explanation(action)),
        history=history(action),
        version=db.session.get(ActionVersion, action.action_version_id) if action.action_version_id else None,
    )


def _items(custom: Any) -> list[tuple[str, str]]:
    if isinstance(custom, dict):
        return [(str(key), as_json_text(value)) for key, value in sorted(custom.items(), key=lambda kv: str(kv[0]))]
    return [] if custom in (None, "") else [("(value)", as_json_text(custom))]
