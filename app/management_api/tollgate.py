"""Tollgate's own resources, under /v1/management/tollgate: webhook endpoints (no secrets: they are
signed with the server key), review deadlines (SLA) per action, and the tenant's settings."""

from __future__ import annotations

from flask import g, jsonify
from pydantic.alias_generators import to_camel

from app.api.responses import parse_body
from app.config import current_settings
from app.management_api import bp, serializers
from app.models.base import utcnow
from app.services.management import rule_sets, tollgate
from app.services.management.wire import ReviewSlaBody, TenantSettingsBody, WebhookEndpointBody
from app.services.rulesets import rules


@bp.get("/tollgate/webhook-endpoints")
def webhook_endpoint_list():
    return jsonify([serializers.webhook_endpoint(row) for row in tollgate.list_webhook_endpoints(g.caller.tenant_id)])


@bp.post("/tollgate/webhook-endpoints")
def webhook_endpoint_create():
    row = tollgate.create_webhook_endpoint(g.caller, parse_body(WebhookEndpointBody), settings=current_settings(),
                                           now=utcnow())
    return jsonify(serializers.webhook_endpoint(row))


@bp.get("/tollgate/webhook-endpoints/<endpoint_id>")
def webhook_endpoint_get(endpoint_id: str):
    return jsonify(serializers.webhook_endpoint(tollgate.get_webhook_endpoint(g.caller.tenant_id, endpoint_id)))


@bp.patch("/tollgate/webhook-endpoints/<endpoint_id>")
def webhook_endpoint_update(endpoint_id: str):
    row = tollgate.update_webhook_endpoint(g.caller, endpoint_id, parse_body(WebhookEndpointBody),
                                           settings=current_settings(), now=utcnow())
    return jsonify(serializers.webhook_endpoint(row))


@bp.delete("/tollgate/webhook-endpoints/<endpoint_id>")
def webhook_endpoint_delete(endpoint_id: str):
    tollgate.delete_webhook_endpoint(g.caller, endpoint_id, now=utcnow())
    return jsonify(serializers.deleted(f"Webhook endpoint '{endpoint_id}'"))


def _sla(config) -> dict:
    return {"actionCode": config.code, "reviewDeadlineMinutes": config.review_deadline_minutes,
            "reviewOverduePolicy": config.review_overdue_policy.value}


@bp.get("/tollgate/review-sla")
def review_sla_list():
    return jsonify([_sla(config) for config in rules.list_action_configurations(g.caller.tenant_id)])


@bp.get("/tollgate/review-sla/<code>")
def review_sla_get(code: str):
    return jsonify(_sla(rules.get_action_configuration(g.caller.tenant_id, code)))


@bp.patch("/tollgate/review-sla/<code>")
def review_sla_update(code: str):
    return jsonify(_sla(rule_sets.update_review_sla(g.caller, code, parse_body(ReviewSlaBody))))


def _tenant_settings():
    return jsonify({to_camel(name): value for name, value in tollgate.tenant_settings_of(g.caller.tenant_id).items()})


@bp.get("/tollgate/tenant-settings")
def tenant_settings_get():
    return _tenant_settings()


@bp.patch("/tollgate/tenant-settings")
def tenant_settings_update():
    tollgate.update_tenant_settings(g.caller, parse_body(TenantSettingsBody), base=current_settings())
    return _tenant_settings()
