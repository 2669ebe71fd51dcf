"""One error family for everything the domain and services refuse.

Each error carries a stable string ``code`` (it becomes ``error``/``errorCode`` on the wire) and a
human ``message`` (``errorDescription``). Surfaces map ``status`` to HTTP; the domain never imports
Flask.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "invalid_request"
    status = 400
    headers: dict[str, str] = {}  # sent with the error response (never mutated: subclasses replace it)

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class InvalidRequest(DomainError):
    code = "invalid_request"
    status = 400


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class TooManyRequests(DomainError):
    code = "too_many_requests"
    status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}  # seconds


class InvalidFields(DomainError):
    """A form-shaped refusal: ``fields`` maps each unusable field to its messages, shown beside it;
    ``message`` joins them all, after a subclass's ``summary``."""

    code = "invalid_fields"
    status = 400
    summary = ""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__(self.summary + "; ".join(m for ms in fields.values() for m in ms))
        self.fields = fields


class InvalidRuleConditions(DomainError):
    """A rule's JsonLogic does not validate; ``path`` points at the offending node."""

    code = "invalid_rule_conditions"
    status = 400

    def __init__(self, message: str, *, path: str):
        super().__init__(f"{message} (at {path})")
        self.path = path
        self.reason = message


class InvalidJson(InvalidRequest):
    """A JSON document Tollgate will not read: too deeply nested, or a number that is not a finite double."""


class MalformedJson(InvalidJson):
    """Not JSON at all; the message names the first problem's line and column."""
