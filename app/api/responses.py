"""JSON in and out: parsing bodies into schemas and the one error shape every client understands."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from flask import Response, jsonify, request
from werkzeug.exceptions import UnsupportedMediaType

from app.domain.documents import WireModel, parse_document
from app.domain.errors import DomainError

Model = TypeVar("Model", bound=WireModel)


def error_response(code: str, description: str, status: int) -> tuple[Response, int]:
    # Node reads `error`, Python reads `errorCode`, the browser SDK keys off `error`: send all three.
    return jsonify({"error": code, "errorCode": code, "errorDescription": description}), status


def domain_error_response(exc: DomainError) -> tuple[Response, int]:
    """A service's refusal as the error body, with any headers it carries (e.g. ``Retry-After``)."""
    response, status = error_response(exc.code, exc.message, exc.status)
    response.headers.update(exc.headers)
    return response, status


def require_json_body() -> None:
    """Before every /v1 view: a body is JSON (``application/json``, ``application/*+json``, any
    parameters) or there is none. Otherwise a form would be read as ``{}`` (Werkzeug consumes it
    itself), so a track was decided without its custom data, and other types as JSON unlabelled."""
    if not request.is_json and _has_body():
        raise UnsupportedMediaType("The request body must be JSON, sent with Content-Type: application/json.")


def _has_body() -> bool:
    # HTTP's own rule: a request has a body only if it says how long it is or that it is chunked.
    # The SDKs send empty GETs, DELETEs and POSTs, labelled application/json or not at all.
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def parse_body(model: type[Model]) -> Model:
    """Validate the JSON body; an empty body counts as ``{}`` (the SDKs send those)."""
    return parse_document(model, request.get_data(cache=True) or b"{}")


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
