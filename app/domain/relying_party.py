"""Where passkeys may be used: the WebAuthn relying party ID and the origins it covers.

One set of rules for the environment's defaults (``app.config``) and a tenant's overrides
(``services.tenancy.tenant_settings``): each raises ``ValueError`` with a sentence its caller
puts where the operator or admin can fix it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def is_hostname(value: str) -> bool:
    """A DNS name of letters, digits and inner hyphens (``localhost`` included, IP literals not)."""
    labels = value.split(".")
    return len(value) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def parse_origin(raw: str) -> str:
    """``scheme://host[:port]``, lower-cased and without a trailing slash."""
    origin = raw.strip().rstrip("/")
    try:
        parts = urlsplit(origin)
        host, _ = parts.hostname, parts.port  # .port raises ValueError for a bad port
    except ValueError:
        host, parts = None, None
    if (parts is None or parts.scheme not in ("http", "https") or not host or parts.path or parts.query
            or parts.fragment or parts.username or parts.password):
        raise ValueError(f"“{raw}” is not an origin like https://example.com (scheme://host[:port]).")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def parse_rp_id(raw: str) -> str:
    rp_id = raw.strip().lower()
    if not is_hostname(rp_id):
        raise ValueError("The RP ID must be a domain name such as example.com (no scheme, port or path).")
    return rp_id


def uncovered_origins(rp_id: str, origins: tuple[str, ...] | list[str]) -> list[str]:
    """The origins this RP ID cannot serve: WebAuthn accepts an RP ID only when it equals, or is a
    parent domain of, the page's host."""
    hosts = ((origin, urlsplit(origin).hostname or "") for origin in origins)
    return [origin for origin, host in hosts if not (host == rp_id or host.endswith("." + rp_id))]
