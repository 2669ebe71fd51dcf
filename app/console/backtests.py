"""An action's Back-tests tab: ask what the draft (or any version) would have decided over stored
actions, follow the run while a worker replays them, read what it found. The draft page's impact
preview is a back-test too; its fragment lives here."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user

from app.console import bp
from app.console.forms import refusal
from app.domain.errors import DomainError
from app.htmx import redirect_to, render
from app.models.base import utcnow
from app.services.decisions import backtests
from app.services.rulesets import versions
from app.services.rulesets.rules import get_action_configuration


def _list_page(code: str, *, form: dict[str, str] | None = None, error: str | None = None, status: int = 200):
    config = get_action_configuration(current_user.tenant_id, code)
    page = backtests.list_backtests(current_user.tenant_id, code, page=request.args.get("page", 1, type=int))
    return render("console/actions/backtests.html", config=config, draft=versions.draft_for(config),
                  history=versions.list_versions(config), runs=page, form=form or {}, error=error,
                  tab="backtests", status=status, now=utcnow())


@bp.get("/actions/<code>/backtests")
def backtest_list(code: str):
    return _list_page(code, form=dict(request.args))


@bp.post("/actions/<code>/backtests")
def backtest_create(code: str):
    form = request.form.to_dict()
    try:
        run = backtests.request_from_form(current_user, current_user.tenant_id, code, form, now=utcnow())
    except DomainError as exc:
        if exc.status == 404 and exc.code != "version_not_found":
            raise
        return _list_page(code, form=form, error=exc.message, status=400)
    return redirect_to(url_for("console.backtest_show", code=code, run_id=run.id))


def _run_page(code: str, run_id: str):
    view = backtests.backtest_view(current_user.tenant_id, code, run_id)
    changes = backtests.changed_actions(view, after=request.args.get("after", type=int))
    return dict(view=view, changes=changes, paged="after" in request.args)


@bp.get("/actions/<code>/backtests/<run_id>")
def backtest_show(code: str, run_id: str):
    config = get_action_configuration(current_user.tenant_id, code)
    return render("console/actions/backtest.html", "console/actions/_backtest_changes.html", config=config,
                  draft=versions.draft_for(config), tab="backtests", **_run_page(code, run_id))


@bp.get("/actions/<code>/backtests/<run_id>/progress")
def backtest_progress(code: str, run_id: str):
    """Polled while a run is queued or running. The answer for a finished run holds its result and
    no trigger, so the polling stops by itself; ``for=impact`` answers for the draft page."""
    if request.args.get("for") == "impact":
        view = backtests.backtest_view(current_user.tenant_id, code, run_id)
        return render("console/actions/_impact.html", view=view)
    return render("console/actions/_backtest_status.html", **_run_page(code, run_id))


@bp.post("/actions/<code>/backtests/<run_id>/cancel")
def backtest_cancel(code: str, run_id: str):
    refused = refusal(lambda: backtests.cancel_backtest(current_user, current_user.tenant_id, code, run_id))
    if refused is not None:
        flash(refused.message)  # it ended on its own meanwhile: the page shows how
    return redirect_to(url_for("console.backtest_show", code=code, run_id=run_id))


@bp.post("/actions/<code>/draft/impact")
def draft_impact(code: str):
    """The draft page asks for this as it loads: the last 7 days' back-test of the draft as it is now
    (one asked for within the hour is shown again)."""
    run = backtests.impact_preview(current_user, current_user.tenant_id, code)
    view = backtests.backtest_view(current_user.tenant_id, code, run.id) if run is not None else None
    return render("console/actions/_impact.html", view=view)
