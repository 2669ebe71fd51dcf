"""Settings → Brand: the hosted pages' theme, with a live preview of the challenge page.

The preview is the real hosted-page template in an iframe (``settings_brand_sample``), styled by the
same generated stylesheet the pages link, built from what the form holds right now: htmx swaps a
new iframe in as the admin types (``settings_brand_preview``), without saving anything. Nothing of
the theme reaches a page as an inline style; the CSP stays as strict as everywhere else.
"""

from __future__ import annotations

from flask import Response, flash, g, make_response, render_template, request, url_for
from flask_login import current_user

from app.console import bp
from app.console.forms import submitted
from app.console.settings_forms import THEME_FIELDS, ThemeForm
from app.domain.decision import VerificationMethod
from app.domain.theme import DEFAULT_FONT, Theme, contrasts, logo_origins, logo_sources, stylesheet
from app.htmx import redirect_to, render
from app.services.tenancy import tenant_settings


def _typed() -> dict[str, str]:
    """The theme as the form holds it, from a preview's query string (blank fields and the default font
    left out: the preview's URL names only what differs from the pages' own look)."""
    typed = {name: value for name in THEME_FIELDS if (value := request.args.get(name, "").strip())}
    if typed.get("font") == DEFAULT_FONT:
        del typed["font"]
    return typed


def _brand_page(form: ThemeForm, typed: dict[str, str], *, status: int = 200,
                fragment: str = "console/settings/_brand.html"):
    tenant = tenant_settings.get_tenant(current_user.tenant_id)
    theme, problems = tenant_settings.read_theme_input(typed)
    return render("console/settings/brand.html", fragment, status=status, form=form, tenant=tenant,
                  preview_url=url_for("console.settings_brand_sample", **typed), problems=problems,
                  contrasts=contrasts(theme))


def _saved_values(tenant) -> dict[str, str]:
    return {name: str(value) for name, value in (Theme.from_stored(tenant.theme).stored() or {}).items()}


@bp.get("/settings/brand")
def settings_brand_show():
    tenant = tenant_settings.get_tenant(current_user.tenant_id)
    return _brand_page(ThemeForm.for_tenant(tenant), _saved_values(tenant))


@bp.post("/settings/brand")
def settings_brand_update():
    form = ThemeForm()
    if submitted(form, lambda: tenant_settings.update_tenant_theme(current_user, form.values())) is None:
        typed = {name: value for name, value in form.values().items() if value and str(value).strip()}
        return _brand_page(form, typed, status=400)
    flash("Brand saved. The verification pages use it from the next page they show.")
    return redirect_to(url_for("console.settings_brand_show"))


@bp.get("/settings/brand/preview")
def settings_brand_preview():
    """The preview of what the form holds (htmx swaps it in as the admin types; without htmx, the page)."""
    return _brand_page(ThemeForm(formdata=request.args), _typed(), fragment="console/settings/_brand_preview.html")


@bp.get("/settings/brand/sample")
def settings_brand_sample():
    """The challenge page as the typed theme would show it (the preview's iframe)."""
    tenant = tenant_settings.get_tenant(current_user.tenant_id)
    theme, _ = tenant_settings.read_theme_input(_typed())
    logo, logo_dark = logo_sources(theme, tenant.logo_url)
    g.preview_image_origins = logo_origins([logo, logo_dark])  # security_headers: this page's img-src
    methods = [VerificationMethod.PASSKEY, VerificationMethod.AUTHENTICATOR_APP]
    # The passkey first: its button takes no focus, so the admin keeps typing in the form.
    return render_template(
        "challenge/verify.html", token="preview", mode="", action_name="Sign in", methods=methods, current=methods[0],
        has_recovery_codes=True, error="That code is not right, or it was already used. Try the newest code.",
        tenant_name=tenant.name, page_title=theme.page_title or tenant.name, logo_src=logo, logo_dark_src=logo_dark,
        theme_stylesheet=url_for("console.settings_brand_sample_css", **_typed()), return_url=None,
    )


@bp.get("/settings/brand/sample.css")
def settings_brand_sample_css() -> Response:
    theme, _ = tenant_settings.read_theme_input(_typed())
    return make_response(stylesheet(theme), 200, {"Content-Type": "text/css; charset=utf-8"})
