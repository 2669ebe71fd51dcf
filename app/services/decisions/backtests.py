"""Back-tests as admins use them: asking for one, following it, reading what it found, cancelling
it, and publishing a draft with the impact its back-test showed.

A back-test never runs inside a request: asking for one stores a queued
:class:`~app.models.BacktestRun`, and a worker (``flask backtests work``, or ``flask rules
backtest`` in the foreground) runs it (services.decisions.backtest_runner).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from app.domain.backtest import IMPACT_WINDOW, BacktestTally, Window, parse_window, time_left
from app.domain.decision import ActionState
from app.domain.errors import Conflict, InvalidRequest
from app.domain.rule_sets import document_digest
from app.extensions import db
from app.models import ActionVersion, BacktestChange, BacktestRun, ShadowRun, UserAction
from app.models.base import utcnow
from app.services.decisions.action_runs import ChangedAction, ChangesPage, RunsPage, changes_page, find_run, runs_page
from app.services.rulesets import versions
from app.services.rulesets.drafts import Actor, actor_name
from app.services.rulesets.rules import get_action_configuration
from app.services.tenancy.audit import record_change

QUEUED, RUNNING, DONE, CANCELLED, FAILED = "queued", "running", "done", "cancelled", "failed"
ACTIVE = (QUEUED, RUNNING)
CHANGES_PAGE = 50
# An impact preview asked for this recently, of the same draft, is shown again rather than redone.
IMPACT_REUSE = timedelta(hours=1)


def request_backtest(actor: Actor, tenant_id: str, code: str, *, version: int | None, window: Window,
                     purpose: str = "manual", now: datetime | None = None) -> BacktestRun:
    """Queue a back-test of the draft (``version`` None) or of version ``version``."""
    config = get_action_configuration(tenant_id, code)
    if version is None:
        document = versions.draft_for(config).document
    else:
        document = versions.find_version(config, version).document
    run = BacktestRun(
        tenant_id=tenant_id, action_configuration_id=config.id, action_code=code, candidate_number=version,
        candidate_document=document, candidate_digest=document_digest(document), window_label=window.label,
        window_start=window.start, window_end=window.end, purpose=purpose, requested_by=actor_name(actor),
        status=QUEUED, created_at=now or utcnow(),
    )
    db.session.add(run)
    db.session.commit()
    return run


def request_from_form(actor: Actor, tenant_id: str, code: str, form: dict[str, str], *, now: datetime,
                      purpose: str = "manual") -> BacktestRun:
    """The console's and the CLI's words for a back-test: ``candidate`` ("draft" or a version
    number), ``window`` (24h, 7d, 30d or "dates" with ``since`` and ``until``)."""
    candidate = (form.get("candidate") or "draft").strip()
    if candidate == "draft":
        version = None
    elif candidate.isdigit():
        version = int(candidate)
    else:
        raise InvalidRequest("Choose the draft or a version number to back-test.", code="invalid_candidate")
    label = form.get("window") or IMPACT_WINDOW
    dated = label == "dates"
    window = parse_window(None if dated else label, since=form.get("since") if dated else None,
                          until=form.get("until") if dated else None, now=now)
    if dated and not form.get("since"):
        raise InvalidRequest("Give the first day of the window.", code="invalid_window")
    return request_backtest(actor, tenant_id, code, version=version, window=window, purpose=purpose, now=now)


@dataclass(frozen=True)
class Comparison:
    """What a candidate rule set decides beside what decided: a back-test's or a shadow's counts."""

    tally: BacktestTally
    names: dict[str, str]  # rule id → name, from the candidate and the versions it is compared with
    open_reviews: int  # the action's review queue today, beside the cases the candidate would add

    def rule_name(self, rule_id: str) -> str:
        return self.names.get(rule_id, "a rule since deleted") if rule_id else "No rule (the action's default)"

    def rule_rows(self) -> list[tuple[str, int, int]]:
        """(rule name, stored count, candidate count), busiest first."""
        ids = set(self.tally.stored_rules) | set(self.tally.candidate_rules)
        rows = [(self.rule_name(rule_id), self.tally.stored_rules[rule_id], self.tally.candidate_rules[rule_id])
                for rule_id in ids]
        return sorted(rows, key=lambda row: (-max(row[1], row[2]), row[0]))


@dataclass(frozen=True)
class BacktestView(Comparison):
    """A run as the console and the CLI show it."""

    run: BacktestRun
    now: datetime

    @property
    def active(self) -> bool:
        return self.run.status in ACTIVE

    @property
    def window(self) -> Window:
        return Window(self.run.window_label, self.run.window_start, self.run.window_end)

    @property
    def candidate_label(self) -> str:
        return "the draft" if self.run.candidate_number is None else f"version {self.run.candidate_number}"

    @property
    def progress(self) -> float:
        total = self.run.rows_total
        return 1.0 if total == 0 else (self.run.rows_done / total if total else 0.0)

    @property
    def time_left(self) -> timedelta | None:
        return time_left(self.run.rows_done, self.run.rows_total, self.run.started_at, self.now)

    @property
    def time_left_text(self) -> str | None:
        """"about 3 minutes"; None until there is a pace to go by."""
        left = self.time_left
        if left is None:
            return None
        seconds = left.total_seconds()
        if seconds < 60:
            return "under a minute"
        minutes = round(seconds / 60)
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"



def backtest_view(tenant_id: str, code: str, run_id: str, *, now: datetime | None = None) -> BacktestView:
    run = _run(tenant_id, code, run_id)
    return BacktestView(BacktestTally.from_document(run.tally),
                        rule_names(run.action_configuration_id, run.candidate_document), open_reviews(run),
                        run=run, now=now or utcnow())


def list_backtests(tenant_id: str, code: str, *, page: int = 1) -> RunsPage:
    return runs_page(BacktestRun, BacktestRun.created_at, tenant_id, code, page=page)


def cancel_backtest(actor: Actor, tenant_id: str, code: str, run_id: str, *, now: datetime | None = None) -> BacktestRun:
    """A queued run ends at once; a running one at its worker's next checkpoint."""
    run = _run(tenant_id, code, run_id)
    if run.status not in ACTIVE:
        raise Conflict(f"This back-test has already ended ({run.status}).", code="backtest_finished")
    now = now or utcnow()
    table = BacktestRun.__table__
    db.session.execute(update(table).where(table.c.id == run.id, table.c.status == QUEUED)
                       .values(status=CANCELLED, finished_at=now, cancel_requested_at=now))
    db.session.execute(update(table).where(table.c.id == run.id, table.c.status == RUNNING)
                       .values(cancel_requested_at=now))
    record_change(actor, "backtest.cancelled", run.id, "backtest", tenant_id=tenant_id, after={"code": code})
    db.session.commit()
    db.session.refresh(run)
    return run


