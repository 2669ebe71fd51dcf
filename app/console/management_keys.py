"""Settings → API keys → Management API keys: create (shown once, in the POST's answer) and revoke.
The list is part of the API keys page (console.settings_key_list)."""

from __future__ import annotations

from flask import flash, url_for
from flask_login import current_user

from app.console import bp
from app.console.forms import ConfirmForm, submitted
from app.console.settings_forms import ManagementKeyForm
from app.domain.errors import Conflict
from app.htmx import redirect_to, render
from app.models.base import utcnow
from app.services.tenancy import management_keys


def _form_page(form: ManagementKeyForm, *, status: int = 200):
    return render("console/settings/management_keys/new.html", "console/settings/management_keys/_new.html",
                  status=status, form=form)


@bp.get("/settings/management-keys/new")
def settings_key_management_new():
    return _form_page(ManagementKeyForm())


@bp.post("/settings/management-keys")
def settings_key_management_create():
    form = ManagementKeyForm()
    created = submitted(form, lambda: management_keys.create_management_key(current_user, name=form.name.data,
                                                                            access=form.access.data), beside="name")
    if created is None:
        return _form_page(form, status=400)
    key, raw = created
    return render("console/settings/management_keys/created.html", "console/settings/management_keys/_created.html",
                  key=key, raw_key=raw)


def _revoke_page(key_id: str, *, error: str | None = None, status: int = 200):
    key = management_keys.get_management_key(current_user.tenant_id, key_id)
    return render("console/settings/management_keys/revoke.html", "console/settings/management_keys/_revoke.html",
                  status=status, key=key, form=ConfirmForm(), error=error)


@bp.get("/settings/management-keys/<key_id>/revoke")
def settings_key_management_revoke_confirm(key_id: str):
    return _revoke_page(key_id)


@bp.post("/settings/management-keys/<key_id>/revoke")
def settings_key_management_revoke(key_id: str):
    try:
        key = management_keys.revoke_management_key(current_user, key_id, now=utcnow())
    except Conflict as exc:
        return _revoke_page(key_id, error=exc.message, status=409)
    flash(f"Management key “{key.name}” ({key.hint}) is revoked. Requests that use it now get 401.")
    return redirect_to(url_for("console.settings_key_list"))
