"""Action configurations and their rules through the Management API, on the rule lifecycle.

Every write edits the action's draft (services.rulesets), as the console's editors do, and is
audited with the management key as its actor. It goes live when published: explicitly
(:func:`publish_action`, with a change note), when the request asks (``publish``), or at once
for a key whose access is ``publish`` (what Terraform expects: an apply takes effect). Reads
return the draft, so a declarative tool reads back what it wrote.

Creating an action publishes its version 1, as everywhere; deleting one deletes it, live version
and all, as the console does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.domain.actions import DEFAULT_VERIFICATION_METHODS
from app.domain.decision import UnenrolledPolicy
from app.domain.documents import parse_document
from app.domain.errors import Conflict, Forbidden, InvalidRequest
from app.domain.rules import validate_conditions
from app.extensions import db
from app.models import ActionConfiguration, ActionVersion, Rule, UserAction
from app.services.management.wire import ActionConfigurationBody, ReviewSlaBody, RuleBody
from app.services.rulesets import rules, versions
from app.services.rulesets.drafts import rule_document
from app.services.tenancy.audit import record_change
from app.services.tenancy.management_keys import ManagementCaller
from app.services.tenancy.records import flush_or_refuse


@dataclass(frozen=True)
class ActionView:
    config: ActionConfiguration
    live_number: int
    draft_pending: bool
    last_action_created_at: datetime | None


def _refuse_unsupported(body: ActionConfigurationBody | RuleBody) -> None:
    """Fields Authsignal defines that Tollgate has no behaviour for: taking them silently would let
    a config file say something that never happens."""
    if body.prompt_to_enroll_verification_methods:
        raise InvalidRequest("promptToEnrollVerificationMethods: Tollgate does not prompt to enrol after a "
                             "challenge; send [] or null.", code="unsupported_field")
    if isinstance(body, ActionConfigurationBody) and body.messaging_templates is not None:
        raise InvalidRequest("messagingTemplates: Tollgate's messages are set per tenant (console → Messages), "
                             "not per action; send null.", code="unsupported_field")


def view_action(tenant_id: str, code: str) -> ActionView:
    config = rules.get_action_configuration(tenant_id, code)
    draft = versions.draft_for(config)
    last = db.session.execute(select(func.max(UserAction.created_at)).where(
        UserAction.tenant_id == tenant_id, UserAction.action_code == code)).scalar_one()
    return ActionView(config, draft.live.number, bool(draft.diff), last)


def list_actions(tenant_id: str) -> list[ActionView]:
    return [view_action(tenant_id, config.code) for config in rules.list_action_configurations(tenant_id)]


def create_action(caller: ManagementCaller, body: ActionConfigurationBody) -> ActionConfiguration:
    _refuse_unsupported(body)
    if body.action_code is None:
        raise InvalidRequest("actionCode: required.", code="invalid_request")
    rules.validate_action_code(body.action_code)
    if body.default_user_action_result is None:
        raise InvalidRequest("defaultUserActionResult: required.", code="invalid_request")
    fields: dict[str, Any] = {"code": body.action_code, "default_outcome": body.default_user_action_result,
                              "default_verification_method": body.default_verification_method}
    if body.verification_methods is not None:
        fields["verification_methods"] = body.verification_methods
    document = rules.ActionDocument(**fields)
    parse_document(rules.ActionSettings, {  # the console editor's checks (a method, the default one offered)
        "name": document.code, "defaultOutcome": document.default_outcome.value,
        "verificationMethods": _plain(document.verification_methods),
        "defaultVerificationMethod": _plain(document.default_verification_method),
        "unenrolledPolicy": UnenrolledPolicy.ALLOW.value})
    return rules.create_action_configuration(caller.tenant_id, document, actor=caller.agent)


def update_action(caller: ManagementCaller, code: str, body: ActionConfigurationBody, *, publish: bool,
                  note: str | None) -> ActionConfiguration:
    _refuse_unsupported(body)
    _check_may_publish(caller, publish=publish)
    config = rules.get_action_configuration(caller.tenant_id, code)
    sent = body.model_fields_set
    if "action_code" in sent and body.action_code != code:
        raise InvalidRequest("actionCode: an action's code cannot change; create a new action instead.",
                             code="invalid_request")
    settings = _settings(config)
    if "default_user_action_result" in sent:
        if body.default_user_action_result is None:
            raise InvalidRequest("defaultUserActionResult: required, cannot be null.", code="invalid_request")
        settings["default_outcome"] = body.default_user_action_result
    if "verification_methods" in sent:
        settings["verification_methods"] = body.verification_methods or list(DEFAULT_VERIFICATION_METHODS)
    if "default_verification_method" in sent:
        settings["default_verification_method"] = body.default_verification_method
    _update_settings(caller, code, settings)
    _publish_if_asked(caller, code, publish=publish, note=note, what=f"action “{code}” updated")
    return rules.get_action_configuration(caller.tenant_id, code)


def update_review_sla(caller: ManagementCaller, code: str, body: ReviewSlaBody) -> ActionConfiguration:
    """Not part of the rule set: applies at once, as in the console."""
    settings = _settings(rules.get_action_configuration(caller.tenant_id, code))
    sent = body.model_fields_set
    if "review_deadline_minutes" in sent:
        settings["review_deadline_minutes"] = body.review_deadline_minutes
    if "review_overdue_policy" in sent and body.review_overdue_policy is not None:
        settings["review_overdue_policy"] = body.review_overdue_policy
    return _update_settings(caller, code, settings)


def _settings(config: ActionConfiguration) -> dict[str, Any]:
    return {"name": config.name, "default_outcome": config.default_outcome,
            "verification_methods": list(config.verification_methods),
            "default_verification_method": config.default_verification_method,
            "unenrolled_policy": config.unenrolled_policy, "review_deadline_minutes": config.review_deadline_minutes,
            "review_overdue_policy": config.review_overdue_policy,
            "require_device_bound_passkey": config.require_device_bound_passkey}


def _update_settings(caller: ManagementCaller, code: str, settings: dict[str, Any]) -> ActionConfiguration:
    changes = parse_document(rules.ActionSettings, {key: _plain(value) for key, value in settings.items()})
    return rules.update_action_configuration(caller.agent, code, changes)


def delete_action(caller: ManagementCaller, code: str) -> None:
    rules.delete_action_configuration(caller.agent, code)


def publish_action(caller: ManagementCaller, code: str, *, note: str | None) -> ActionVersion:
    _check_may_publish(caller, publish=True)
    return versions.publish(caller.agent, caller.tenant_id, code, note=note or "")


def _check_may_publish(caller: ManagementCaller, *, publish: bool) -> None:
    """Before a write that would publish: with four-eyes on, a key publishes nothing (whoever holds
    one could otherwise publish their own change); its writes still edit the draft, for a second
    admin to publish in the console. Checked first, so a refused write changes nothing."""
    if (publish or caller.publishes) and versions.needs_second_admin(caller.tenant_id):
        raise Forbidden("Four-eyes is on (Settings → Rule changes): a management key cannot publish. Write "
                        "without publishing (a draft key, no ?publish=true) and have an admin publish in the "
                        "console.", code="second_admin_required")


def _publish_if_asked(caller: ManagementCaller, code: str, *, publish: bool, note: str | None, what: str) -> None:
    """After a committed write: publish the draft when the key or the request says so and it differs."""
    if not (publish or caller.publishes):
        return
    db.session.expire_all()  # the session keeps what it loaded past a commit (an action's rules, say)
    if not versions.draft_of(caller.tenant_id, code).diff:
        return
    versions.publish(caller.agent, caller.tenant_id, code,
                     note=note or f"Published through the Management API: {what}.")


# -- rules -----------------------------------------------------------------------------------------


def list_rules(tenant_id: str, code: str) -> list[Rule]:
    return rules.list_rules(tenant_id, code)


def get_rule(tenant_id: str, code: str, rule_id: str) -> Rule:
    return rules.find_rule(tenant_id, rule_id, action_code=code)


def create_rule(caller: ManagementCaller, code: str, body: RuleBody, *, publish: bool, note: str | None) -> Rule:
    _refuse_unsupported(body)
    _check_may_publish(caller, publish=publish)
    missing = [wire for field, wire in (("name", "name"), ("priority", "priority"), ("type", "type"))
               if getattr(body, field) is None]
    if missing:
        raise InvalidRequest("; ".join(f"{wire}: required." for wire in missing), code="invalid_request")
    document = _rule_document({"name": body.name, "description": body.description or "",
                               "isActive": True if body.is_active is None else body.is_active,
                               "priority": body.priority, "outcome": body.type,
                               "verificationMethods": body.verification_methods,
                               "defaultVerificationMethod": body.default_verification_method,
                               "conditions": body.conditions})
    config = rules.get_action_configuration(caller.tenant_id, code)
    _check_priority_free(config, document.priority, rule_id=None)
    rule = rules.create_rule(caller.tenant_id, code, document, actor=caller.agent)
    rule_id = rule.id
    _publish_if_asked(caller, code, publish=publish, note=note, what=f"rule “{document.name}” created")
    return get_rule(caller.tenant_id, code, rule_id)


# What a PATCH may not set to null: the rule would have no name, place or outcome.
_NOT_NULL = {"name": "name", "is_active": "isActive", "priority": "priority", "type": "type"}
_WIRE_TO_DOCUMENT = {"name": "name", "description": "description", "is_active": "isActive", "priority": "priority",
                     "type": "outcome", "verification_methods": "verificationMethods",
                     "default_verification_method": "defaultVerificationMethod", "conditions": "conditions"}


def update_rule(caller: ManagementCaller, code: str, rule_id: str, body: RuleBody, *, publish: bool,
                note: str | None) -> Rule:
    """The fields sent replace the rule's; a field sent as null is cleared (where it may be)."""
    _refuse_unsupported(body)
    _check_may_publish(caller, publish=publish)
    rule = get_rule(caller.tenant_id, code, rule_id)
    before = rule_document(rule)
    merged = {key: value for key, value in before.items() if key != "ruleId"}
    for field in body.model_fields_set & set(_WIRE_TO_DOCUMENT):
        value = getattr(body, field)
        if value is None and field in _NOT_NULL:
            raise InvalidRequest(f"{_NOT_NULL[field]}: cannot be null.", code="invalid_request")
        merged[_WIRE_TO_DOCUMENT[field]] = "" if value is None and field == "description" else value
    document = _rule_document(merged)
    _check_priority_free(rule.action_configuration, document.priority, rule_id=rule.id)
    rule.name, rule.description, rule.is_active = document.name, document.description, document.is_active
    rule.priority, rule.outcome, rule.conditions = document.priority, document.outcome, document.conditions
    rule.verification_methods = (None if document.verification_methods is None
                                 else [m.value for m in document.verification_methods])
    rule.default_verification_method = document.default_verification_method
    after = rule_document(rule)
    if after != before:
        rule.version += 1  # compiled conditions are cached per (rule id, version)
        record_change(caller.agent, "rule.updated", rule.id, "rule", before={"action": code, **before},
                      after={"action": code, **after})
        flush_or_refuse(_priority_taken(code, document.priority))
    db.session.commit()
    _publish_if_asked(caller, code, publish=publish, note=note, what=f"rule “{document.name}” updated")
    return get_rule(caller.tenant_id, code, rule_id)


