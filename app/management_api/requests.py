"""What every write reads besides its body: whether to publish, and the change note."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from app.domain.errors import InvalidRequest

TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


@dataclass(frozen=True)
class PublishChoice:
    publish: bool
    note: str | None


def publish_choice() -> PublishChoice:
    """``?publish=true`` publishes the action's draft after the write; ``?note=`` is its change note."""
    raw = request.args.get("publish", "").strip().lower()
    if raw not in TRUE + FALSE:
        raise InvalidRequest("publish: true or false.", code="invalid_request")
    return PublishChoice(publish=raw in TRUE, note=request.args.get("note") or None)
