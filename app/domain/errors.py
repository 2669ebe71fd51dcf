"""One error family for everything the domain and services refuse.

Each error carries a stable string ``code`` (it becomes ``error``/``errorCode`` on the wire) and a
human ``message`` (``errorDescription``). Surfaces map ``status`` to HTTP; the domain never imports
Flask.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A kind of refusal is a subclass that names its ``code`` and ``status`` in its header, as
    ``class NotFound(DomainError, code="not_found", status=404)``; what it leaves out it inherits."""

    code = "invalid_request"
    status = 400
    headers: dict[str, str] = {}  # sent with the error response (never mutated: subclasses replace it)

    def __init_subclass__(cls, *, code: str | None = None, status: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.status = status

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class InvalidRequest(DomainError, code="invalid_request", status=400):
    """The request cannot be used as it is: a value missing, malformed or out of range."""


class Unauthorized(DomainError, code="unauthorized", status=401):
    """No valid credentials: an API key, a console session or a token."""


class Forbidden(DomainError, code="forbidden", status=403):
    """Known credentials that may not do this."""


class NotFound(DomainError, code="not_found", status=404):
    """Nothing by that id, or not the tenant's (which is said the same way)."""


class Conflict(DomainError, code="conflict", status=409):
    """At odds with what is stored: a name taken, a state already left."""


class TooManyRequests(DomainError, code="too_many_requests", status=429):
    """Over a limit; ``Retry-After`` says in how many seconds to ask again."""

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}  # seconds


class InvalidFields(DomainError, code="invalid_fields"):
    """A form-shaped refusal: ``fields`` maps each unusable field to its messages, shown beside it;
    ``message`` joins them all, after a subclass's ``summary``."""

    summary = ""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__(self.summary + "; ".join(m for ms in fields.values() for m in ms))
        self.fields = fields


class InvalidRuleConditions(DomainError, code="invalid_rule_conditions"):
    """A rule's JsonLogic does not validate; ``path`` points at the offending node."""

    def __init__(self, message: str, *, path: str):
        super().__init__(f"{message} (at {path})")
        self.path = path
        self.reason = message


class InvalidJson(InvalidRequest):
    """A JSON document Tollgate will not read: too deeply nested, or a number that is not a finite double."""


class RefusedNumber(InvalidJson):
    """A number that is not a finite double; ``path`` is where (``custom.amount``, ``and[0].>[1]``)."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class MalformedJson(InvalidJson):
    """Not JSON at all; the message names the first problem's line and column."""
