"""The Management API under /v1/management, wire-compatible with Authsignal's (its Terraform
provider and Go client drive it): HTTP Basic with a management key as the username.

A management key opens only this API and a server key never does (they live in separate tables).
Read-only keys may GET; every other method is refused with 403 before any view runs.
"""

from __future__ import annotations

from flask import Blueprint, g, request

from app.api.basic_auth import basic_auth_caller
from app.api.responses import domain_error_response, require_json_body
from app.domain.errors import DomainError, Forbidden
from app.services.tenancy.management_keys import authenticate_management_key

bp = Blueprint("management_api", __name__, url_prefix="/v1/management")
READS = ("GET", "HEAD", "OPTIONS")


@bp.before_request
def authenticate_caller():
    g.caller = basic_auth_caller(authenticate_management_key)
    if request.method not in READS and not g.caller.may_write:
        raise Forbidden("This management key is read-only: it may read, not change, the configuration.",
                        code="read_only_key")
    return None


bp.before_request(require_json_body)


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    return domain_error_response(exc)


from app.management_api import action_configurations, data, tollgate  # noqa: E402,F401  (routes register on bp)
