"""Action configurations, their rules, and publishing their drafts."""

from __future__ import annotations

from flask import g, jsonify

from app.api.responses import parse_body
from app.config import current_settings
from app.management_api import bp, serializers
from app.management_api.requests import publish_choice
from app.services.challenges.code_destinations import refuse_unsendable
from app.services.management import rule_sets
from app.services.management.wire import ActionConfigurationBody, PublishBody, RuleBody


def _action(code: str):
    return jsonify(serializers.action_configuration(rule_sets.view_action(g.caller.tenant_id, code)))


@bp.get("/action-configurations")
def action_configuration_list():
    return jsonify([serializers.action_configuration(view) for view in rule_sets.list_actions(g.caller.tenant_id)])


def _body(model: type[ActionConfigurationBody] | type[RuleBody]):
    """The body, refused when it enables a method this server cannot send (in production)."""
    body = parse_body(model)
    refuse_unsendable([m.value for m in body.verification_methods or ()], g.caller.tenant_id, current_settings())
    return body


@bp.post("/action-configurations")
def action_configuration_create():
    config = rule_sets.create_action(g.caller, _body(ActionConfigurationBody))
    return _action(config.code)


@bp.get("/action-configurations/<code>")
def action_configuration_get(code: str):
    return _action(code)


@bp.patch("/action-configurations/<code>")
def action_configuration_update(code: str):
    choice = publish_choice()
    rule_sets.update_action(g.caller, code, _body(ActionConfigurationBody), publish=choice.publish,
                            note=choice.note)
    return _action(code)


@bp.delete("/action-configurations/<code>")
def action_configuration_delete(code: str):
    rule_sets.delete_action(g.caller, code)
    return jsonify(serializers.deleted(f"Action '{code}'"))


@bp.post("/action-configurations/<code>/publish")
def action_configuration_publish(code: str):
    version = rule_sets.publish_action(g.caller, code, note=parse_body(PublishBody).note)
    return jsonify(serializers.published(version))


@bp.get("/action-configurations/<code>/rules")
def rule_list(code: str):
    return jsonify([serializers.rule(row) for row in rule_sets.list_rules(g.caller.tenant_id, code)])


@bp.post("/action-configurations/<code>/rules")
def rule_create(code: str):
    choice = publish_choice()
    row = rule_sets.create_rule(g.caller, code, _body(RuleBody), publish=choice.publish, note=choice.note)
    return jsonify(serializers.rule(row))


@bp.get("/action-configurations/<code>/rules/<rule_id>")
def rule_get(code: str, rule_id: str):
    return jsonify(serializers.rule(rule_sets.get_rule(g.caller.tenant_id, code, rule_id)))


@bp.patch("/action-configurations/<code>/rules/<rule_id>")
def rule_update(code: str, rule_id: str):
    choice = publish_choice()
    row = rule_sets.update_rule(g.caller, code, rule_id, _body(RuleBody), publish=choice.publish,
                                note=choice.note)
    return jsonify(serializers.rule(row))


@bp.delete("/action-configurations/<code>/rules/<rule_id>")
def rule_delete(code: str, rule_id: str):
    choice = publish_choice()
    rule_sets.delete_rule(g.caller, code, rule_id, publish=choice.publish, note=choice.note)
    return jsonify(serializers.deleted(f"Rule '{rule_id}'"))
