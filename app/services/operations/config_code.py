"""Config as code: export a tenant's configuration as YAML, plan a file against it, apply a file.

What is exported is the **published** configuration: each action as its live version decides (a
draft is work in progress, not configuration), with the action's name and review deadline, the
custom data points and lists, the tenant's setting overrides and its webhook endpoints. Instance-wide
network lists are not a tenant's, so not in the file; secrets never are.

Apply writes in one transaction, as the console's services would: rule and policy changes become
the action's draft (published only with a change note), everything else applies at once, and each
change is an audit event by ``cli``. It refuses when what it would overwrite (the published
configuration and every draft) is no longer what the plan saw: the plan's fingerprint.

Past our usual size because export, plan and apply must agree on one reading of the stored
configuration (``_live``, ``_settings_of``) and on the plan's fingerprint; apart, they could
drift and a plan would no longer describe what apply writes. The pure half is ``app.domain.config_code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_camel
from sqlalchemy import select, update

from app.config import Settings
from app.domain.config_code import (
    Change,
    ConfigProblem,
    ConfigSpec,
    InvalidConfigFile,
    LoadedConfig,
    canonical,
    describe_change,
    diff_configs,
    diff_rules,
    fingerprint,
    load_config,
    render_config,
    sorted_items,
)
from app.domain.errors import Conflict, DomainError
from app.domain.rule_sets import document_digest
from app.domain.theme import InvalidTheme, Theme
from app.extensions import db
from app.models import ActionConfiguration, CustomDataPoint, CustomList, Tenant, WebhookEndpoint
from app.models.base import new_id
from app.models.review import OverduePolicy
from app.services.challenges.code_destinations import unsendable_methods
from app.services.delivery.endpoints import EndpointInput, InvalidEndpoint, validate_endpoint
from app.services.rulesets import versions
from app.services.rulesets.custom_lists import parse_items, rules_reading_list
from app.services.rulesets.drafts import draft_document, first_version
from app.services.rulesets.rules import ActionDocument, list_action_configurations, new_action_configuration
from app.services.tenancy.audit import record_change
from app.services.tenancy.tenant_settings import (
    InvalidTenantSettings,
    TenantSettingsInput,
    get_tenant,
    validate_tenant_settings,
    validate_theme,
)

ACTOR = "cli"
POLICY = ("defaultOutcome", "verificationMethods", "defaultVerificationMethod", "unenrolledPolicy")
RULE_KEYS = ("name", "description", "isActive", "priority", "outcome", "verificationMethods",
             "defaultVerificationMethod", "conditions")
# The settings a file carries, by their column (the console's FIELDS but the tenant's name).
SETTINGS = {"logoUrl": "logo_url", "webauthnRpId": "webauthn_rp_id", "webauthnRpName": "webauthn_rp_name",
            "webauthnOrigins": "webauthn_origins", "redirectAllowlist": "redirect_allowlist",
            "clientTokenTtl": "client_token_ttl", "rememberDeviceDays": "remember_device_days",
            "publishNeedsSecondAdmin": "publish_needs_second_admin"}
# Checked by the file itself (app.domain.review_reasons), not by the settings form.
REVIEW_REASONS = "reviewReasons"
# Checked as Settings → Brand checks it (WCAG AA contrast included); kept as the management API shows it.
THEME = "theme"
WEBHOOK_FIELDS = {"url": "url", "event_types": "eventTypes", "description": "description", "is_active": "isActive"}


# -- export ---------------------------------------------------------------------------------------


def export_config(tenant_id: str, *, sections: tuple[str, ...] | None = None) -> str:
    """``sections``: only these (a file without the others leaves them alone); None: all."""
    document = _live(tenant_id)[0]
    if sections is not None:
        document = {key: value for key, value in document.items() if key == "tollgate" or key in sections}
    return render_config(document)


def _live(tenant_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The tenant's published configuration as a canonical document, and the fingerprint's input:
    that document and every action's draft."""
    configs = list_action_configurations(tenant_id)
    tenant = get_tenant(tenant_id)
    raw = {
        "tollgate": 1,
        "actions": {config.code: _action_form(config, versions.live_version(config).document) for config in configs},
        "dataPoints": {point.path: {"type": point.data_type, "description": point.description}
                       for point in _rows(CustomDataPoint, tenant_id)},
        "lists": {row.name: {"kind": row.kind, "description": row.description, "items": list(row.items)}
                  for row in _rows(CustomList, tenant_id)},
        "settings": _settings_of(tenant),
        "webhooks": _webhooks(tenant_id),
    }
    try:
        document = canonical(ConfigSpec.model_validate(raw))
    except ValidationError as exc:  # stored by a path that checked less than a file does
        raise DomainError(f"The stored configuration cannot be written as a file: {exc}", code="unexportable") from exc
    drafts = {config.code: document_digest(draft_document(config)) for config in configs}
    return document, {"live": document, "drafts": drafts}


