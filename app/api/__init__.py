"""Server API under /v1, wire-compatible with Authsignal's (secret-key Basic auth, JSON only)."""

from __future__ import annotations

from flask import Blueprint, g, request

from app.api.responses import domain_error_response, require_json_body
from app.config import current_settings
from app.domain.errors import DomainError
from app.models.base import utcnow
from app.services.tenancy.api_keys import InvalidApiKey, authenticate_api_key, count_invalid_key

bp = Blueprint("api", __name__, url_prefix="/v1")


@bp.before_request
def authenticate_caller():
    """Every server API route needs the tenant's secret key; one guard, so no view can forget it."""
    auth = request.authorization
    raw_key = auth.username if auth and auth.type == "basic" else None
    now = utcnow()
    try:
        g.caller = authenticate_api_key(raw_key, now=now)
    except InvalidApiKey:
        # The address and the limit are looked up only here, so a valid key costs nothing more.
        count_invalid_key(client_ip=request.remote_addr, settings=current_settings(), now=now)
        raise
    return None


bp.before_request(require_json_body)  # after the key check: a stranger learns nothing from a 415


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    return domain_error_response(exc)


from app.api import actions, challenges, users  # noqa: E402,F401  (routes register on bp)
