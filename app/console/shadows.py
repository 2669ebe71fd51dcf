"""An action's Shadow tab: run the draft (or one of its rules) beside the live version on real
tracks, read what it would have changed, then stop it or promote it to the next version."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user

from app.console import bp
from app.console.forms import refusal
from app.domain.errors import DomainError
from app.htmx import redirect_to, render
from app.services.decisions import shadows
from app.services.rulesets import versions
from app.services.rulesets.rules import get_action_configuration


def _list_page(code: str, *, error: str | None = None, status: int = 200):
    config = get_action_configuration(current_user.tenant_id, code)
    return render("console/actions/shadows.html", config=config, draft=versions.draft_for(config),
                  candidates=shadows.candidates(current_user.tenant_id, code),
                  active=shadows.active_shadow(current_user.tenant_id, code),
                  runs=shadows.list_shadows(current_user.tenant_id, code, page=request.args.get("page", 1, type=int)),
                  describe=shadows.describe_candidate, tab="shadow", error=error, status=status)


@bp.get("/actions/<code>/shadow")
def shadow_list(code: str):
    return _list_page(code)


@bp.post("/actions/<code>/shadow")
def shadow_start(code: str):
    try:
        run = shadows.start_shadow(current_user, current_user.tenant_id, code,
                                   request.form.get("candidate") or shadows.WHOLE_DRAFT)
    except DomainError as exc:
        if exc.code == "action_not_found":
            raise
        return _list_page(code, error=exc.message, status=exc.status if exc.status in (400, 409) else 400)
    flash(f"In shadow from the next track on: {shadows.describe_candidate(run)}.")
    return redirect_to(url_for("console.shadow_show", code=code, run_id=run.id))


def _shadow_page(code: str, run_id: str, *, error: str | None = None, status: int = 200, note: str = ""):
    view = shadows.shadow_view(current_user.tenant_id, code, run_id)
    config = get_action_configuration(current_user.tenant_id, code)
    changes = shadows.changed_actions(view, after=request.args.get("after", type=int))
    return render("console/actions/shadow.html", "console/actions/_shadow_changes.html", config=config,
                  draft=versions.draft_for(config), view=view, changes=changes, paged="after" in request.args,
                  tab="shadow", error=error, status=status, note=note)


@bp.get("/actions/<code>/shadow/<run_id>")
def shadow_show(code: str, run_id: str):
    return _shadow_page(code, run_id)


@bp.post("/actions/<code>/shadow/<run_id>/stop")
def shadow_stop(code: str, run_id: str):
    refused = refusal(lambda: shadows.stop_shadow(current_user, current_user.tenant_id, code, run_id))
    if refused is not None:
        return _shadow_page(code, run_id, error=refused.message, status=refused.status)
    flash("Shadow stopped: tracks are decided by the live version alone again.")
    return redirect_to(url_for("console.shadow_show", code=code, run_id=run_id))


@bp.post("/actions/<code>/shadow/<run_id>/promote")
def shadow_promote(code: str, run_id: str):
    note = request.form.get("note", "")
    try:
        version = shadows.promote_shadow(current_user, current_user.tenant_id, code, run_id, note=note)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _shadow_page(code, run_id, error=exc.message, status=exc.status, note=note)
    flash(f"Promoted: version {version.number} is live, with what the shadow measured.")
    return redirect_to(url_for("console.action_version", code=code, number=version.number))