def _action_form(config: ActionConfiguration, rule_set: dict[str, Any]) -> dict[str, Any]:
    """An action as a file has it: a rule-set document's policy and rules (without their ids), with
    what of the action lives outside its versions (name, review deadline)."""
    return {
        "name": config.name,
        **{key: rule_set[key] for key in POLICY},
        "reviewDeadlineMinutes": config.review_deadline_minutes,
        "reviewOverduePolicy": config.review_overdue_policy.value,
        "requireDeviceBoundCredential": config.require_device_bound_passkey,
        "rules": [{key: rule.get(key) for key in RULE_KEYS}
                  for rule in sorted(rule_set["rules"], key=lambda rule: rule["priority"])],
    }


def _rows(model, tenant_id: str) -> list:
    return list(db.session.execute(select(model).where(model.tenant_id == tenant_id)).scalars())


def _webhooks(tenant_id: str) -> dict[str, Any]:
    hooks: dict[str, Any] = {}
    for endpoint in _rows(WebhookEndpoint, tenant_id):
        if endpoint.url in hooks:
            raise Conflict(f"Two webhook endpoints have the URL {endpoint.url}; a file knows an endpoint by its "
                           "URL, so delete one of them first.", code="unexportable")
        hooks[endpoint.url] = {"description": endpoint.description, "eventTypes": list(endpoint.event_types),
                               "isActive": endpoint.is_active}
    return hooks


# -- plan -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    # Actions whose unpublished draft differs from the file: apply replaces that draft.
    drafts_replaced: tuple[str, ...]
    fingerprint: str  # of what apply would overwrite, as it is now

    @property
    def has_changes(self) -> bool:
        return bool(self.changes or self.drafts_replaced)


def plan_config(tenant_id: str, text: str, *, settings: Settings) -> Plan:
    """What applying ``text`` would change against the published configuration; a bad file raises
    :class:`InvalidConfigFile`."""
    return _plan(tenant_id, _checked(tenant_id, text, settings=settings).document)


def _plan(tenant_id: str, wanted: dict[str, Any]) -> Plan:
    live, state = _live(tenant_id)
    return Plan(diff_configs(live, wanted), _drafts_replaced(tenant_id, wanted), fingerprint(state))


def _drafts_replaced(tenant_id: str, wanted: dict[str, Any]) -> tuple[str, ...]:
    replaced = []
    for config in list_action_configurations(tenant_id):
        want = wanted.get("actions", {}).get(config.code)
        draft = versions.draft_for(config)
        if want is not None and draft.diff and _versioned(_action_form(config, draft.document)) != _versioned(want):
            replaced.append(config.code)
    return tuple(replaced)


def _versioned(action: dict[str, Any]) -> dict[str, Any]:
    return {key: action[key] for key in (*POLICY, "rules")}


