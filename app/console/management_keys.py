"""Settings → API keys → Management API keys: create (shown once, in the POST's answer).
The list is part of the API keys page (console.settings_key_list); revoking is console/key_revocation.py."""

from __future__ import annotations

from flask_login import current_user

from app.console import bp
from app.console.forms import submitted
from app.console.settings_forms import ManagementKeyForm
from app.htmx import render
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
