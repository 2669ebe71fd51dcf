"""Tenant settings: the console's overrides of the environment's defaults, and the settings in effect.

The environment (``app.config``) gives every tenant its defaults; a tenant may override the
branding, its WebAuthn relying party, its redirect allow-list and its client-token lifetime. A
``None`` column means "use the environment". :func:`effective_settings` lays the overrides over the
defaults; surfaces read the result once per request through ``tenant_config.settings_for`` (cached
by the tenant's configuration stamp) and pass it to the services, which take ``settings`` as an
argument.

Overrides are checked with the same rules ``app.config`` applies at start-up, against the values
that will be in effect (an RP ID override is checked against the environment's origins when the
origins are not overridden too).

Past our usual size because each override's check sits next to the others it depends on (an RP ID
against the origins in effect, the allow-list against the origins), and splitting them would
scatter one validation over modules.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from urllib.parse import urlsplit

from sqlalchemy import select

from app.config import Settings
from app.domain.errors import InvalidFields, NotFound
from app.domain.redirects import AllowedRedirect, parse_allowed_redirect
from app.domain.relying_party import is_hostname, parse_origin, parse_rp_id, uncovered_origins
from app.domain.theme import InvalidTheme, Theme, read_theme
from app.domain.trusted_devices import check_days
from app.extensions import db
from app.models import ConsoleUser, Tenant
from app.services.tenancy.audit import record_change

CLIENT_TOKEN_TTL_RANGE = (60, 86400)  # the same bounds as TOLLGATE_CLIENT_TOKEN_TTL
MAX_LIST_ENTRIES = 50
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# The fields a tenant may override, in the order the console shows them.
FIELDS = ("name", "logo_url", "webauthn_rp_id", "webauthn_rp_name", "webauthn_origins", "redirect_allowlist",
          "client_token_ttl", "remember_device_days", "publish_needs_second_admin")


class InvalidTenantSettings(InvalidFields, code="invalid_tenant_settings"):
    """Tenant settings the console cannot save."""

    summary = "Some settings are not valid: "


@dataclass(frozen=True)
class TenantSettingsInput:
    """What the console submits; ``None`` (or empty) means "use the environment's default"."""

    name: str
    logo_url: str | None = None
    webauthn_rp_id: str | None = None
    webauthn_rp_name: str | None = None
    webauthn_origins: list[str] | None = None
    redirect_allowlist: list[str] | None = None
    client_token_ttl: int | None = None
    remember_device_days: int | None = None  # None or 0: the hosted pages do not offer it
    publish_needs_second_admin: bool = False  # four-eyes on rule changes (services.rulesets.versions)


@dataclass
class _Problems:
    fields: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)


# -- the settings in effect -----------------------------------------------------------------------


def effective_settings(base: Settings, tenant: Tenant | None) -> Settings:
    """``base`` with the tenant's overrides; ``base`` itself when there are none (no copy, no query)."""
    if tenant is None:
        return base
    changes: dict = {}
    if tenant.webauthn_rp_id:
        changes["webauthn_rp_id"] = tenant.webauthn_rp_id
    if tenant.webauthn_rp_name:
        changes["webauthn_rp_name"] = tenant.webauthn_rp_name
    if tenant.webauthn_origins:
        changes["webauthn_origins"] = tuple(tenant.webauthn_origins)
    if tenant.redirect_allowlist:
        changes["redirect_allowlist"] = _parsed_allowlist(tuple(tenant.redirect_allowlist))
    if tenant.client_token_ttl:
        changes["client_token_ttl"] = tenant.client_token_ttl
    if tenant.remember_device_days:
        changes["remember_device_days"] = tenant.remember_device_days
    return replace(base, **changes) if changes else base


