"""An action's rules: the editor with its condition builder, live JsonLogic checks, order, on/off."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user
from pydantic import ValidationError

from app.console import bp
from app.console.action_forms import ConditionsEditor, RuleForm, check_json
from app.console.actions import show_context
from app.domain.builder import CUSTOM_TYPES, MAX_GROUP_DEPTH, custom_name, format_value
from app.domain.catalogue import (
    FIELD_GROUPS,
    FIELD_TYPES,
    OPERATORS,
    TYPE_LABELS,
    YOUR_DATA,
    TenantCatalogue,
    operators_for,
)
from app.domain.errors import DomainError
from app.htmx import redirect_to, render
from app.services.rulesets import data_points, rules

EDIT_PAGE = "console/actions/rule_edit.html"
BUILDER = "console/actions/_builder.html"


def builder_context(code: str, editor: ConditionsEditor) -> dict:
    return {
        "editor": editor,
        "code": code,
        "field_groups": FIELD_GROUPS,
        "your_data": YOUR_DATA,
        "field_types": FIELD_TYPES,
        "type_labels": TYPE_LABELS,
        "custom_types": CUSTOM_TYPES,
        "operators": OPERATORS,
        "operators_for": operators_for,
        "custom_name": custom_name,
        "format_value": format_value,
        "max_depth": MAX_GROUP_DEPTH,
        # The tenant's data points and lists: the ones the editor's tree was read and checked against.
        "tenant_catalogue": editor.catalogue,
    }


def _editor_page(code: str, form: RuleForm, editor: ConditionsEditor, *, rule=None, status: int = 200, error=None):
    config = rules.get_action_configuration(current_user.tenant_id, code)
    return render(EDIT_PAGE, config=config, rule=rule, form=form, error=error, status=status,
                  **builder_context(code, editor))


def _save(code: str, rule_id: str | None, *, catalogue: TenantCatalogue):
    """POST of the editor: a builder button re-renders (no JS); otherwise validate and save."""
    rule = rules.find_rule(current_user.tenant_id, rule_id, action_code=code) if rule_id else None
    rules.get_action_configuration(current_user.tenant_id, code)
    form = RuleForm()
    editor = ConditionsEditor.from_form(request.form, catalogue=catalogue)
    operation = request.form.get("builder-op")
    if operation:
        editor.edit(operation)
        return _editor_page(code, form, editor, rule=rule)
    form_ok = form.validate_on_submit()
    conditions, conditions_ok = editor.conditions()
    error = None
    if form_ok and conditions_ok:
        try:
            changes = form.changes(conditions)
            if rule is None:
                rules.add_rule(current_user, code, changes)
            else:
                rules.update_rule(current_user, code, rule.id, changes)
        except (DomainError, ValidationError) as exc:
            error = exc.message if isinstance(exc, DomainError) else str(exc.errors(include_url=False)[0]["msg"])
        else:
            flash(f"Rule “{changes.name}” saved.")
            return redirect_to(url_for("console.action_show", code=code))
    return _editor_page(code, form, editor, rule=rule, status=400, error=error)


@bp.route("/actions/<code>/rules/new", methods=["GET", "POST"])
def rule_new(code: str):
    catalogue = data_points.builder_catalogue(current_user.tenant_id)
    if request.method == "POST":
        return _save(code, None, catalogue=catalogue)
    return _editor_page(code, RuleForm(formdata=None), ConditionsEditor(catalogue))


@bp.route("/actions/<code>/rules/<rule_id>", methods=["GET", "POST"])
def rule_edit(code: str, rule_id: str):
    catalogue = data_points.builder_catalogue(current_user.tenant_id)
    if request.method == "POST":
        return _save(code, rule_id, catalogue=catalogue)
    rule = rules.find_rule(current_user.tenant_id, rule_id, action_code=code)
    editor = ConditionsEditor.for_conditions(rule.conditions, catalogue=catalogue)
    return _editor_page(code, RuleForm.for_rule(rule), editor, rule=rule)


@bp.post("/actions/<code>/rules/builder")
def rule_builder(code: str):
    """htmx: the conditions section re-rendered from the posted form, after an optional edit."""
    catalogue = data_points.builder_catalogue(current_user.tenant_id)
    rules.get_action_configuration(current_user.tenant_id, code)
    editor = ConditionsEditor.from_form(request.form, catalogue=catalogue)
    operation = request.form.get("builder-op")
    if operation:
        editor.edit(operation)
    else:
        editor.errors = {}  # mid-edit (a field or operator changed): judge values only on save
    return render(BUILDER, **builder_context(code, editor))


@bp.post("/actions/<code>/rules/validate")
def rule_validate(code: str):
    """htmx: live check of the raw JsonLogic, naming the bad node's path."""
    rules.get_action_configuration(current_user.tenant_id, code)
    return render("console/actions/_validation.html", check=check_json(request.form.get("conditions_json", "")))


def _after_list_change(code: str, message: str | None = None, *, status: int = 200):
    if request.htmx:
        return render("console/actions/_rules.html", status=status, **show_context(code, message=message))
    if message:
        flash(message)
    return redirect_to(url_for("console.action_show", code=code))


@bp.post("/actions/<code>/rules/<rule_id>/active")
def rule_toggle(code: str, rule_id: str):
    active = request.form.get("active") == "true"
    rule = rules.set_rule_active(current_user, code, rule_id, active=active)
    return _after_list_change(code, f"“{rule.name}” is {'on' if active else 'off'}.")


@bp.post("/actions/<code>/rules/<rule_id>/move")
def rule_move(code: str, rule_id: str):
    try:
        rule = rules.move_rule(current_user, code, rule_id, direction=request.form.get("direction", ""))
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _after_list_change(code, exc.message, status=exc.status)
    return _after_list_change(code, f"“{rule.name}” moved {request.form.get('direction')}.")


@bp.route("/actions/<code>/rules/<rule_id>/delete", methods=["GET", "POST"])
def rule_delete(code: str, rule_id: str):
    rule = rules.find_rule(current_user.tenant_id, rule_id, action_code=code)
    if request.method == "POST":
        name = rule.name
        rules.delete_rule(current_user.tenant_id, rule.id, actor=current_user)
        flash(f"Rule “{name}” deleted.")
        return redirect_to(url_for("console.action_show", code=code))
    return render("console/actions/rule_delete.html", config=rule.action_configuration, rule=rule)
