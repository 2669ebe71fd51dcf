"""TOLLGATE_SMTP_URL: where email goes, and how safely.

``smtps://`` is TLS from the first byte (port 465); ``smtp://`` upgrades with STARTTLS (port 587),
and may stay plain only to a loopback host, where nothing crosses a network. Credentials in the URL
(percent-encoded) are used to log in.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import unquote, urlsplit


class SmtpSecurity(StrEnum):
    TLS = "tls"  # smtps://
    STARTTLS = "starttls"  # smtp:// to anywhere but loopback
    STARTTLS_IF_OFFERED = "starttls-if-offered"  # smtp:// to loopback


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: SmtpSecurity
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_smtp_url(url: str) -> SmtpTarget:
    """The URL's parts, or ValueError saying what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"must start with smtp:// or smtps://, got {parts.scheme or url!r}")
    if not parts.hostname:
        raise ValueError("must name a host, e.g. smtp://user:pass@mail.example.com:587")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("must be scheme://[user:pass@]host[:port] with no path or query")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("has a port that is not a number between 0 and 65535") from exc
    if parts.scheme == "smtps":
        security = SmtpSecurity.TLS
    else:
        security = SmtpSecurity.STARTTLS_IF_OFFERED if is_loopback(parts.hostname) else SmtpSecurity.STARTTLS
    return SmtpTarget(
        host=parts.hostname,
        port=port or (465 if parts.scheme == "smtps" else 587),
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )
