"""Errors outside a view's own handling: JSON under /v1, a plain page everywhere else.

Routing errors (404, 405) and oversized bodies (413) happen before a blueprint is chosen, so the
app decides by path. Nothing ever answers with a stack trace.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from app.api.responses import domain_error_response, error_response
from app.domain.errors import DomainError

API_PREFIX = "/v1"
# Signed-in console users keep the console around an error: its nav, and a way on.
CONSOLE_PREFIXES = ("/console", "/review")
CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 413: "request_too_large", 415: "unsupported_media_type",
         429: "too_many_requests"}


def register(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _domain_error(exc: DomainError):
    """A refusal the blueprint did not handle itself: its message, in the caller's format."""
    if _wants_json():
        return domain_error_response(exc)
    return _page(exc.status, "That did not work", exc.message), exc.status, exc.headers  # e.g. Retry-After


def _wants_json() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def _http_error(exc: HTTPException):
    status = exc.code or 500
    if _wants_json():
        return error_response(CODES.get(status, "server_error"), exc.description or exc.name, status)
    return _page(status, exc.name, exc.description), status


def _page(status: int, title: str, message: str | None) -> str:
    from flask_login import current_user

    in_console = request.path.startswith(CONSOLE_PREFIXES) and current_user.is_authenticated
    return render_template("console/error.html" if in_console else "error.html", status=status, title=title,
                           message=message)


def _unexpected_error(exc: Exception):
    # Logged with its traceback by Flask; the caller only learns that it was our fault.
    from flask import current_app

    current_app.logger.exception("unhandled error", exc_info=exc)
    return _http_error(InternalServerError())
