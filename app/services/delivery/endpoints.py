"""Webhook endpoints as admins configure them, their test event, and the log of their deliveries.

Unless the operator allows private networks, an endpoint must point at a public internet address:
checked here on save, and again by the worker on each connection (``app.egress``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from app.config import Settings
from app.domain.destinations import is_private_host
from app.domain.errors import InvalidFields
from app.extensions import db
from app.models import ConsoleUser, WebhookDelivery, WebhookEndpoint, WebhookEvent
from app.models.base import new_id
from app.services.delivery.events import EVENT_TYPES, PENDING, TEST_EVENT, queue_event
from app.services.tenancy.audit import record_change
from app.services.tenancy.listing import ListQuery, Page
from app.services.tenancy.records import Records

LOG_PAGE_SIZE = 50
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class InvalidEndpoint(InvalidFields, code="invalid_webhook_endpoint"):
    """A webhook endpoint the console cannot save."""

    summary = "The endpoint is not valid: "


@dataclass(frozen=True)
class EndpointInput:
    url: str
    event_types: list[str] = field(default_factory=list)
    description: str = ""
    is_active: bool = True


def validate_endpoint(data: EndpointInput, *, allow_private_networks: bool) -> EndpointInput:
    """``allow_private_networks``: the operator's TOLLGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS."""
    problems: dict[str, list[str]] = {}
    url = (data.url or "").strip()
    url_problem = _url_problem(url, allow_private_networks=allow_private_networks)
    if url_problem:
        problems["url"] = [url_problem]
    unknown = [t for t in data.event_types if t not in EVENT_TYPES]
    if unknown:
        problems["event_types"] = [f"Unknown event type: {', '.join(unknown)}."]
    elif not data.event_types:
        problems["event_types"] = ["Choose at least one event to send."]
    description = (data.description or "").strip()
    if len(description) > 500:
        problems["description"] = ["The description must be at most 500 characters."]
    if problems:
        raise InvalidEndpoint(problems)
    ordered = [t for t in EVENT_TYPES if t in data.event_types]
    return EndpointInput(url=url, event_types=ordered, description=description, is_active=bool(data.is_active))


def refusal_reason(endpoint: WebhookEndpoint, *, allow_private_networks: bool) -> str | None:
    """Why an endpoint saved under other rules (before the private-network check existed, or while
    the operator allowed private networks) is refused now, if it is: its deliveries fail until the
    URL is changed, and the console says so next to it."""
    return _url_problem(endpoint.url, allow_private_networks=allow_private_networks)


def _url_problem(url: str, *, allow_private_networks: bool) -> str | None:
    if not url:
        return "Enter the URL that receives the events."
    if len(url) > 2048:
        return "The URL must be at most 2048 characters."
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        return "This is not a valid URL."
    if parts.scheme not in ("https", "http") or not host:
        return "Enter a full URL, e.g. https://example.com/webhooks/tollgate."
    if parts.username or parts.password:
        return "Leave credentials out of the URL; requests are signed (X-Signature-V2) instead."
    if parts.fragment:
        return "A URL fragment (#...) is never sent; remove it."
    # The host as written, without DNS (slow, and its answer changes): the worker checks where a name
    # really leads when it connects (HttpSender).
    if not allow_private_networks and is_private_host(host):
        return (f"{host} is not on the public internet (a loopback, private, link-local or reserved address); "
                "webhooks can only go to public addresses.")
    if parts.scheme == "http" and not allow_private_networks:
        return "Use https."
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        return "Use https. Plain http is allowed only for localhost and 127.0.0.1 (development)."
    return None


def list_endpoints(tenant_id: str, wanted: ListQuery = ListQuery()) -> Page[WebhookEndpoint]:
    """Oldest first; searched by URL and description."""
    return _ENDPOINTS.page(tenant_id, wanted, search=(WebhookEndpoint.url, WebhookEndpoint.description),
                           order_by=(WebhookEndpoint.created_at, WebhookEndpoint.id))


