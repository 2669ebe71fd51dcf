"""Tollgate's own resources under /v1/management/tollgate: what Authsignal's API has no shape for.
Webhook endpoints are read only here (their signing key is the tenant's server key, never shown);
tenant settings are read only too (they hold the WebAuthn relying party, which is changed with care,
in the console)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import WebhookEndpoint
from app.services.delivery import endpoints
from app.services.tenancy import tenant_settings


def list_webhook_endpoints(tenant_id: str) -> list[WebhookEndpoint]:
    """All of them, oldest first (a tenant has a handful; the console pages them for its search)."""
    return list(db.session.execute(select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)
                                   .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)).scalars())


def get_webhook_endpoint(tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    return endpoints.get_endpoint(tenant_id, endpoint_id)


def tenant_settings_of(tenant_id: str) -> dict[str, Any]:
    """The tenant's overrides (None: the environment's default applies)."""
    return tenant_settings.snapshot(tenant_settings.get_tenant(tenant_id))
