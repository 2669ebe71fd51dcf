"""Webhook signatures exactly as Authsignal makes them, so the official SDKs' verifiers accept ours.

Header ``X-Signature-V2: t=<unix seconds>,v2=<sig>[,v2=<sig>...]`` where each ``sig`` is
``base64(HMAC-SHA256(key=<API secret key>, msg="<t>.<raw body>"))`` without ``=`` padding, one per
active API key (a receiver holding any one of them accepts the request). ``verify`` mirrors the
SDKs' ``constructEvent``: the same checks, in the same order, with the same messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

HEADER = "X-Signature-V2"
DEFAULT_TOLERANCE_MINUTES = 5


class InvalidSignature(ValueError):
    """The request is not a genuine, fresh webhook; ``str(exc)`` is the SDKs' message."""


def compute_signature(body: str | bytes, key: str, t: int) -> str:
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(key.encode(), f"{t}.".encode() + raw, hashlib.sha256).digest()
    return base64.b64encode(digest).decode().rstrip("=")


def sign(body: str | bytes, keys: Iterable[str], t: int) -> str:
    """The header value: ``t=<t>`` then one ``v2=`` per key, in the order given."""
    signatures = [f"v2={compute_signature(body, key, t)}" for key in keys]
    if not signatures:
        raise ValueError("at least one key is needed to sign a webhook")
    return ",".join([f"t={t}", *signatures])


def parse(header: str | None) -> tuple[int, list[str]]:
    """(timestamp, v2 signatures); ``InvalidSignature("Signature format is invalid.")`` otherwise."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in (header or "").split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                timestamp = None
        elif name == "v2" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature("Signature format is invalid.")
    return timestamp, signatures


def verify(
    body: str | bytes, header: str | None, key: str, *, now: int, tolerance_minutes: float = DEFAULT_TOLERANCE_MINUTES
) -> dict[str, Any]:
    """Check a received webhook and return its parsed JSON body.

    ``now`` is unix seconds. A timestamp older than ``tolerance_minutes`` is refused (a replay);
    ``tolerance_minutes <= 0`` turns that check off; a timestamp in the future is not refused (as
    the SDKs do).
    """
    timestamp, signatures = parse(header)
    if tolerance_minutes > 0 and timestamp < now - tolerance_minutes * 60:
        raise InvalidSignature("Timestamp is outside the tolerance zone.")
    expected = compute_signature(body, key, timestamp)
    if not any(hmac.compare_digest(expected.encode(), s.encode()) for s in signatures):
        raise InvalidSignature("Signature mismatch.")
    return json.loads(body)