def _checked(tenant_id: str, text: str, *, settings: Settings) -> LoadedConfig:
    """The file, checked as the console checks each kind of record; list items and webhook event
    types in the form they will be stored in."""
    loaded = load_config(text)
    document = loaded.document
    problems: list[ConfigProblem] = []
    existing = {row.name: row.kind for row in _rows(CustomList, tenant_id)}
    for name, wanted in document.get("lists", {}).items():
        items, errors = parse_items(wanted["kind"], "\n".join(str(item) for item in wanted["items"]))
        problems += loaded.item_problems(("lists", name, "items"), errors)
        wanted["items"] = sorted_items(items)
        if existing.get(name, wanted["kind"]) != wanted["kind"]:
            problems.append(loaded.problem(("lists", name, "kind"), f"the list holds {existing[name]}; a list's kind "
                                           "cannot change (rules read it by name): make a list with another name"))
    if "settings" in document:
        try:
            cleaned = validate_tenant_settings(_settings_input(get_tenant(tenant_id), document["settings"]),
                                               base=settings)
        except InvalidTenantSettings as exc:
            keys = {column: key for key, column in SETTINGS.items()}
            problems += [loaded.problem(("settings", keys.get(column, column)), message)
                         for column, messages in exc.fields.items() for message in messages]
        else:  # as they will be stored (an origin normalised, a blank the default)
            document["settings"] = {key: cleaned[SETTINGS[key]] if key in SETTINGS else value
                                    for key, value in document["settings"].items()}
        if THEME in document["settings"]:
            try:
                theme = validate_theme(Theme.values_of(document["settings"][THEME] or {}))
            except InvalidTheme as exc:
                problems += [loaded.problem(("settings", THEME, to_camel(name)), message)
                             for name, messages in exc.fields.items() for message in messages]
            else:  # as it will be stored: colours as #rrggbb, the default font left out
                document["settings"][THEME] = theme.document()
    for url, hook in document.get("webhooks", {}).items():
        try:
            valid = validate_endpoint(_endpoint_input(url, hook),
                                      allow_private_networks=settings.webhook_allow_private_networks)
        except InvalidEndpoint as exc:
            problems += [loaded.problem(("webhooks", url) if name == "url" else ("webhooks", url, WEBHOOK_FIELDS[name]),
                                        message) for name, messages in exc.fields.items() for message in messages]
            continue
        if valid.url != url:
            problems.append(loaded.problem(("webhooks", url), "write the URL without spaces around it"))
    problems += _unsendable(tenant_id, loaded, settings=settings)
    if problems:
        raise InvalidConfigFile(problems)
    return loaded


def _unsendable(tenant_id: str, loaded: LoadedConfig, *, settings: Settings) -> list[ConfigProblem]:
    """An action may not allow what this server cannot send (in production), judged with the file's
    webhooks when it has them: they are the endpoints the apply leaves."""
    document = loaded.document
    hooks = None
    if "webhooks" in document:
        hooks = {kind for hook in document["webhooks"].values() if hook.get("isActive", True)
                 for kind in hook["eventTypes"]}
    problems = []
    for code, action in document.get("actions", {}).items():
        unsendable = unsendable_methods(action["verificationMethods"], tenant_id, settings, hooks=hooks)
        if unsendable:
            problems.append(loaded.problem(("actions", code, "verificationMethods"),
                                           f"{', '.join(unsendable)} cannot be enabled: this server has no way to send "
                                           "them (TOLLGATE_SMTP_URL, TOLLGATE_TWILIO_*, or an email.created / "
                                           "sms.created webhook)"))
    return problems


def _settings_of(tenant: Tenant) -> dict[str, Any]:
    return {**{key: getattr(tenant, column) for key, column in SETTINGS.items()}, REVIEW_REASONS: tenant.review_reasons,
            THEME: Theme.from_stored(tenant.theme).document()}


