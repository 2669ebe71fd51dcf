"""Settings: the tenant's overrides of the environment, API secret keys, the team, the audit log.

Views stay thin: parse a form, call one service, render the page (or its ``_`` fragment for htmx).
Secrets made here (a new API key, a new colleague's first password) appear once, in the answer to
the POST that made them, and nowhere else: no redirect, no session, no audit record.
"""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user

from app.config import current_settings
from app.console import bp
from app.console.forms import ConfirmForm, submitted
from app.console.settings_forms import ApiKeyForm, AuditFilterForm, InviteForm, ReviewReasonsForm, TenantSettingsForm
from app.domain.errors import DomainError
from app.htmx import redirect_to, render
from app.models.base import utcnow
from app.services.console import console_users
from app.services.decisions.trace_view import as_json_text
from app.services.reviews import reasons
from app.services.tenancy import api_keys, audit, audit_chain, management_keys, tenant_settings
from app.services.tenancy.listing import ListQuery
from app.services.tenancy.management_keys import ACCESS_LABELS

# -- tenant settings --------------------------------------------------------------------------------


def _settings_page(form: TenantSettingsForm, *, status: int = 200):
    return render("console/settings/show.html", "console/settings/_show.html", status=status, form=form,
                  defaults=current_settings())


@bp.get("/settings")
def settings_show():
    return _settings_page(TenantSettingsForm.for_tenant(tenant_settings.get_tenant(current_user.tenant_id)))


@bp.post("/settings")
def settings_update():
    form = TenantSettingsForm()
    if submitted(form, lambda: tenant_settings.update_tenant_settings(current_user, form.to_input(),
                                                                      base=current_settings())) is None:
        return _settings_page(form, status=400)
    flash("Settings saved. They apply to the next request.")
    return redirect_to(url_for("console.settings_show"))


# -- API secret keys --------------------------------------------------------------------------------


@bp.get("/settings/api-keys")
def settings_key_list():
    tenant_id = current_user.tenant_id
    return render("console/settings/keys/list.html", "console/settings/keys/_results.html",
                  keys=api_keys.list_api_keys(tenant_id, ListQuery.from_args(request.args)),
                  active_count=api_keys.count_active_keys(tenant_id),
                  management_keys=management_keys.list_management_keys(tenant_id), access_labels=ACCESS_LABELS)


def _key_form_page(form: ApiKeyForm, *, status: int = 200):
    return render("console/settings/keys/new.html", "console/settings/keys/_new.html", status=status, form=form)


@bp.get("/settings/api-keys/new")
def settings_key_new():
    return _key_form_page(ApiKeyForm())


@bp.post("/settings/api-keys")
def settings_key_create():
    form = ApiKeyForm()
    created = submitted(form, lambda: api_keys.create_api_key(current_user.tenant_id, name=form.name.data,
                                                              settings=current_settings(), actor=current_user),
                        beside="name")
    if created is None:
        return _key_form_page(form, status=400)
    key, raw = created
    return render("console/settings/keys/created.html", "console/settings/keys/_created.html", key=key, raw_key=raw)


# -- the team (console users) -----------------------------------------------------------------------


def _member_list(wanted: ListQuery = ListQuery(), *, fragment: str = "console/settings/members/_list.html",
                 error: str | None = None, status: int = 200):
    """``fragment``: the results for the search and pager, the whole section after a refused change."""
    return render("console/settings/members/list.html", fragment, status=status, form=ConfirmForm(), error=error,
                  members=console_users.list_console_users(current_user.tenant_id, wanted))


@bp.get("/settings/team")
def settings_member_list():
    return _member_list(ListQuery.from_args(request.args), fragment="console/settings/members/_results.html")


def _member_form_page(form: InviteForm, *, status: int = 200):
    return render("console/settings/members/new.html", "console/settings/members/_new.html", status=status, form=form)


@bp.get("/settings/team/new")
def settings_member_new():
    return _member_form_page(InviteForm())


@bp.post("/settings/team")
def settings_member_create():
    form = InviteForm()
    invitation = submitted(form, lambda: console_users.invite_console_user(
        current_user, email=form.email.data, name=form.name.data or "", role=form.role.data, settings=current_settings(),
    ), beside=lambda exc: "role" if exc.code == "invalid_role" else "email")
    if invitation is None:
        return _member_form_page(form, status=400)
    return render("console/settings/members/created.html", "console/settings/members/_created.html",
                  member=invitation.user, password=invitation.password)


def _set_disabled(user_id: str, *, disabled: bool):
    try:
        member = console_users.set_disabled(current_user, user_id, disabled=disabled, now=utcnow())
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _member_list(error=exc.message, status=exc.status)
    flash(f"{member.email} is disabled and signed out everywhere." if disabled else f"{member.email} can sign in again.")
    return redirect_to(url_for("console.settings_member_list"))


@bp.post("/settings/team/<user_id>/disable")
def settings_member_disable(user_id: str):
    return _set_disabled(user_id, disabled=True)


@bp.post("/settings/team/<user_id>/enable")
def settings_member_enable(user_id: str):
    return _set_disabled(user_id, disabled=False)


# -- review reasons ---------------------------------------------------------------------------------


def _reasons_page(form: ReviewReasonsForm, *, status: int = 200):
    return render("console/settings/reasons.html", "console/settings/_reasons.html", status=status, form=form)


@bp.get("/settings/review-reasons")
def settings_reasons_show():
    listed = reasons.tenant_reasons(current_user.tenant_id)
    return _reasons_page(ReviewReasonsForm(formdata=None, reasons="\n".join(reason.label for reason in listed)))


@bp.post("/settings/review-reasons")
def settings_reasons_update():
    form = ReviewReasonsForm()
    if submitted(form, lambda: reasons.set_reasons(current_user, form.reasons.data or "", now=utcnow()),
                 beside="reasons") is None:
        return _reasons_page(form, status=400)
    flash("Review reasons saved.")
    return redirect_to(url_for("console.settings_reasons_show"))


# -- audit log --------------------------------------------------------------------------------------


@bp.get("/settings/audit")
def settings_audit_list():
    form = AuditFilterForm(request.args)
    choices = audit.audit_filter_choices(current_user.tenant_id)
    form.set_choices(events=choices.events, target_types=choices.target_types)
    results = audit.list_audit_events(
        current_user.tenant_id,
        actor_email=form.actor.data or None,
        target_type=form.target_type.data or None,
        event=form.event.data or None,
        before_id=form.before_id,
    )
    filters = {k: v for k, v in (("actor", form.actor.data), ("target_type", form.target_type.data),
                                 ("event", form.event.data)) if v}
    return render("console/settings/audit/list.html", "console/settings/audit/_list.html", form=form, results=results,
                  filters=filters, changed_fields=audit.changed_fields, target_label=audit.target_label,
                  as_json_text=as_json_text, chain=audit_chain.check_new_entries(current_user.tenant_id))
