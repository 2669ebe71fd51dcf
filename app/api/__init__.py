"""Server API under /v1, wire-compatible with Authsignal's (secret-key Basic auth, JSON only)."""

from __future__ import annotations

from flask import Blueprint, g

from app.api.basic_auth import basic_auth_caller
from app.api.responses import domain_error_response, require_json_body
from app.domain.errors import DomainError
from app.services.tenancy.api_keys import authenticate_api_key

bp = Blueprint("api", __name__, url_prefix="/v1")


@bp.before_request
def authenticate_caller():
    """Every server API route needs the tenant's secret key; one guard, so no view can forget it."""
    g.caller = basic_auth_caller(authenticate_api_key)
    return None


bp.before_request(require_json_body)  # after the key check: a stranger learns nothing from a 415


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    return domain_error_response(exc)


from app.api import actions, challenges, trusted_devices, users  # noqa: E402,F401  (routes register on bp)
