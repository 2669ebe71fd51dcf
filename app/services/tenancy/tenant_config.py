"""What deciding an action reads of a tenant's configuration, kept per process while its stamp holds.

Every track reads the tenant's settings, the action and its live rule-set version, the custom
data points and lists its rules use, and the webhook endpoints to notify. Admins change these
rarely; the API reads them on every request. So each process keeps one :class:`TenantConfig` per
tenant and trusts it only while ``Tenant.config_stamp`` is the one it was built for: every flush
that changes any of these rows gives the tenant a new stamp in the same transaction
(``app.models.config_stamp``), and the API-key lookup reads the stamp in the same statement as the
key. A request therefore sees either the configuration before a change or the one after it.

Each part is loaded on first use (plain rows, no ORM objects: they are shared between requests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import aliased

from app.config import Settings
from app.domain.rule_sets import compile_rule_set
from app.domain.rules import CompiledRuleCache
from app.domain.theme import Theme, stylesheet
from app.domain.track_decision import ListVersion, RuleSetVersion
from app.extensions import db
from app.models import (
    ActionConfiguration,
    ActionVersion,
    CustomDataPoint,
    CustomList,
    ShadowRun,
    Tenant,
    WebhookEndpoint,
)
from app.services.tenancy.tenant_settings import effective_settings

CACHED_TENANTS = 1024

_compiled_rules = CompiledRuleCache()

# What a caller selects with the tenant to get its configuration (see api_keys: with the key).
TENANT_COLUMNS = (Tenant.config_stamp, Tenant.webauthn_rp_id, Tenant.webauthn_rp_name, Tenant.webauthn_origins,
                  Tenant.redirect_allowlist, Tenant.client_token_ttl, Tenant.remember_device_days)
_TENANT = select(*TENANT_COLUMNS).where(Tenant.id == bindparam("tenant_id"))
# The action and its live version (its highest number), in one statement.
_NEWER = aliased(ActionVersion)
_LIVE_NUMBER = (
    select(func.max(_NEWER.number)).where(_NEWER.action_configuration_id == ActionConfiguration.id).scalar_subquery()
)
_ACTION = (
    select(ActionConfiguration.id, ActionConfiguration.tenant_id, ActionConfiguration.code,
           ActionVersion.id.label("version_id"), ActionVersion.number, ActionVersion.document)
    .join(ActionVersion, and_(ActionVersion.action_configuration_id == ActionConfiguration.id,
                              ActionVersion.number == _LIVE_NUMBER))
    .where(ActionConfiguration.tenant_id == bindparam("tenant_id"), ActionConfiguration.code == bindparam("code"))
)
_VERSION = (
    select(ActionVersion.action_configuration_id.label("id"), ActionVersion.tenant_id, ActionVersion.action_code.label("code"),
           ActionVersion.id.label("version_id"), ActionVersion.number, ActionVersion.document)
    .where(ActionVersion.tenant_id == bindparam("tenant_id"), ActionVersion.id == bindparam("version_id"))
)
_DATA_POINTS = select(CustomDataPoint.model_type, CustomDataPoint.name, CustomDataPoint.data_type).where(
    CustomDataPoint.tenant_id == bindparam("tenant_id")
)
_LISTS = select(CustomList.name, CustomList.id, CustomList.version, CustomList.items).where(
    CustomList.tenant_id == bindparam("tenant_id"), CustomList.name.in_(bindparam("names", expanding=True))
)
_SHADOW = select(ShadowRun.id, ShadowRun.candidate_document).where(
    ShadowRun.action_configuration_id == bindparam("action_id"), ShadowRun.status == "active"
)
_THEME = select(Tenant.theme).where(Tenant.id == bindparam("tenant_id"))
_SUBSCRIBERS = select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
    WebhookEndpoint.tenant_id == bindparam("tenant_id"), WebhookEndpoint.is_active.is_(True)
)


@dataclass(frozen=True)
class ActionPolicy:
    """An action and the live version that decides it."""

    id: str
    tenant_id: str
    code: str
    version_id: str
    number: int
    document: dict[str, Any]  # the version's rule set (app.domain.rule_sets)

    @classmethod
    def of(cls, config: ActionConfiguration, version: ActionVersion) -> ActionPolicy:
        return cls(config.id, config.tenant_id, config.code, version.id, version.number, version.document)


@dataclass(frozen=True)
class ShadowPolicy:
    """The shadow running on an action: its run's id and its rules, compiled."""

    run_id: str
    version: RuleSetVersion


@dataclass(frozen=True)
class TenantOverrides:
    """The tenant's console overrides of the environment (read by ``effective_settings``)."""

    webauthn_rp_id: str | None
    webauthn_rp_name: str | None
    webauthn_origins: list[str] | None
    redirect_allowlist: list[str] | None
    client_token_ttl: int | None
    remember_device_days: int | None