def browser_origins(base: Settings) -> set[str]:
    """Every origin any tenant's pages may call the client API from (CORS).

    A CORS preflight carries no credentials, so it cannot say which tenant it is for: the answer is
    the union over tenants of their passkey origins and redirect origins (each tenant's own or the
    environment's). One small query; the client API still authenticates every real request.
    """
    rows = db.session.execute(select(Tenant.webauthn_origins, Tenant.redirect_allowlist)).all()
    origins: set[str] = set()
    for webauthn_origins, redirect_allowlist in rows or [(None, None)]:
        origins.update(webauthn_origins or base.webauthn_origins)
        redirects = _parsed_allowlist(tuple(redirect_allowlist)) if redirect_allowlist else base.redirect_allowlist
        origins.update(rule.origin for rule in redirects)
    return origins


@lru_cache(maxsize=256)
def _parsed_allowlist(entries: tuple[str, ...]) -> tuple[AllowedRedirect, ...]:
    # Pure function of immutable strings, so a per-process cache is safe. Entries were validated on
    # save; one that no longer parses is skipped rather than failing every request.
    parsed = []
    for entry in entries:
        try:
            parsed.append(parse_allowed_redirect(entry))
        except ValueError:
            continue
    return tuple(parsed)


# -- reading and changing ---------------------------------------------------------------------------


def get_tenant(tenant_id: str) -> Tenant:
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("No such tenant.")
    return tenant


def snapshot(tenant: Tenant) -> dict:
    """The overridable fields as plain JSON (what the audit log keeps before and after)."""
    return {name: _plain(getattr(tenant, name)) for name in FIELDS}


def update_tenant_settings(actor: ConsoleUser, changes: TenantSettingsInput, *, base: Settings) -> Tenant:
    """Validate every field against the rules ``app.config`` uses, save, audit, commit once."""
    tenant = get_tenant(actor.tenant_id)
    cleaned = validate_tenant_settings(changes, base=base)
    before = snapshot(tenant)
    for name, value in cleaned.items():
        setattr(tenant, name, value)
    after = snapshot(tenant)
    if after != before:
        record_change(actor, "tenant.settings_updated", tenant.id, "tenant", before=before, after=after)
        db.session.commit()
    return tenant


def validate_tenant_settings(changes: TenantSettingsInput, *, base: Settings) -> dict:
    """The cleaned column values, or ``InvalidTenantSettings`` naming every bad field."""
    problems = _Problems()
    cleaned: dict = {
        "name": _name(changes.name, problems),
        "logo_url": _logo_url(_blank_to_none(changes.logo_url), problems),
        "webauthn_rp_id": _rp_id(_blank_to_none(changes.webauthn_rp_id), problems),
        "webauthn_rp_name": _rp_name(_blank_to_none(changes.webauthn_rp_name), problems),
        "webauthn_origins": _distinct(_entries(changes.webauthn_origins), problems, "webauthn_origins", parse_origin,
                                      noun="origins"),
        "redirect_allowlist": _distinct(_entries(changes.redirect_allowlist), problems, "redirect_allowlist",
                                        _allowlist_entry, noun="entries"),
        "client_token_ttl": _ttl(changes.client_token_ttl, problems),
        "remember_device_days": _remember_days(changes.remember_device_days, problems),
        "publish_needs_second_admin": bool(changes.publish_needs_second_admin),
    }
    if not {"webauthn_rp_id", "webauthn_origins"} & problems.fields.keys():
        rp_id = cleaned["webauthn_rp_id"] or base.webauthn_rp_id
        origins = cleaned["webauthn_origins"] or list(base.webauthn_origins)
        # The message goes where the admin can fix it: the origins if they were entered here.
        target = "webauthn_origins" if cleaned["webauthn_origins"] else "webauthn_rp_id"
        for origin in uncovered_origins(rp_id, origins):
            where = "" if cleaned["webauthn_origins"] else " (an environment default)"
            problems.add(target, f"The RP ID {rp_id} must equal or be a parent domain of origin {origin}{where}.")
    if problems.fields:
        raise InvalidTenantSettings(problems.fields)
    return cleaned


def _blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _entries(values: list[str] | None) -> list[str]:
    return [v.strip() for v in values or [] if v and v.strip()]


def _name(value: str | None, problems: _Problems) -> str:
    name = (value or "").strip()
    if not name:
        problems.add("name", "Enter the name your users see.")
    elif len(name) > 120:
        problems.add("name", "The name must be at most 120 characters.")
    return name


