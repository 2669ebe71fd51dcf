"""Client API under /v1/client, as ``@authsignal/browser`` 1.16.0 calls it (and our hosted pages do).

Two ways in: ``Bearer <token>`` (a client token from track, or the access token a verification
returned) opens one user's session; ``Basic <tenantId>`` (with or without the trailing colon, as
the SDK and the docs differ) is for usernameless passkey sign-in. Every answer is JSON; an error
is recognised by the SDK by its ``error`` key alone.
"""

from __future__ import annotations

from flask import Blueprint, request

from app.api.responses import domain_error_response, require_json_body
from app.client_api.cors import add_cors_headers
from app.domain.errors import DomainError

bp = Blueprint("client_api", __name__, url_prefix="/v1/client")
bp.after_request(add_cors_headers)


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    return domain_error_response(exc)


@bp.before_request
def answer_preflight():
    if request.method == "OPTIONS":
        return "", 204
    return None


bp.before_request(require_json_body)


from app.client_api import email_magic_link, passkeys, sent_codes, totp, user_authenticators  # noqa: E402,F401  (routes register on bp)
