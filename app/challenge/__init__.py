"""Hosted challenge pages (the track response's ``url``).

For now a placeholder that checks the token and says where the action stands; the passkey and
authenticator-app ceremonies arrive with the hosted-pages work.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from app.config import current_settings
from app.domain.tokens import ExpiredToken, InvalidToken, TokenKind, derive_signing_key, read_token
from app.models.base import utcnow

bp = Blueprint("challenge", __name__, url_prefix="/challenge")


@bp.after_request
def harden(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    return response


@bp.get("")
def challenge_show():
    settings = current_settings()
    try:
        claims = read_token(
            request.args.get("token", ""),
            kinds=(TokenKind.CLIENT,),
            signing_key=derive_signing_key(settings.secret_key),
            issuer=settings.public_url,
            now=utcnow(),
        )
    except (InvalidToken, ExpiredToken) as exc:
        return render_template("challenge/invalid.html", message=exc.message), 400
    return render_template("challenge/placeholder.html", action_code=claims.action.action_code)
