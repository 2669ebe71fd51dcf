"""Shadow rule sets as admins use them: start one on an action (the whole draft, or the live rules
plus one rule of the draft), read what it would have changed since it started, stop it, or promote
it to the next live version.

Tracking evaluates the running shadow after the live decision (services.decisions.tracking) and
stores its verdict in :class:`~app.models.ShadowDecision`; what is here only reads those.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.domain.backtest import BacktestTally
from app.domain.decision import ActionState
from app.domain.errors import Conflict, InvalidRequest
from app.domain.rule_sets import document_digest, with_rule
from app.extensions import db
from app.models import ActionVersion, ShadowDecision, ShadowRun, UserAction
from app.models.base import utcnow
from app.services.decisions.action_runs import ChangedAction, ChangesPage, RunsPage, changes_page, find_run, runs_page
from app.services.decisions.backtests import Comparison, open_reviews, rule_names
from app.services.rulesets import versions
from app.services.rulesets.drafts import Actor, actor_name
from app.services.rulesets.rules import get_action_configuration
from app.services.tenancy.audit import record_change

ACTIVE, STOPPED, PROMOTED = "active", "stopped", "promoted"
CHANGES_PAGE = 50
WHOLE_DRAFT = "draft"


def candidates(tenant_id: str, code: str) -> list[tuple[str, str]]:
    """What may run in shadow now: (value, label) — the whole draft, and each rule it adds or
    changes on its own. Empty when the draft is the live version."""
    draft = versions.draft_of(tenant_id, code)
    if not draft.diff:
        return []
    rules = [(change.rule_id, f"Only “{change.after['name']}” ({change.kind})") for change in draft.diff.rules
             if change.after is not None and change.kind in ("added", "changed")]
    return [(WHOLE_DRAFT, f"The whole draft ({draft.diff.count} change{'s' if draft.diff.count != 1 else ''})"),
            *rules]


def start_shadow(actor: Actor, tenant_id: str, code: str, candidate: str = WHOLE_DRAFT, *,
                 now: datetime | None = None) -> ShadowRun:
    """Run ``candidate`` (see :func:`candidates`) in shadow from the next track on."""
    versions.begin_alone(tenant_id, code)
    draft = versions.draft_of(tenant_id, code)
    if not draft.diff:
        raise InvalidRequest(f"Nothing to shadow: the draft is the same as version {draft.live.number}.",
                             code="draft_unchanged")
    if candidate == WHOLE_DRAFT:
        document, rule = draft.document, None
    else:
        rule = next((r for r in draft.document["rules"] if r["ruleId"] == candidate), None)
        live_rule = next((r for r in draft.live.document["rules"] if r["ruleId"] == candidate), None)
        if rule is None or rule == live_rule:
            raise InvalidRequest("Choose the whole draft or a rule the draft adds or changes.", code="invalid_candidate")
        document = with_rule(draft.live.document, rule)
    versions.check_publishable(document)
    run = ShadowRun(
        tenant_id=tenant_id, action_configuration_id=draft.config.id, action_code=code,
        kind="draft" if rule is None else "rule", rule_id=rule and rule["ruleId"], rule_name=rule and rule["name"],
        base_number=draft.live.number, candidate_document=document, candidate_digest=document_digest(document),
        status=ACTIVE, started_by=actor_name(actor), started_at=now or utcnow(),
    )
    db.session.add(run)
    try:
        db.session.flush()  # one running shadow per action: a unique index holds it under concurrency
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(f"A shadow already runs on '{code}'. Stop it before starting another.",
                       code="shadow_running") from exc
    record_change(actor, "shadow.started", run.id, "shadow", tenant_id=tenant_id,
                  after={"code": code, "label": describe_candidate(run), "baseVersion": run.base_number})
    db.session.commit()
    return run


def stop_shadow(actor: Actor, tenant_id: str, code: str, run_id: str, *, now: datetime | None = None) -> ShadowRun:
    versions.begin_alone(tenant_id, code)  # beside a promote of the same shadow, one of the two wins
    run = _end(actor, _run(tenant_id, code, run_id), STOPPED, now=now)
    record_change(actor, "shadow.stopped", run.id, "shadow", tenant_id=tenant_id, after={"code": code})
    db.session.commit()
    return run


def promote_shadow(actor: Actor, tenant_id: str, code: str, run_id: str, *, note: str,
                   now: datetime | None = None) -> ActionVersion:
    """Publish the shadow's rules as the next version, with what it measured as the version's
    impact, and end it, in one transaction. Refused when another version went live since it started."""
    view = shadow_view(tenant_id, code, run_id)
    if not view.active:
        raise Conflict(f"This shadow has already ended ({view.run.status}).", code="shadow_ended")
    document, base_number, impact = view.run.candidate_document, view.run.base_number, impact_summary(view)
    version = versions.publish_document(actor, tenant_id, code, document, note=note, base_number=base_number,
                                        impact=impact, now=now)
    run = _end(actor, _run(tenant_id, code, run_id), PROMOTED, now=now)  # read again under the action's lock
    run.promoted_number = version.number
    record_change(actor, "shadow.promoted", run.id, "shadow", tenant_id=tenant_id,
                  after={"code": code, "version": version.number})
    db.session.commit()
    return version


def _end(actor: Actor, run: ShadowRun, status: str, *, now: datetime | None) -> ShadowRun:
    """Through the ORM, so the flush gives the tenant a new configuration stamp: every worker stops
    evaluating the shadow on its next track."""
    if run.status != ACTIVE:
        db.session.rollback()
        raise Conflict(f"This shadow has already ended ({run.status}).", code="shadow_ended")
    run.status, run.ended_by, run.ended_at = status, actor_name(actor), now or utcnow()
    return run


def active_shadow(tenant_id: str, code: str) -> ShadowRun | None:
    config = get_action_configuration(tenant_id, code)
    return db.session.execute(
        select(ShadowRun).where(ShadowRun.action_configuration_id == config.id, ShadowRun.status == ACTIVE)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class ShadowView(Comparison):
    """A shadow and what it would have changed since it started."""

    run: ShadowRun

    @property
    def active(self) -> bool:
        return self.run.status == ACTIVE

    @property
    def candidate_label(self) -> str:
        return "the shadow"

    @property
    def label(self) -> str:
        return describe_candidate(self.run)

    @property
    def days(self) -> float:
        end = self.run.ended_at or utcnow()
        return (end - self.run.started_at).total_seconds() / 86400

    def reviews_per_day(self) -> float:
        """Net review cases a day; shown once the shadow has run a day (a first hour's rate misleads)."""
        return (self.tally.reviews_added - self.tally.reviews_removed) / max(self.days, 1.0)


def describe_candidate(run: ShadowRun) -> str:
    if run.kind == "rule":
        return f"Version {run.base_number} with the draft's rule “{run.rule_name}”"
    return f"The draft as of {run.started_at:%Y-%m-%d %H:%M} UTC (on version {run.base_number})"


def shadow_view(tenant_id: str, code: str, run_id: str) -> ShadowView:
    run = _run(tenant_id, code, run_id)
    return ShadowView(_tally(run), rule_names(run.action_configuration_id, run.candidate_document), open_reviews(run),
                      run=run)


def _tally(run: ShadowRun) -> BacktestTally:
    """The shadow's verdicts counted as a back-test counts its replays (nothing to self-check:
    the live decision is the stored one)."""
    decision = ShadowDecision
    grouped = db.session.execute(
        select(decision.live_state, decision.shadow_state, decision.live_rule_id, decision.shadow_rule_id,
               func.count()).where(decision.run_id == run.id)
        .group_by(decision.live_state, decision.shadow_state, decision.live_rule_id, decision.shadow_rule_id)
    ).all()
    transitions: Counter[tuple[str, str]] = Counter()
    live_rules: Counter[str] = Counter()
    shadow_rules: Counter[str] = Counter()
    for live_state, shadow_state, live_rule, shadow_rule, n in grouped:
        transitions[(live_state, shadow_state)] += n
        live_rules[live_rule or ""] += n
        shadow_rules[shadow_rule or ""] += n
    review = ActionState.REVIEW_REQUIRED.value
    total = sum(transitions.values())
    return BacktestTally(
        total=total, reproduced=total, changed=sum(n for (a, b), n in transitions.items() if a != b),
        transitions=transitions, stored_rules=live_rules, candidate_rules=shadow_rules,
        reviews_added=sum(n for (a, b), n in transitions.items() if b == review and a != review),
        reviews_removed=sum(n for (a, b), n in transitions.items() if a == review and b != review),
    )


def impact_summary(view: ShadowView) -> dict:
    tally = view.tally
    return {"shadowId": view.run.id, "window": f"shadow since {view.run.started_at:%Y-%m-%d %H:%M} UTC",
            "actions": tally.total, "changed": tally.changed,
            "transitions": [[before, after, n] for (before, after), n in sorted(tally.transitions.items())
                            if before != after]}


@dataclass(frozen=True)
class ShadowChange(ChangedAction):
    live_state: str
    shadow_state: str
    shadow_rule_id: str | None


def changed_actions(view: ShadowView, *, after: int | None = None,
                    limit: int = CHANGES_PAGE) -> ChangesPage[ShadowChange]:
    """The tracks the shadow would have decided differently, newest first."""
    decision = ShadowDecision
    query = (select(decision.id, decision.user_action_id, decision.created_at, UserAction.user_id,
                    decision.live_state, decision.shadow_state, decision.shadow_rule_id)
             .join(UserAction, UserAction.id == decision.user_action_id)
             .where(decision.run_id == view.run.id, decision.live_state != decision.shadow_state))
    return changes_page(query, decision.id, ShadowChange, after=after, limit=limit, newest_first=True)


def list_shadows(tenant_id: str, code: str, *, page: int = 1) -> RunsPage:
    return runs_page(ShadowRun, ShadowRun.started_at, tenant_id, code, page=page)


def _run(tenant_id: str, code: str, run_id: str) -> ShadowRun:
    return find_run(ShadowRun, tenant_id, code, run_id, kind="shadow")
