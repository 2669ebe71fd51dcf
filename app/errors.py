"""Errors outside a view's own handling: JSON under /v1, a plain page everywhere else.

Routing errors (404, 405) and oversized bodies (413) happen before a blueprint is chosen, so the
app decides by path. A database that stops answering is a 503 to retry, in either format. Nothing
ever answers with a stack trace.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from app.api.responses import domain_error_response, error_response
from app.domain.errors import DomainError
from app.extensions import db

API_PREFIX = "/v1"
# Signed-in console users keep the console around an error: its nav, and a way on.
CONSOLE_PREFIXES = ("/console", "/review")
CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 413: "request_too_large", 415: "unsupported_media_type",
         429: "too_many_requests"}
# What a lost database raises: PostgreSQL restarting or unreachable, SQLite locked past its busy
# timeout, and no connection free in the pool within its timeout (connections stuck on a database
# that stopped answering). The pool pre-pings (config._engine_options), so once it answers again the
# next request gets a live connection; until then callers are told to come back, as the readiness
# probe tells the load balancer.
DATABASE_LOST = (OperationalError, DisconnectionError, InterfaceError, PoolTimeout)
DATABASE_RETRY_AFTER = 5  # seconds: about what a PostgreSQL restart takes


def register(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    for lost in DATABASE_LOST:
        app.register_error_handler(lost, _database_unavailable)
    app.register_error_handler(Exception, _unexpected_error)
    # Registered after Flask-SQLAlchemy's own teardown, so it runs first (teardowns run in reverse).
    app.teardown_appcontext(_close_session)


def _domain_error(exc: DomainError):
    """A refusal the blueprint did not handle itself: its message, in the caller's format."""
    if _wants_json():
        return domain_error_response(exc)
    return _page(exc.status, "That did not work", exc.message), exc.status, exc.headers  # e.g. Retry-After


def _wants_json() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def _http_error(exc: HTTPException):
    status = exc.code or 500
    # The exception's own headers but its body type: a 405's Allow (RFC 9110 requires it).
    headers = {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}
    if _wants_json():
        response, status = error_response(CODES.get(status, "server_error"), exc.description or exc.name, status)
        response.headers.update(headers)
        return response, status
    return _page(status, exc.name, exc.description), status, headers


def _close_session(_exc: BaseException | None) -> None:
    """Close the request's session where a lost database cannot raise past the answer.

    Closing rolls back what the request left open; when PostgreSQL went down after the view's last
    statement, that rollback fails, and a teardown that raises turns the view's finished answer into
    a 500. The dead connection is invalidated instead: the pool drops it and the next checkout
    pre-pings a new one. Flask-SQLAlchemy's own teardown then finds nothing left to close.
    """
    try:
        db.session.close()
    except DATABASE_LOST:
        db.session().invalidate()  # scoped_session proxies close() but not invalidate()


def _database_unavailable(exc: SQLAlchemyError):
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection is already gone: drop it without another round trip
        db.session().invalidate()
    # One line, not a traceback per request of an outage; and the driver's message, not the
    # statement with its parameters (personal data).
    cause = getattr(exc, "orig", None) or exc
    current_app.logger.error("database unavailable, answered 503: %s: %s", type(cause).__name__, cause)
    status, title = 503, "The database is not answering"
    message = "Tollgate cannot reach its database just now. Try again in a few seconds."
    if _wants_json():
        response, status = error_response("database_unavailable", message, status)
    else:
        # The plain page even in the console, rendered without the context processors: the console
        # layout and Flask-Login's processor would both ask the database who is signed in.
        page = current_app.jinja_env.get_template("error.html").render(status=status, title=title, message=message)
        response = current_app.make_response((page, status))
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response, status


def _page(status: int, title: str, message: str | None) -> str:
    from flask_login import current_user

    in_console = request.path.startswith(CONSOLE_PREFIXES) and current_user.is_authenticated
    return render_template("console/error.html" if in_console else "error.html", status=status, title=title,
                           message=message)


def _unexpected_error(exc: Exception):
    # Logged with its traceback by Flask; the caller only learns that it was our fault.
    current_app.logger.exception("unhandled error", exc_info=exc)
    return _http_error(InternalServerError())
