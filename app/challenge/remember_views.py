"""Remembered devices on the hosted pages: the answer to "Don't ask again on this device for N days",
offered after a passed challenge (views.challenge_finish) before the user goes back to the app."""

from __future__ import annotations

from flask import g, redirect, request, url_for

from app.challenge import bp
from app.challenge.views import _session
from app.domain.tokens import TokenKind
from app.models.base import utcnow
from app.services.end_users import trusted_devices


@bp.post("/remember")
def remember_submit():
    """The result token (the form's hidden field) opens the session and is this form's CSRF defence."""
    token = request.form.get("token", "")
    session = _session(token, kinds=(TokenKind.RESULT,))
    response = redirect(url_for("challenge.challenge_finish", token=token, remember="asked",
                                mode=request.values.get("mode") or None))
    if request.form.get("remember") != "yes":
        return response
    settings = g.tenant_settings
    issued = trusted_devices.remember_device(session.action, session.user, request.cookies,
                                             user_agent=request.headers.get("User-Agent"), settings=settings,
                                             now=utcnow())
    response.set_cookie(issued.cookie_name, issued.cookie_value, expires=issued.expires_at, path="/",
                        secure=settings.public_url.startswith("https://"), httponly=True, samesite="Lax")
    return response
