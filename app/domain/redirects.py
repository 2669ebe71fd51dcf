"""Where the hosted pages may send a user back to: an allow-list of scheme + host + path prefix.

Matching is on parsed parts, never on string prefixes, so ``https://app.example.com.evil.io`` or
``https://app.example.com@evil.io`` never pass for ``https://app.example.com``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class AllowedRedirect:
    scheme: str
    host: str
    port: int | None  # None: any port (only DEVELOPMENT_REDIRECTS, never an entry someone typed)
    path_prefix: str  # "" (any path) or ending in "/" unless it names one exact path

    @property
    def origin(self) -> str:
        """As a CSP source: ``http://localhost:*`` for any port."""
        if self.port is None:
            return f"{self.scheme}://{self.host}:*"
        default = DEFAULT_PORTS[self.scheme] == self.port
        return f"{self.scheme}://{self.host}" + ("" if default else f":{self.port}")

    @property
    def exact_origin(self) -> str | None:
        """As a postMessage target, which names one origin: None for any port."""
        return None if self.port is None else self.origin


# In development (TOLLGATE_ENV=development) an app on this machine, whatever port its dev server
# picked, may be sent back to: the demo's redirects work from any local front end.
DEVELOPMENT_REDIRECTS = (AllowedRedirect("http", "localhost", None, ""), AllowedRedirect("http", "127.0.0.1", None, ""))


def parse_allowed_redirect(entry: str) -> AllowedRedirect:
    """Raise ValueError with a readable reason for an unusable entry."""
    parts = urlsplit(entry.strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{entry!r} is not an absolute http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(f"{entry!r} must be scheme://host[:port][/path] only")
    return AllowedRedirect(
        scheme=parts.scheme,
        host=parts.hostname.lower(),
        port=parts.port or DEFAULT_PORTS[parts.scheme],
        path_prefix="" if parts.path in ("", "/") else parts.path,
    )


def is_allowed(url: str, allowed: tuple[AllowedRedirect, ...]) -> bool:
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return False
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return False
    for rule in allowed:
        if (parts.scheme, parts.hostname.lower()) != (rule.scheme, rule.host) or rule.port not in (None, port):
            continue
        if not rule.path_prefix or parts.path == rule.path_prefix:
            return True
        prefix = rule.path_prefix if rule.path_prefix.endswith("/") else rule.path_prefix + "/"
        if parts.path.startswith(prefix):
            return True
    return False


def with_token(url: str, token: str) -> str:
    """``url`` with ``token=`` added, keeping every query parameter already there."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    query.append(("token", token))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
