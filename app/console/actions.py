"""Actions: the list, creating one, and an action's page with its Rules, Activity and Settings tabs."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user
from pydantic import ValidationError

from app.config import current_settings
from app.console import bp
from app.console.action_forms import ActionCreateForm, ActionSettingsForm, SimulationForm
from app.domain.builder import SUMMARY_CATALOGUE, describe_conditions
from app.domain.errors import DomainError
from app.htmx import redirect_to, render
from app.models.base import utcnow
from app.services.console import action_stats, getting_started
from app.services.decisions import simulator
from app.services.rulesets import rules, versions
from app.services.rulesets.rules import ActionDocument
from app.services.tenancy.listing import ListQuery

ACTIVITY_LIMIT = 50


def _config(code: str):
    return rules.get_action_configuration(current_user.tenant_id, code)


@bp.get("/actions")
def action_list():
    summaries = action_stats.list_action_summaries(current_user.tenant_id, ListQuery.from_args(request.args),
                                                   now=utcnow())
    first_run = getting_started.getting_started(current_user.tenant_id, public_url=current_settings().public_url)
    return render("console/actions/list.html", "console/actions/_results.html", summaries=summaries,
                  buckets=action_stats.BUCKETS, first_run=first_run)


@bp.get("/actions/first-event")
def action_first_event():
    """The Get started panel's poll: waiting (and asking again), or the first event (and done)."""
    return render("console/actions/_first_event.html", "console/actions/_first_event.html",
                  first=getting_started.first_event(current_user.tenant_id))


@bp.route("/actions/new", methods=["GET", "POST"])
def action_new():
    form = ActionCreateForm()
    if form.validate_on_submit():
        try:
            document = ActionDocument.model_validate(form.document())
            config = rules.create_action_configuration(current_user.tenant_id, document, actor=current_user)
        except DomainError as exc:
            form.code.errors = [*form.code.errors, exc.message]
        except ValidationError as exc:
            form.form_errors.append(str(exc.errors(include_url=False)[0]["msg"]))
        else:
            flash(f"Action {config.code} created. Add rules to decide when it challenges, reviews or blocks.")
            return redirect_to(url_for("console.action_show", code=config.code))
    status = 400 if form.errors or form.form_errors else 200
    return render("console/actions/new.html", "console/actions/_action_form.html", form=form, status=status)


def show_context(code: str, *, test_form: SimulationForm | None = None, simulation=None, test_error=None, message=None):
    config = _config(code)
    rows = [(rule, describe_conditions(rule.conditions, catalogue=SUMMARY_CATALOGUE)) for rule in config.rules]
    return {
        "config": config,
        "draft": versions.draft_for(config),
        "rows": rows,
        "tab": "rules",
        "test_form": test_form or SimulationForm(formdata=None),
        "simulation": simulation,
        "test_error": test_error,
        "message": message,
    }


# Links use .../rules: "/actions/new" is the create form, and a track may create an action whose
# code is "new". The short URL keeps working for the others. (The lower decorator registers first,
# and url_for builds the first rule that fits.)
@bp.get("/actions/<code>")
@bp.get("/actions/<code>/rules")
def action_show(code: str):
    return render("console/actions/show.html", **show_context(code))


@bp.post("/actions/<code>/test")
def action_test(code: str):
    """Test action: what a track would decide for these facts, and the whole trace; writes nothing."""
    form = SimulationForm()
    simulation, error = None, None
    if form.validate_on_submit():
        try:
            simulation = simulator.simulate_action(current_user.tenant_id, code, form.user_id.data.strip(),
                                                   form.attributes())
        except DomainError as exc:
            if exc.status == 404:
                raise
            error = exc.message
    context = show_context(code, test_form=form, simulation=simulation, test_error=error)
    status = 400 if form.errors or error else 200
    return render("console/actions/show.html", "console/actions/_test_panel.html", status=status, **context)


@bp.get("/actions/<code>/activity")
def action_activity(code: str):
    config = _config(code)
    actions = action_stats.latest_tracked(current_user.tenant_id, config.code, limit=ACTIVITY_LIMIT)
    return render("console/actions/activity.html", config=config, actions=actions, tab="activity",
                  limit=ACTIVITY_LIMIT, draft=versions.draft_for(config))


@bp.route("/actions/<code>/settings", methods=["GET", "POST"])
def action_settings(code: str):
    config = _config(code)
    form = ActionSettingsForm() if request.method == "POST" else ActionSettingsForm.for_action(config)
    if form.validate_on_submit():
        try:
            rules.update_action_configuration(current_user, code, form.settings())
        except ValidationError as exc:
            form.form_errors.append(str(exc.errors(include_url=False)[0]["msg"]))
        else:
            flash("Settings saved.")
            return redirect_to(url_for("console.action_settings", code=code))
    status = 400 if form.errors or form.form_errors else 200
    return render("console/actions/settings.html", "console/actions/_action_form.html", config=config, form=form,
                  tab="settings", status=status, draft=versions.draft_for(config))


@bp.route("/actions/<code>/delete", methods=["GET", "POST"])
def action_delete(code: str):
    config = _config(code)
    if request.method == "POST":
        rules.delete_action_configuration(current_user, code)
        flash(f"Action {code} deleted. Its tracked actions stay in Activity.")
        return redirect_to(url_for("console.action_list"))
    tracked = action_stats.count_tracked(current_user.tenant_id, config.code)
    return render("console/actions/delete.html", config=config, tracked=tracked)