def _logo_url(value: str | None, problems: _Problems, field: str = "logo_url") -> str | None:
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        problems.add(field, "The logo URL is not a valid URL.")
        return None
    if len(value) > 2048:
        problems.add(field, "The logo URL must be at most 2048 characters.")
    elif not host or parts.scheme not in ("http", "https") or parts.username or parts.password:
        problems.add(field, "The logo URL must be an absolute https:// URL.")
    elif not (is_hostname(host) or _is_ip(host)) or any(c.isspace() for c in value):
        problems.add(field, "The logo URL's host is not a valid domain name or IP address.")
    elif parts.scheme == "http" and host not in LOCAL_HOSTS:
        problems.add(field, "The logo URL must use https (http only for localhost).")
    return value


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _rp_id(value: str | None, problems: _Problems) -> str | None:
    if value is None:
        return None
    try:
        return parse_rp_id(value)
    except ValueError as exc:
        problems.add("webauthn_rp_id", str(exc))
        return value.lower()


def _rp_name(value: str | None, problems: _Problems) -> str | None:
    if value is not None and len(value) > 120:
        problems.add("webauthn_rp_name", "The RP name must be at most 120 characters.")
    return value


def _distinct(values: list[str], problems: _Problems, field: str, parse: Callable[[str], str], *,
              noun: str) -> list[str] | None:
    """The entries as ``parse`` keeps them, each once and in order; what it refuses (ValueError) is a
    problem on ``field``."""
    if len(values) > MAX_LIST_ENTRIES:
        problems.add(field, f"At most {MAX_LIST_ENTRIES} {noun}.")
    entries: list[str] = []
    for raw in values:
        try:
            entry = parse(raw)
        except ValueError as exc:
            reason = str(exc)
            problems.add(field, reason if reason.endswith(".") else f"{reason}.")
            continue
        if entry not in entries:
            entries.append(entry)
    return entries or None


def _allowlist_entry(raw: str) -> str:
    parse_allowed_redirect(raw)
    return raw  # stored as written, and parsed again where it is used (_parsed_allowlist)


def _ttl(value: int | None, problems: _Problems) -> int | None:
    if value is None:
        return None
    low, high = CLIENT_TOKEN_TTL_RANGE
    if not low <= value <= high:
        problems.add("client_token_ttl", f"The client token lifetime must be between {low} and {high} seconds.")
    return value


def _remember_days(value: int | None, problems: _Problems) -> int:
    message = check_days(value)
    if message:
        problems.add("remember_device_days", message)
    return value or 0


def _plain(value):
    return list(value) if isinstance(value, tuple | list) else value


# -- the hosted pages' theme ------------------------------------------------------------------------


def read_theme_input(values: dict[str, str | None]) -> tuple[Theme, dict[str, list[str]]]:
    """The theme an admin typed, as far as it is usable, and every problem with it: domain.theme's rules,
    and the dark logo's URL checked like the logo's (the console's live preview shows both)."""
    theme, errors = read_theme(values)
    problems = _Problems({name: list(messages) for name, messages in errors.items()})
    _logo_url(theme.logo_dark_url, problems, field="logo_dark_url")
    if "logo_dark_url" in problems.fields:
        theme = replace(theme, logo_dark_url=None)  # never shown, not even in the preview
    return theme, problems.fields


def validate_theme(values: dict[str, str | None]) -> Theme:
    """The theme to save, or ``InvalidTheme`` naming every bad field."""
    theme, problems = read_theme_input(values)
    if problems:
        raise InvalidTheme(problems)
    return theme


def update_tenant_theme(actor: ConsoleUser, values: dict[str, str | None]) -> Tenant:
    """Validate, save (a new config stamp, so the pages link the new stylesheet), audit, commit once."""
    tenant = get_tenant(actor.tenant_id)
    stored = validate_theme(values).stored()
    if stored != tenant.theme:
        record_change(actor, "tenant.theme_updated", tenant.id, "tenant", before=tenant.theme, after=stored)
        tenant.theme = stored
        db.session.commit()
    return tenant