def get_endpoint(tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    return _ENDPOINTS.get(tenant_id, endpoint_id)


def create_endpoint(actor: ConsoleUser, data: EndpointInput, *, settings: Settings, now: datetime) -> WebhookEndpoint:
    data = validate_endpoint(data, allow_private_networks=settings.webhook_allow_private_networks)
    endpoint = WebhookEndpoint(id=new_id(), tenant_id=actor.tenant_id, url=data.url, description=data.description,
                               event_types=data.event_types, is_active=data.is_active, created_at=now, updated_at=now)
    return _ENDPOINTS.created(actor, endpoint, now=now)


def update_endpoint(actor: ConsoleUser, endpoint_id: str, data: EndpointInput, *, settings: Settings,
                    now: datetime) -> WebhookEndpoint:
    endpoint = get_endpoint(actor.tenant_id, endpoint_id)
    data = validate_endpoint(data, allow_private_networks=settings.webhook_allow_private_networks)
    before = _audited(endpoint)
    endpoint.url, endpoint.description = data.url, data.description
    endpoint.event_types, endpoint.is_active = data.event_types, data.is_active
    endpoint.updated_at = now
    return _ENDPOINTS.changed(actor, endpoint, before, now=now)


def delete_endpoint(actor: ConsoleUser, endpoint_id: str, *, now: datetime) -> WebhookEndpoint:
    """Delete an endpoint with its delivery log; deliveries still pending are dropped."""
    return _ENDPOINTS.deleted(actor, get_endpoint(actor.tenant_id, endpoint_id), now=now)


def send_test_event(actor: ConsoleUser, endpoint_id: str, *, now: datetime) -> str:
    """Queue a ``webhook.test`` event for this endpoint only (active or not); the worker sends it."""
    endpoint = get_endpoint(actor.tenant_id, endpoint_id)
    data = {"endpointId": endpoint.id, "message": "A test event sent from the Tollgate console.",
            "sentBy": actor.email}
    event_id = queue_event(actor.tenant_id, TEST_EVENT, data, [endpoint.id], now=now)
    record_change(actor, "webhook_endpoint.test_sent", endpoint.id, "webhook_endpoint",
                  after={"url": endpoint.url, "eventId": event_id}, now=now)
    db.session.commit()
    return event_id


def _audited(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"url": endpoint.url, "description": endpoint.description, "events": list(endpoint.event_types),
            "active": endpoint.is_active}


_ENDPOINTS = Records(WebhookEndpoint, "webhook_endpoint", _audited, "No such webhook endpoint.",
                     "webhook_endpoint_not_found")


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    last_response_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[DeliveryRow]
    next_before_id: int | None

    @property
    def has_pending(self) -> bool:
        return any(d.status == PENDING for d in self.deliveries)


def list_deliveries(endpoint: WebhookEndpoint, *, before_id: int | None = None, limit: int | None = None) -> DeliveryPage:
    """The endpoint's delivery log, newest first, keyset-paginated on the id."""
    limit = limit or LOG_PAGE_SIZE
    query = (
        select(WebhookDelivery, WebhookEvent.type)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
    )
    if before_id:
        query = query.where(WebhookDelivery.id < before_id)
    rows = db.session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)).all()
    deliveries = [
        DeliveryRow(id=d.id, event_id=d.event_id, event_type=event_type, status=d.status, attempts=d.attempts,
                    created_at=d.created_at, last_attempt_at=d.last_attempt_at, last_response_code=d.last_response_code,
                    last_error=d.last_error, next_attempt_at=d.next_attempt_at if d.status == PENDING else None,
                    delivered_at=d.delivered_at)
        for d, event_type in rows[:limit]
    ]
    return DeliveryPage(deliveries=deliveries,
                        next_before_id=deliveries[-1].id if len(rows) > limit and deliveries else None)
