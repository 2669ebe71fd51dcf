"""Hosted challenge pages: the track response's ``url``, where the end user proves it is them.

The token in the URL opens the session; forms carry it back as a hidden field, which also makes
it this surface's CSRF defence (a third party cannot know it). Passkeys need JavaScript
(static/challenge.js, no inline script); the authenticator-app and recovery-code forms work
without it.
"""

from __future__ import annotations

from flask import Blueprint, g, request

from app.challenge import brand, locale
from app.config import current_settings
from app.domain.theme import logo_origins

bp = Blueprint("challenge", __name__, url_prefix="/challenge")
bp.after_request(locale.remember)
bp.context_processor(locale.page_language)
bp.context_processor(brand.page_brand)


@bp.after_request
def harden(response):
    # The tenant's settings once a view has opened its session (views.py), else the environment's.
    settings = g.get("tenant_settings") or current_settings()
    redirect_origins = sorted({rule.origin for rule in settings.redirect_allowlist})
    # Popup mode runs inside the integrator's page (an iframe in the browser SDK); elsewhere no
    # one may frame us (clickjacking).
    framing = " ".join(redirect_origins) if getattr(g, "popup", False) and redirect_origins else "'none'"
    # form-action covers where a form's redirect lands too, so it names the allowed redirect targets.
    form_targets = " ".join(["'self'", *redirect_origins])
    images = " ".join(["'self'", "data:", *logo_origins(brand.image_urls(g.get("tenant")))])
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {images}; connect-src 'self'; "
        f"base-uri 'none'; form-action {form_targets}; frame-ancestors {framing}"
    )
    # Pages carry tokens: no cache keeps them. A theme's stylesheet (views.theme_stylesheet_show) says its own.
    if not g.get("cacheable"):
        response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.before_request
def remember_mode():
    g.popup = (request.values.get("mode") == "popup")


from app.challenge import magic_link_views, remember_views, views  # noqa: E402,F401  (routes register on bp)