def delete_rule(caller: ManagementCaller, code: str, rule_id: str, *, publish: bool, note: str | None) -> None:
    _check_may_publish(caller, publish=publish)
    rule = get_rule(caller.tenant_id, code, rule_id)
    name = rule.name
    rules.delete_rule(caller.tenant_id, rule.id, actor=caller.agent)
    _publish_if_asked(caller, code, publish=publish, note=note, what=f"rule “{name}” deleted")


def _rule_document(fields: dict[str, Any]) -> rules.RuleDocument:
    """The console's checks (names, 0-99, methods), then the JsonLogic's, naming the failing node."""
    document = parse_document(rules.RuleDocument, {key: _plain(value) for key, value in fields.items()})
    validate_conditions(document.conditions)
    return document


def _check_priority_free(config: ActionConfiguration, priority: int, *, rule_id: str | None) -> None:
    taken = next((r for r in config.rules if r.priority == priority and r.id != rule_id), None)
    if taken is not None:
        raise Conflict(f"priority: action '{config.code}' already has a rule with priority {priority} "
                       f"(“{taken.name}”, {taken.id}); priorities are unique per action.", code="priority_taken")


def _priority_taken(code: str, priority: int) -> Conflict:
    return Conflict(f"priority: action '{code}' already has a rule with priority {priority}.", code="priority_taken")


def _plain(value: Any) -> Any:
    """Enums as their values, so the documents validate them like JSON the CLI reads."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return getattr(value, "value", value)