class TenantConfig:
    """One tenant's configuration as of one stamp; each part loaded on first use, then kept."""

    def __init__(self, tenant_id: str, stamp: str, overrides: TenantOverrides) -> None:
        self.tenant_id = tenant_id
        self.stamp = stamp
        self.overrides = overrides
        self._settings: tuple[Settings, Settings] | None = None
        self._actions: dict[str, ActionPolicy | None] = {}
        self._rule_sets: dict[str, RuleSetVersion] = {}
        self._shadows: dict[str, ShadowPolicy | None] = {}
        self._lists: dict[str, ListVersion | None] = {}
        self._point_types: dict[tuple[str, str], str] | None = None
        self._subscribers: list[tuple[str, list[str]]] | None = None
        self._stylesheet: str | None = None

    def settings(self, base: Settings) -> Settings:
        """``base`` (the environment's) with this tenant's overrides."""
        cached = self._settings
        if cached is None or cached[0] is not base:
            cached = self._settings = (base, effective_settings(base, self.overrides))
        return cached[1]

    def action(self, code: str) -> ActionPolicy | None:
        if code not in self._actions:
            row = _execute(_ACTION, tenant_id=self.tenant_id, code=code).one_or_none()
            self._actions[code] = ActionPolicy(**row._mapping) if row is not None else None
        return self._actions[code]

    def rule_set(self, action: ActionPolicy) -> RuleSetVersion:
        """The action's live version, compiled once per process: a version never changes."""
        cached = self._rule_sets.get(action.version_id)
        if cached is None:
            cached = self._rule_sets[action.version_id] = compile_rule_set(
                action.document, version_id=action.version_id, number=action.number,
                compile_conditions=lambda rule_id, expr: _compiled_rules.get_or_compile(rule_id, action.version_id, expr),
            )
        return cached

    def version(self, version_id: str) -> RuleSetVersion | None:
        """One of the tenant's published versions by id, compiled once per process like the live one:
        what rebuilds the decision of an action it decided."""
        cached = self._rule_sets.get(version_id)
        if cached is None:
            row = _execute(_VERSION, tenant_id=self.tenant_id, version_id=version_id).one_or_none()
            if row is None:
                return None
            cached = self.rule_set(ActionPolicy(**row._mapping))
        return cached

    def shadow(self, action: ActionPolicy) -> ShadowPolicy | None:
        """The shadow evaluated on the action's tracks, if one runs: one query per stamp and action."""
        if action.id not in self._shadows:
            row = _execute(_SHADOW, action_id=action.id).first()
            self._shadows[action.id] = None if row is None else ShadowPolicy(row.id, compile_rule_set(
                row.candidate_document, version_id=None, number=None,
                compile_conditions=lambda rule_id, expr: _compiled_rules.get_or_compile(rule_id, f"shadow:{row.id}", expr),
            ))
        return self._shadows[action.id]

    def data_point_types(self) -> dict[tuple[str, str], str]:
        """(model type, name) → data type, for every custom data point the tenant declared."""
        if self._point_types is None:
            self._point_types = {
                (model, name): data_type for model, name, data_type in _execute(_DATA_POINTS, tenant_id=self.tenant_id)
            }
        return self._point_types

    def lists(self, names: set[str]) -> dict[str, ListVersion]:
        """The named custom lists that exist, by name, as of their current version."""
        unknown = sorted(names - self._lists.keys())
        if unknown:
            found = {row.name: row for row in _execute(_LISTS, tenant_id=self.tenant_id, names=unknown)}
            for name in unknown:
                row = found.get(name)
                self._lists[name] = ListVersion(row.id, row.version, list(row.items or ())) if row else None
        return {name: self._lists[name] for name in names if self._lists[name] is not None}

    def stylesheet(self) -> str:
        """The hosted pages' theme as CSS (domain.theme), built once per stamp: every page links it."""
        if self._stylesheet is None:
            stored = _execute(_THEME, tenant_id=self.tenant_id).scalar_one_or_none()
            self._stylesheet = stylesheet(Theme.from_stored(stored))
        return self._stylesheet

    def webhook_subscribers(self) -> list[tuple[str, list[str]]]:
        """(endpoint id, event types) of every active endpoint."""
        if self._subscribers is None:
            self._subscribers = [
                (endpoint_id, list(types or ())) for endpoint_id, types in _execute(_SUBSCRIBERS, tenant_id=self.tenant_id)
            ]
        return self._subscribers


_configs: dict[str, TenantConfig] = {}


def config_for(tenant_id: str, row: Any) -> TenantConfig:
    """The process's configuration for the stamp in ``row`` (which selected ``TENANT_COLUMNS``); a new,
    empty one when the stamp moved on. On the hot path: a hit builds nothing."""
    config = _configs.get(tenant_id)
    if config is None or config.stamp != row.config_stamp:
        if len(_configs) >= CACHED_TENANTS:
            _configs.clear()
        overrides = TenantOverrides(row.webauthn_rp_id, row.webauthn_rp_name, row.webauthn_origins,
                                    row.redirect_allowlist, row.client_token_ttl, row.remember_device_days)
        config = _configs[tenant_id] = TenantConfig(tenant_id, row.config_stamp, overrides)
    return config


def current_config(tenant_id: str) -> TenantConfig:
    """For callers that did not read the stamp already (one primary-key lookup)."""
    return config_for(tenant_id, _execute(_TENANT, tenant_id=tenant_id).one())


def theme_stylesheet(tenant_id: str) -> tuple[str, str] | None:
    """(the tenant's current stamp, its theme's CSS), or ``None`` when there is no such tenant."""
    row = _execute(_TENANT, tenant_id=tenant_id).one_or_none()
    if row is None:
        return None
    config = config_for(tenant_id, row)
    return config.stamp, config.stylesheet()


def settings_for(tenant_id: str, base: Settings) -> Settings:
    """The one way a request reads a tenant's settings in effect: ``base`` (the environment's) with
    the tenant's overrides, built once per configuration stamp and process."""
    return current_config(tenant_id).settings(base)


def _execute(statement, **params):
    # On the session's connection, not through the ORM: plain rows, and it never autoflushes.
    return db.session.connection().execute(statement, params)
