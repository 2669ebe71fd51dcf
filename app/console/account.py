"""The signed-in console user's own account: passkeys as a second factor."""

from __future__ import annotations

from flask import flash, jsonify, request, url_for
from flask_login import current_user

from app.config import current_settings
from app.console import bp
from app.domain.errors import DomainError
from app.htmx import redirect_to, render
from app.models.base import utcnow
from app.services import console_passkeys


@bp.get("/account")
def account_show():
    return render("console/account/show.html", user=current_user)


@bp.post("/account/passkeys/options")
def account_passkey_options():
    started = console_passkeys.start_registration(current_user, settings=current_settings(), now=utcnow())
    return jsonify({"challengeId": started.challenge_id, "options": started.options})


@bp.post("/account/passkeys")
def account_passkey_add():
    body = request.get_json(silent=True) or {}
    try:
        console_passkeys.finish_registration(
            current_user, challenge_id=body.get("challengeId"), credential=body.get("credential"),
            name=str(body.get("name") or ""), settings=current_settings(), now=utcnow(),
        )
    except DomainError as exc:
        return jsonify({"error": exc.code, "errorDescription": exc.message}), exc.status
    flash("Passkey added. You will need it every time you sign in.")
    return jsonify({"redirect": url_for("console.account_show")})


@bp.post("/account/passkeys/<passkey_id>/delete")
def account_passkey_remove(passkey_id: str):
    console_passkeys.remove_passkey(current_user, passkey_id, now=utcnow())
    flash("Passkey removed.")
    return redirect_to(url_for("console.account_show"))
