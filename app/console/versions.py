"""An action's rule-set lifecycle in the console: the Draft tab (what is not live yet, publish,
discard) and the Versions tab (history, what each version changed, rollback)."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user

from app.console import bp
from app.domain.builder import SUMMARY_CATALOGUE, describe_conditions
from app.domain.errors import DomainError
from app.domain.rule_sets import diff_rule_sets
from app.htmx import redirect_to, render
from app.services.decisions import backtests
from app.services.rulesets import versions
from app.services.rulesets.rules import get_action_configuration


def describe(conditions) -> str:
    return describe_conditions(conditions, catalogue=SUMMARY_CATALOGUE)


def _draft_page(code: str, *, error: str | None = None, status: int = 200, note: str = ""):
    draft = versions.draft_of(current_user.tenant_id, code)
    return render("console/actions/draft.html", config=draft.config, draft=draft, diff=draft.diff, tab="draft",
                  error=error, note=note, describe=describe, status=status,
                  four_eyes=versions.needs_second_admin(current_user.tenant_id),
                  may_publish=versions.may_publish(current_user, draft))


@bp.get("/actions/<code>/draft")
def action_draft(code: str):
    return _draft_page(code)


@bp.post("/actions/<code>/publish")
def action_publish(code: str):
    note = request.form.get("note", "")
    try:
        version = backtests.publish_with_impact(current_user, current_user.tenant_id, code, note=note,
                                                draft_digest=request.form.get("draft_digest") or None,
                                                impact_run_id=request.form.get("impact_run_id") or None)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _draft_page(code, error=exc.message, status=exc.status, note=note)
    flash(f"Version {version.number} is live: the next {code} track is decided by it.")
    return redirect_to(url_for("console.action_versions", code=code))


@bp.route("/actions/<code>/discard", methods=["GET", "POST"])
def action_discard(code: str):
    if request.method == "POST":
        try:
            live = versions.discard(current_user, current_user.tenant_id, code)
        except DomainError as exc:
            if exc.status == 404:
                raise
            return _draft_page(code, error=exc.message, status=exc.status)
        flash(f"Draft discarded: the rules are those of version {live.number} again.")
        return redirect_to(url_for("console.action_show", code=code))
    draft = versions.draft_of(current_user.tenant_id, code)
    return render("console/actions/discard.html", config=draft.config, draft=draft, diff=draft.diff,
                  describe=describe)


@bp.get("/actions/<code>/versions")
def action_versions(code: str):
    config = get_action_configuration(current_user.tenant_id, code)
    return render("console/actions/versions.html", config=config, history=versions.list_versions(config),
                  tab="versions", draft=versions.draft_for(config))


@bp.get("/actions/<code>/versions/<int:number>")
def action_version(code: str, number: int):
    """One version, as what it changed against the one before it."""
    config = get_action_configuration(current_user.tenant_id, code)
    version = versions.find_version(config, number)
    previous = versions.find_version(config, number - 1) if number > 1 else None
    diff = diff_rule_sets(previous.document, version.document) if previous is not None else None
    return render("console/actions/version.html", config=config, version=version, previous=previous, diff=diff,
                  describe=describe, tab="versions", draft=versions.draft_for(config))


@bp.route("/actions/<code>/versions/<int:number>/rollback", methods=["GET", "POST"])
def action_rollback(code: str, number: int):
    config = get_action_configuration(current_user.tenant_id, code)
    target = versions.find_version(config, number)
    live = versions.live_version(config)
    error, status = None, 200
    if request.method == "POST":
        try:
            version = versions.rollback(current_user, current_user.tenant_id, code, number,
                                        note=request.form.get("note") or None)
        except DomainError as exc:
            if exc.status == 404:
                raise
            error, status = exc.message, exc.status
        else:
            flash(f"Rolled back: version {version.number} (the rules of version {number}) is live.")
            return redirect_to(url_for("console.action_versions", code=code))
    return render("console/actions/rollback.html", config=config, target=target, live=live,
                  diff=diff_rule_sets(live.document, target.document), describe=describe, error=error,
                  status=status)