def _settings_input(tenant: Tenant, wanted: dict[str, Any]) -> TenantSettingsInput:
    """The tenant's settings with the file's over them (a setting left out stays as it is)."""
    values = {column: wanted.get(key, getattr(tenant, column)) for key, column in SETTINGS.items()}
    return TenantSettingsInput(name=tenant.name, **values)


def _endpoint_input(url: str, hook: dict[str, Any]) -> EndpointInput:
    return EndpointInput(url=url, event_types=list(hook["eventTypes"]), description=hook["description"],
                         is_active=hook["isActive"])


# -- apply ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyReport:
    plan: Plan
    published: tuple[tuple[str, int], ...]  # (action code, version number)
    drafts_waiting: tuple[str, ...]  # actions whose draft now differs from their live version


def apply_config(tenant_id: str, text: str, *, settings: Settings, expected_fingerprint: str | None,
                 publish_note: str | None, now: datetime) -> ApplyReport:
    """Make the tenant's configuration the file's, in one transaction. ``expected_fingerprint``: the
    plan's (None: apply whatever is there now, ``--force``); ``publish_note``: publish every action
    whose draft then differs from its live version, with this change note."""
    try:
        _begin_alone(tenant_id)
        wanted = _checked(tenant_id, text, settings=settings).document
        plan = _plan(tenant_id, wanted)
        if expected_fingerprint is not None and expected_fingerprint != plan.fingerprint:
            raise Conflict(f"The configuration changed since the plan (fingerprint {expected_fingerprint}, now "
                           f"{plan.fingerprint}): plan again and review the changes, or apply with --force.",
                           code="config_drifted")
        _Apply(tenant_id, now=now).run(plan, wanted)
        published, waiting = [], []
        for config in list_action_configurations(tenant_id):
            if publish_note is not None and config.code in wanted.get("actions", {}):
                version = versions.publish_in_transaction(ACTOR, config, note=publish_note, now=now)
                if version is not None:
                    published.append((config.code, version.number))
            if versions.draft_for(config).diff:
                waiting.append(config.code)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return ApplyReport(plan, tuple(published), tuple(waiting))


def _begin_alone(tenant_id: str) -> None:
    """Open the transaction with the tenant's row locked, so that what the fingerprint is checked
    against cannot change before the commit (a second apply waits, then finds it drifted). An UPDATE
    that changes nothing locks on both databases (as versions.begin_alone does for one action); it
    must come first, since SQLite cannot turn a read begun earlier into a write."""
    db.session.rollback()
    db.session.execute(update(Tenant).where(Tenant.id == tenant_id).values(name=Tenant.name))


