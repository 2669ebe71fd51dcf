"""Tollgate's own resources under /v1/management/tollgate: what Authsignal's API has no shape for.
Each write is the console's use case (same checks, same audit events), the key as its actor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.config import Settings
from app.domain.errors import InvalidRequest
from app.domain.theme import Theme, ThemeDocument
from app.extensions import db
from app.models import Tenant, WebhookEndpoint
from app.services.delivery import endpoints
from app.services.management.wire import TenantSettingsBody, WebhookEndpointBody, wire_names
from app.services.tenancy import tenant_settings
from app.services.tenancy.management_keys import ManagementCaller


def list_webhook_endpoints(tenant_id: str) -> list[WebhookEndpoint]:
    """All of them, oldest first (a tenant has a handful; the console pages them for its search)."""
    return list(db.session.execute(select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)
                                   .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)).scalars())


def get_webhook_endpoint(tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    return endpoints.get_endpoint(tenant_id, endpoint_id)


def create_webhook_endpoint(caller: ManagementCaller, body: WebhookEndpointBody, *, settings: Settings,
                            now: datetime) -> WebhookEndpoint:
    if body.url is None:
        raise InvalidRequest("url: required.")
    data = endpoints.EndpointInput(url=body.url, event_types=body.event_types or [],
                                   description=body.description or "",
                                   is_active=True if body.is_active is None else body.is_active)
    with wire_names():
        return endpoints.create_endpoint(caller.agent, data, settings=settings, now=now)


def update_webhook_endpoint(caller: ManagementCaller, endpoint_id: str, body: WebhookEndpointBody, *,
                            settings: Settings, now: datetime) -> WebhookEndpoint:
    row = endpoints.get_endpoint(caller.tenant_id, endpoint_id)
    sent = body.model_fields_set
    if "url" in sent and body.url is None:
        raise InvalidRequest("url: cannot be null.")
    data = endpoints.EndpointInput(
        url=body.url if "url" in sent else row.url,
        event_types=(body.event_types or []) if "event_types" in sent else list(row.event_types),
        description=(body.description or "") if "description" in sent else row.description,
        is_active=body.is_active if "is_active" in sent and body.is_active is not None else row.is_active,
    )
    with wire_names():
        return endpoints.update_endpoint(caller.agent, endpoint_id, data, settings=settings, now=now)


def delete_webhook_endpoint(caller: ManagementCaller, endpoint_id: str, *, now: datetime) -> None:
    endpoints.delete_endpoint(caller.agent, endpoint_id, now=now)


def tenant_settings_of(tenant_id: str) -> dict[str, Any]:
    """The tenant's overrides (None: the environment's default applies)."""
    return tenant_settings.snapshot(tenant_settings.get_tenant(tenant_id))


def update_tenant_settings(caller: ManagementCaller, body: TenantSettingsBody, *, base: Settings) -> Tenant:
    """The fields sent replace the tenant's (null: back to the environment's default), checked as
    the console's Settings form is."""
    current = tenant_settings.snapshot(tenant_settings.get_tenant(caller.tenant_id))
    changes = {**current, **{field: getattr(body, field) for field in body.model_fields_set}}
    if changes["name"] is None:
        raise InvalidRequest("name: cannot be null.")
    with wire_names({"webauthn_rp_id": "webauthnRpId", "webauthn_rp_name": "webauthnRpName"}):
        return tenant_settings.update_tenant_settings(caller.agent, tenant_settings.TenantSettingsInput(**changes),
                                                      base=base)


def theme_of(tenant_id: str) -> dict[str, Any]:
    """The hosted pages' theme, only the fields set (``{}``: the pages' own look)."""
    return Theme.from_stored(tenant_settings.get_tenant(tenant_id).theme).document()


def replace_theme(caller: ManagementCaller, body: ThemeDocument) -> dict[str, Any]:
    with wire_names():
        tenant = tenant_settings.update_tenant_theme(caller.agent, body.model_dump())
    return Theme.from_stored(tenant.theme).document()
