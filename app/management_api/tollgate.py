"""Tollgate's own resources, under /v1/management/tollgate: webhook endpoints (no secrets: they are
signed with the server key), review deadlines (SLA) per action, and the tenant's settings."""

from __future__ import annotations

from flask import g, jsonify
from pydantic.alias_generators import to_camel

from app.api.responses import parse_body
from app.config import current_settings
from app.domain.theme import ThemeDocument
from app.management_api import bp, serializers
from app.management_api.collections import Collection, serve
from app.services.management import rule_sets, tollgate
from app.services.management.wire import ReviewSlaBody, TenantSettingsBody, WebhookEndpointBody
from app.services.rulesets import rules

serve(bp, Collection(
    name="webhook_endpoint", path="/tollgate/webhook-endpoints", key="endpoint_id", label="Webhook endpoint",
    body=WebhookEndpointBody, serialize=serializers.webhook_endpoint,
    list=tollgate.list_webhook_endpoints, get=tollgate.get_webhook_endpoint,
    # Whether an endpoint may point into a private network is this deployment's setting.
    create=lambda caller, body, now: tollgate.create_webhook_endpoint(caller, body, settings=current_settings(),
                                                                      now=now),
    update=lambda caller, endpoint_id, body, now: tollgate.update_webhook_endpoint(
        caller, endpoint_id, body, settings=current_settings(), now=now),
    delete=tollgate.delete_webhook_endpoint,
))


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


@bp.get("/tollgate/theme")
def theme_get():
    return jsonify(tollgate.theme_of(g.caller.tenant_id))


@bp.put("/tollgate/theme")
def theme_replace():
    return jsonify(tollgate.replace_theme(g.caller, parse_body(ThemeDocument)))
