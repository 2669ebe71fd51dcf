"""Rows as the Management API's responses spell them (authsignal-management-go's *Response types)."""

from __future__ import annotations

from typing import Any

from app.api.responses import iso
from app.models import ActionVersion, CustomDataPoint, CustomList, Rule, WebhookEndpoint
from app.services.management.data import LIST_KINDS
from app.services.management.rule_sets import ActionView


def _method(value) -> str | None:
    return value.value if value is not None else None


def action_configuration(view: ActionView) -> dict[str, Any]:
    config = view.config
    return {
        "actionCode": config.code,
        "tenantId": config.tenant_id,
        "defaultUserActionResult": config.default_outcome.value,
        "verificationMethods": list(config.verification_methods),
        # null, not []: the provider reads [] as a set list, and a config that leaves it out would
        # then differ from the state on every plan.
        "promptToEnrollVerificationMethods": None,
        "defaultVerificationMethod": _method(config.default_verification_method),
        "messagingTemplates": None,
        "lastActionCreatedAt": iso(view.last_action_created_at),
        # Tollgate's own, which Authsignal's clients ignore: the reads show the draft; is it live?
        "tollgate": {"name": config.name, "unenrolledPolicy": config.unenrolled_policy.value,
                     "liveVersion": view.live_number, "draftPending": view.draft_pending},
    }


def rule(row: Rule) -> dict[str, Any]:
    config = row.action_configuration
    return {
        "ruleId": row.id,
        "tenantId": config.tenant_id,
        "actionCode": config.code,
        "name": row.name,
        "description": row.description,
        "isActive": row.is_active,
        "priority": row.priority,
        "type": row.outcome.value,
        "verificationMethods": row.verification_methods,
        "promptToEnrollVerificationMethods": None,
        "defaultVerificationMethod": _method(row.default_verification_method),
        "conditions": row.conditions,
    }


def published(version: ActionVersion) -> dict[str, Any]:
    return {"actionCode": version.action_code, "version": version.number, "note": version.note,
            "publishedBy": version.published_by, "publishedAt": iso(version.published_at)}


def data_point(row: CustomDataPoint) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "dataType": row.data_type, "modelType": row.model_type,
            "description": row.description, "isPublic": False}


def value_list(row: CustomList) -> dict[str, Any]:
    return {"alias": row.name, "name": row.description or row.name, "itemType": LIST_KINDS[row.kind],
            "valueListItems": list(row.items), "isActive": True}


def webhook_endpoint(row: WebhookEndpoint) -> dict[str, Any]:
    return {"id": row.id, "url": row.url, "description": row.description, "eventTypes": list(row.event_types),
            "isActive": row.is_active, "createdAt": iso(row.created_at), "updatedAt": iso(row.updated_at)}


def deleted(what: str) -> dict[str, Any]:
    """The Go client's HttpStatusResponse."""
    return {"success": True, "statusCode": 200, "message": f"{what} deleted."}