class _Apply:
    """One apply's writes, each with its audit event; nothing commits here."""

    def __init__(self, tenant_id: str, *, now: datetime):
        self.tenant_id = tenant_id
        self.now = now

    def audit(self, event: str, target_id: str, target_type: str, *, before: Any = None, after: Any = None) -> None:
        record_change(ACTOR, event, target_id, target_type, tenant_id=self.tenant_id, now=self.now,
                      before=before, after=after)

    def run(self, plan: Plan, wanted: dict[str, Any]) -> None:
        by_section: dict[str, list[Change]] = {}
        for change in plan.changes:
            by_section.setdefault(change.section, []).append(change)
        for change in by_section.get("dataPoints", []):
            self.data_point(change)
        removed_lists = []
        for change in by_section.get("lists", []):
            if change.kind == "removed":
                removed_lists.append(change)
            else:
                self.custom_list(change)
        for code, action in wanted.get("actions", {}).items():
            self.action(code, action, next((c for c in by_section.get("actions", []) if c.key == code), None),
                        replace_draft=code in plan.drafts_replaced)
        for change in by_section.get("actions", []):
            if change.kind == "removed":
                self.remove_action(change)
        for change in removed_lists:  # after the rules, which may have stopped reading them
            self.remove_list(change)
        if by_section.get("settings"):
            self.tenant_settings(wanted["settings"])
        for change in by_section.get("webhooks", []):
            self.webhook(change)
        db.session.flush()

    # -- each kind of record

    def data_point(self, change: Change) -> None:
        model_type, name = ("user", change.key.removeprefix("user.custom.")) if change.key.startswith("user.") \
            else ("action", change.key.removeprefix("custom."))
        row = db.session.execute(select(CustomDataPoint).where(
            CustomDataPoint.tenant_id == self.tenant_id, CustomDataPoint.model_type == model_type,
            CustomDataPoint.name == name)).scalar_one_or_none()
        if change.kind == "added":
            row = CustomDataPoint(tenant_id=self.tenant_id, name=name, model_type=model_type, created_at=self.now)
            db.session.add(row)
        if change.kind == "removed":
            db.session.delete(row)
        else:
            row.data_type, row.description, row.updated_at = change.after["type"], change.after["description"], self.now
        db.session.flush()
        self._audited("custom_data_point", row.id, change)

    def custom_list(self, change: Change) -> None:
        row = self._list(change.key)
        if row is None:
            row = CustomList(tenant_id=self.tenant_id, name=change.key, kind=change.after["kind"], version=1,
                             created_at=self.now)
            db.session.add(row)
        row.description, row.items = change.after["description"], list(change.after["items"])
        row.item_count, row.updated_at = len(row.items), self.now
        db.session.flush()
        self._audited("custom_list", row.id, change)

    def remove_list(self, change: Change) -> None:
        row = self._list(change.key)
        readers = rules_reading_list(self.tenant_id, row.name, kind=row.kind)
        if readers:
            named = ", ".join(f"“{rule}” ({code})" for code, rule in readers[:5])
            raise Conflict(f"The file removes list {row.name}, which rules still read: {named}.", code="custom_list_in_use")
        self._audited("custom_list", row.id, change)
        db.session.delete(row)

    def _list(self, name: str) -> CustomList | None:
        return db.session.execute(select(CustomList).where(CustomList.tenant_id == self.tenant_id,
                                                           CustomList.name == name)).scalar_one_or_none()

    def action(self, code: str, wanted: dict[str, Any], change: Change | None, *, replace_draft: bool) -> None:
        """Make the action the file's: its name and review deadline at once, its policy and rules as
        the draft. Audited as written: against the draft it replaces, not the live version."""
        if change is None and not replace_draft:
            return
        config = db.session.execute(select(ActionConfiguration).where(
            ActionConfiguration.tenant_id == self.tenant_id, ActionConfiguration.code == code)).scalar_one_or_none()
        created = config is None
        if created:
            config = new_action_configuration(self.tenant_id, ActionDocument(code=code, **{
                "name": wanted["name"], **{key: wanted[key] for key in POLICY}}))
            db.session.add(config)
            db.session.flush()
            db.session.add(first_version(config, published_by=ACTOR, now=self.now))
        before = _action_form(config, draft_document(config))
        config.name = wanted["name"]
        config.review_deadline_minutes = wanted["reviewDeadlineMinutes"]
        config.review_overdue_policy = OverduePolicy(wanted["reviewOverduePolicy"])
        config.require_device_bound_passkey = wanted["requireDeviceBoundCredential"]
        target = {**{key: wanted[key] for key in POLICY}, "rules": self._rules_with_ids(config, wanted["rules"])}
        if document_digest(target) != document_digest(draft_document(config)):
            versions.set_draft(config, target)
        db.session.flush()
        if created or _without_rules(before) != _without_rules(wanted):
            self.audit("action.created" if created else "action.updated", config.id, "action",
                       before=None if created else {"code": code, **_without_rules(before)},
                       after={"code": code, **_without_rules(wanted)})
        ids = {rule["name"]: rule["ruleId"] for rule in target["rules"]}
        ids_before = {rule.name: rule.id for rule in config.rules}
        for rule in diff_rules(before["rules"], wanted["rules"]):
            verb = {"added": "created", "changed": "updated", "removed": "deleted"}[rule.kind]
            self.audit(f"rule.{verb}", ids.get(rule.name) or ids_before.get(rule.name, ""), "rule",
                       before=rule.before and {"action": code, **rule.before},
                       after=rule.after and {"action": code, **rule.after})

    def _rules_with_ids(self, config: ActionConfiguration, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The file's rules with the ids of the rules of the same name, live or draft: a rule keeps its
        id (the history and the back-tests follow it) while its name stays."""
        known: dict[str, str] = {}
        for name, rule_id in [*((rule.name, rule.id) for rule in config.rules),
                              *((rule["name"], rule["ruleId"]) for rule in versions.live_version(config).document["rules"])]:
            known.setdefault(name, rule_id)
        return [{"ruleId": known.get(rule["name"]) or new_id(), **rule} for rule in rules]

    def remove_action(self, change: Change) -> None:
        config = db.session.execute(select(ActionConfiguration).where(
            ActionConfiguration.tenant_id == self.tenant_id, ActionConfiguration.code == change.key)).scalar_one()
        self.audit("action.deleted", config.id, "action", before={"code": change.key, **change.before})
        db.session.delete(config)

    def tenant_settings(self, wanted: dict[str, Any]) -> None:
        tenant = get_tenant(self.tenant_id)
        before = _settings_of(tenant)
        for key, value in wanted.items():
            if key == THEME:
                tenant.theme = Theme.from_stored(Theme.values_of(value)).stored()
            else:
                setattr(tenant, SETTINGS.get(key, "review_reasons"), value)
        self.audit("tenant.settings_updated", tenant.id, "tenant", before=before, after=_settings_of(tenant))

    def webhook(self, change: Change) -> None:
        row = db.session.execute(select(WebhookEndpoint).where(
            WebhookEndpoint.tenant_id == self.tenant_id, WebhookEndpoint.url == change.key)).scalar_one_or_none()
        if change.kind == "added":
            row = WebhookEndpoint(id=new_id(), tenant_id=self.tenant_id, url=change.key, created_at=self.now)
            db.session.add(row)
        if change.kind == "removed":
            db.session.delete(row)
        else:
            row.description, row.is_active = change.after["description"], change.after["isActive"]
            row.event_types, row.updated_at = list(change.after["eventTypes"]), self.now
        db.session.flush()
        self._audited("webhook_endpoint", row.id, change)

    def _audited(self, kind: str, row_id: str, change: Change) -> None:
        verb = {"added": "created", "changed": "updated", "removed": "deleted"}[change.kind]
        self.audit(f"{kind}.{verb}", row_id, kind, before=change.before and {"key": change.key, **change.before},
                   after=change.after and {"key": change.key, **change.after})


def _without_rules(action: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in action.items() if key != "rules"}


# -- what to print --------------------------------------------------------------------------------


def describe_plan(plan: Plan) -> list[str]:
    lines = [line for change in plan.changes for line in describe_change(change)]
    lines += [f"~ action {code}: its unpublished draft is replaced by the file's rules" for code in plan.drafts_replaced]
    if not plan.has_changes:
        return [f"No changes: the configuration is the file's. (fingerprint {plan.fingerprint})"]
    count = len(plan.changes) + len(plan.drafts_replaced)
    lines.append(f"\n{count} change{'s' if count != 1 else ''} (fingerprint {plan.fingerprint}). Rule and policy "
                 "changes go to each action's draft; the rest applies at once.")
    return lines


def describe_apply(report: ApplyReport) -> list[str]:
    lines = describe_plan(report.plan)[:-1] if report.plan.has_changes else ["No changes."]
    lines += [f"Version {number} of {code} is live." for code, number in report.published]
    if report.drafts_waiting:
        lines.append("Drafts waiting to be published (apply again with --publish -m NOTE, or "
                     f"`flask actions publish`): {', '.join(report.drafts_waiting)}.")
    return lines
