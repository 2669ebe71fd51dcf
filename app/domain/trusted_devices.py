"""Remembered devices: the cookie a trusted browser keeps, and the digest its row keeps.

The cookie holds ``<row id>.<token>.<signature>``: a random token, and an HMAC over the tenant, the
user, the row id and the token, so a value changed by hand (or copied into another user's or
tenant's cookie) is refused before any lookup. The row keeps a keyed digest of the token bound to
the tenant and the user, never the token: a database dump holds nothing a browser could present.
Each tenant and user has a cookie of their own name (a keyed hash, so the name reveals neither),
so two people sharing a browser each keep theirs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.signals import parse_user_agent

COOKIE_PREFIX = "tg_device_"
DAYS_RANGE = (1, 90)
_SIGNATURE_CHARS = 43  # base64url of 32 bytes, unpadded
_MAX_COOKIE = 200


@dataclass(frozen=True)
class Holder:
    """Whom a device is trusted for: the cookie and the digest are bound to both."""

    tenant_id: str
    user_id: str  # the integrator's user id

    def _context(self) -> str:
        return f"{len(self.tenant_id)}:{self.tenant_id}:{self.user_id}"


@dataclass(frozen=True)
class IssuedDevice:
    cookie_name: str
    cookie_value: str
    token_digest: str
    expires_at: datetime


@dataclass(frozen=True)
class PresentedDevice:
    """A cookie whose signature holds: the row it names and the digest that row must have."""

    row_id: str
    token_digest: str


def cookie_name(holder: Holder, *, key: bytes) -> str:
    return COOKIE_PREFIX + hmac.new(key, f"name:{holder._context()}".encode(), hashlib.sha256).hexdigest()[:20]


def token_digest(token: str, holder: Holder, *, key: bytes) -> str:
    return hmac.new(key, f"digest:{holder._context()}:{token}".encode(), hashlib.sha256).hexdigest()


def _signature(row_id: str, token: str, holder: Holder, *, key: bytes) -> str:
    mac = hmac.new(key, f"cookie:{holder._context()}:{row_id}:{token}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def issue_device(row_id: str, holder: Holder, *, key: bytes, days: int, now: datetime) -> IssuedDevice:
    """A new token for the row ``row_id``: the cookie to set and the digest to store."""
    token = secrets.token_urlsafe(32)
    value = f"{row_id}.{token}.{_signature(row_id, token, holder, key=key)}"
    return IssuedDevice(cookie_name(holder, key=key), value, token_digest(token, holder, key=key),
                        now + timedelta(days=days))


def read_device_cookie(value: str | None, holder: Holder, *, key: bytes) -> PresentedDevice | None:
    """The row a cookie names, or None for a missing, malformed or forged value (or another holder's)."""
    if not value or len(value) > _MAX_COOKIE:
        return None
    parts = value.split(".")
    if len(parts) != 3 or not all(parts) or len(parts[2]) != _SIGNATURE_CHARS:
        return None
    row_id, token, signature = parts
    if not hmac.compare_digest(signature, _signature(row_id, token, holder, key=key)):
        return None
    return PresentedDevice(row_id, token_digest(token, holder, key=key))


def digests_match(stored: str, presented: PresentedDevice) -> bool:
    return hmac.compare_digest(stored, presented.token_digest)


def agent_summary(user_agent: str | None) -> str | None:
    """"Chrome on macOS": enough for a person to recognise a device in a list, no more of the header."""
    agent = parse_user_agent(user_agent)
    known = [name for name in (agent.browser, agent.os) if name]
    return " on ".join(known)[:120] or None


def check_days(days: int | None) -> str | None:
    """The tenant setting's rule: 0 (off) or 1-90 days. The message, or None when fine."""
    if days is None or days == 0:
        return None
    low, high = DAYS_RANGE
    if not low <= days <= high:
        return f"Remember devices for {low} to {high} days, or 0 for never."
    return None