@dataclass(frozen=True)
class BacktestChangedAction(ChangedAction):
    stored_state: str
    candidate_state: str
    stored_rule_id: str | None
    candidate_rule_id: str | None


def changed_actions(view: BacktestView, *, after: int | None = None,
                    limit: int = CHANGES_PAGE) -> ChangesPage[BacktestChangedAction]:
    """The actions whose state the candidate changes, in the order they were tracked."""
    change = BacktestChange
    query = (select(change.id, change.user_action_id, change.action_created_at, UserAction.user_id,
                    change.stored_state, change.candidate_state, change.stored_rule_id, change.candidate_rule_id)
             .join(UserAction, UserAction.id == change.user_action_id).where(change.run_id == view.run.id))
    return changes_page(query, change.id, BacktestChangedAction, after=after, limit=limit, newest_first=False)


def impact_preview(actor: Actor, tenant_id: str, code: str, *, now: datetime | None = None) -> BacktestRun | None:
    """The last 7 days' back-test of the draft as it is now: one asked for within the hour is
    reused, else one is queued. None when there is no draft to preview."""
    now = now or utcnow()
    draft = versions.draft_of(tenant_id, code)
    if not draft.diff:
        return None
    recent = db.session.execute(
        select(BacktestRun).where(BacktestRun.action_configuration_id == draft.config.id,
                                  BacktestRun.candidate_number.is_(None),
                                  BacktestRun.candidate_digest == draft.digest,
                                  BacktestRun.window_label == IMPACT_WINDOW,
                                  BacktestRun.status.in_((QUEUED, RUNNING, DONE)),
                                  BacktestRun.created_at >= now - IMPACT_REUSE)
        .order_by(BacktestRun.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    if recent is not None:
        return recent
    return request_backtest(actor, tenant_id, code, version=None, purpose="impact",
                            window=parse_window(IMPACT_WINDOW, now=now), now=now)


def publish_with_impact(actor: Actor, tenant_id: str, code: str, *, note: str, draft_digest: str | None,
                        impact_run_id: str | None, now: datetime | None = None) -> ActionVersion:
    """Publish the draft; when the publisher saw its finished impact back-test, the version keeps
    what it said (the change note's numbers)."""
    impact = None
    if impact_run_id:
        run = db.session.get(BacktestRun, impact_run_id)
        if run is not None and run.tenant_id == tenant_id and run.status == DONE and run.candidate_number is None \
                and run.candidate_digest == draft_digest:
            impact = impact_summary(run)
    return versions.publish(actor, tenant_id, code, note=note, draft_digest=draft_digest, impact=impact, now=now)


def impact_summary(run: BacktestRun) -> dict[str, Any]:
    tally = BacktestTally.from_document(run.tally)
    return {"runId": run.id, "window": run.window_label, "actions": tally.total, "changed": tally.changed,
            "transitions": [[before, after, n] for (before, after), n in sorted(tally.transitions.items())
                            if before != after]}


def describe_backtest(view: BacktestView) -> list[str]:
    """The summary as lines of text (the CLI prints it)."""
    run, tally = view.run, view.tally
    lines = [f"Back-test of {view.candidate_label} of '{run.action_code}' over {run.window_label}: {run.status}."]
    if run.error:
        lines.append(f"Error: {run.error}")
    lines.append(f"Actions replayed: {tally.total}" + (f" ({run.skipped} tracked before versions, not replayable)"
                                                      if run.skipped else ""))
    check = f"Self-check: the deciding versions reproduce {tally.reproduced} of {tally.total} stored outcomes"
    lines.append(check + ("." if tally.self_check_passed else
                          f". NOT REPRODUCED: actions {', '.join(map(str, tally.mismatches))}."))
    lines.append(f"Changed: {tally.changed} of {tally.total}.")
    matrix = tally.matrix()
    lines.append("Stored -> " + view.candidate_label + ":")
    for stored, total, cells in matrix.rows():
        if total:
            moved = ", ".join(f"{cell.candidate} {cell.count} ({cell.share:.1%})" for cell in cells if cell.count)
            lines.append(f"  {stored} ({total}): {moved}")
    lines.append("Deciding rules (stored / " + view.candidate_label + "):")
    for name, stored_count, candidate_count in view.rule_rows():
        lines.append(f"  {name}: {stored_count} / {candidate_count}")
    for state, n in sorted(tally.unenrolled_challenges.items()):
        lines.append(f"New challenges for users with nothing enrolled: {n}, which the unenrolled policy makes {state}.")
    lines.append(f"Review cases per day: {tally.reviews_per_day(view.window):+.1f} "
                 f"(today's queue: {view.open_reviews} open).")
    return lines


def _run(tenant_id: str, code: str, run_id: str) -> BacktestRun:
    return find_run(BacktestRun, tenant_id, code, run_id, kind="back-test")


def rule_names(action_configuration_id: str, candidate: dict[str, Any]) -> dict[str, str]:
    """Names of a candidate's rules and of every version's of the action: stored decisions may
    name rules the candidate no longer has."""
    names: dict[str, str] = {}
    documents = db.session.execute(
        select(ActionVersion.document).where(ActionVersion.action_configuration_id == action_configuration_id)
        .order_by(ActionVersion.number)
    ).scalars()
    for document in (*documents, candidate):
        names.update({rule["ruleId"]: rule["name"] for rule in document["rules"]})
    return names


def open_reviews(run: BacktestRun | ShadowRun) -> int:
    """The review cases of the run's action waiting today."""
    return db.session.execute(
        select(func.count()).select_from(UserAction).where(
            UserAction.tenant_id == run.tenant_id, UserAction.action_configuration_id == run.action_configuration_id,
            UserAction.in_state(ActionState.REVIEW_REQUIRED))
    ).scalar_one()
