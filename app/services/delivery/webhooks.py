"""Webhooks: endpoints, emitting events into the outbox, and delivering them.

Emitting (``emit_*``) adds rows to the caller's transaction and never commits: an event exists
exactly when the change it describes does. Nothing is written unless the tenant has an active
endpoint subscribed to the event; finding that out is one indexed query on a prebuilt statement,
because ``track`` emits on the API's hottest path.

Delivering (``deliver_due``) runs in a worker process (``flask webhooks work``): it claims due
deliveries with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional UPDATE everywhere),
so several workers never send the same delivery at once, then POSTs each outside any transaction,
signed like Authsignal, and records the outcome. A failure is retried with exponential backoff and
jitter; after the last attempt the delivery is marked failed. Unless the operator allows private
networks, requests go only to public internet addresses (checked on save, and on each connection).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update

from app.config import Settings
from app.domain.destinations import is_private_host
from app.domain.errors import InvalidFields, NotFound
from app.domain.secretbox import SecretBox
from app.domain.webhook_signing import HEADER, sign
from app.extensions import db
from app.models import ApiKey, Authenticator, ConsoleUser, WebhookDelivery, WebhookEndpoint, WebhookEvent
from app.models.base import new_id, utcnow
from app.services.tenancy.audit import record_change
from app.services.tenancy.tenant_config import current_config

# -- events -----------------------------------------------------------------------------------------

ACTION_CREATED = "action.created"
ACTION_STATE_CHANGED = "action.state_changed"
ACTION_REVIEW_DECIDED = "action.review_decided"
AUTHENTICATOR_CREATED = "authenticator.created"
AUTHENTICATOR_DELETED = "authenticator.deleted"
TEST_EVENT = "webhook.test"

EVENT_TYPES: dict[str, str] = {
    ACTION_CREATED: "An action was tracked (any outcome).",
    ACTION_STATE_CHANGED: "An action moved to another state: a challenge passed or failed, a review was decided, "
    "or update_action set it.",
    ACTION_REVIEW_DECIDED: "A reviewer (or update_action) approved or rejected an action that was in REVIEW_REQUIRED.",
    AUTHENTICATOR_CREATED: "A user enrolled an authenticator (passkey, authenticator app, or one your backend added).",
    AUTHENTICATOR_DELETED: "An authenticator was removed (through the API or the console).",
}

# -- delivery policy --------------------------------------------------------------------------------

# Waits after each failed attempt: 8 attempts over about a day (±10% jitter on each wait).
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1
CONNECT_TIMEOUT, READ_TIMEOUT = 5.0, 10.0
CLAIM_BATCH = 10
# Longer than a whole batch of attempts that all time out; a crashed worker's claims come back after it.
LEASE = timedelta(minutes=5)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
ERROR_TEXT_LIMIT = 500
LOG_PAGE_SIZE = 50
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# The hot path's statements, built once (see tracking).
_INSERT_EVENT = WebhookEvent.__table__.insert()
_INSERT_DELIVERY = WebhookDelivery.__table__.insert()


def emit(tenant_id: str, events: Iterable[tuple[str, Mapping[str, Any] | Callable[[], Mapping[str, Any]]]], *,
         now: datetime | None = None, subscribers: Sequence[tuple[str, Sequence[str]]] | None = None) -> list[str]:
    """Queue events for every active endpoint subscribed to them; the caller commits.

    ``events`` are (type, data) pairs; data may be a callable, built only when someone listens.
    ``subscribers``: (endpoint id, event types) of the active endpoints, when the caller has the
    tenant's configuration already (track does); otherwise they come from it.
    Returns the ids of the events written (none when nobody is subscribed).
    """
    endpoints = subscribers if subscribers is not None else current_config(tenant_id).webhook_subscribers()
    if not endpoints:
        return []
    now = now or utcnow()
    written = []
    for event_type, data in events:
        targets = [endpoint_id for endpoint_id, types in endpoints if event_type in (types or ())]
        if targets:
            written.append(_queue(tenant_id, event_type, data() if callable(data) else dict(data), targets, now=now))
    return written


def _queue(tenant_id: str, event_type: str, data: dict[str, Any], endpoint_ids: list[str], *, now: datetime) -> str:
    event_id = new_id()
    connection = db.session.connection()
    connection.execute(_INSERT_EVENT, {"id": event_id, "tenant_id": tenant_id, "type": event_type, "data": data,
                                       "created_at": now})
    connection.execute(_INSERT_DELIVERY, [
        {"event_id": event_id, "endpoint_id": endpoint_id, "status": PENDING, "attempts": 0, "next_attempt_at": now,
         "locked_until": None, "claim_token": None, "last_attempt_at": None, "last_response_code": None,
         "last_error": None, "delivered_at": None, "created_at": now}
        for endpoint_id in endpoint_ids
    ])
    return event_id


def emit_action_created(action: Mapping[str, Any], *, subscribers: Sequence[tuple[str, Sequence[str]]],
                        now: datetime) -> None:
    """``action``: the column values track inserted (it writes with Core, not the ORM)."""
    emit(action["tenant_id"], [(ACTION_CREATED, lambda: action_data(action))], now=now, subscribers=subscribers)


def emit_state_change(action: Any, new_state: Any, *, source: str, now: datetime) -> None:
    """Call before the action's state is changed: ``action.state`` is still the previous one.

    Review decisions also emit ``action.review_decided``, from the review service, which knows the
    reviewer and the reason.
    """
    previous = _value(action.state)
    new = _value(new_state)

    def data() -> dict[str, Any]:
        values = {column: getattr(action, column) for column in _ACTION_COLUMNS}
        values.update(state=new, state_updated_at=now)
        return {**action_data(values), "previousState": previous, "source": source}

    emit(action.tenant_id, [(ACTION_STATE_CHANGED, data)], now=now)


def emit_review_decided(action: Any, *, previous_state: Any, decided_by: str, reason: str, source: str,
                        now: datetime) -> None:
    """After a review decision is recorded: the state change plus who decided, why, and through what."""

    def data() -> dict[str, Any]:
        values = {column: getattr(action, column) for column in _ACTION_COLUMNS}
        return {
            **action_data(values),
            "previousState": _value(previous_state),
            "source": source,
            "review": {"outcome": _value(action.state), "decidedBy": decided_by, "reason": reason,
                       "decidedAt": _iso(now)},
        }

    emit(action.tenant_id, [(ACTION_REVIEW_DECIDED, data)], now=now)


def emit_authenticator_created(authenticator: Authenticator, *, now: datetime | None = None) -> None:
    _emit_authenticator(AUTHENTICATOR_CREATED, authenticator, now=now)


def emit_authenticator_deleted(authenticator: Authenticator, *, now: datetime | None = None) -> None:
    """Call before deleting it, while its user and passkey can still be read."""
    _emit_authenticator(AUTHENTICATOR_DELETED, authenticator, now=now)


def _emit_authenticator(event_type: str, authenticator: Authenticator, *, now: datetime | None) -> None:
    def data() -> dict[str, Any]:
        if authenticator.id is None:  # just added: the id comes with the flush
            db.session.flush()
        return authenticator_data(authenticator)

    emit(authenticator.user.tenant_id, [(event_type, data)], now=now)


_ACTION_COLUMNS = ("user_id", "action_code", "idempotency_key", "state", "created_at", "state_updated_at",
                   "verification_method", "rule_ids", "priority_rule_id", "ip_address", "user_agent", "device_id")


def action_data(action: Mapping[str, Any]) -> dict[str, Any]:
    """An action as the server API's get_action spells it (camelCase, no empty fields)."""
    return _without_none({
        "userId": action["user_id"],
        "actionCode": action["action_code"],
        "idempotencyKey": action["idempotency_key"],
        "state": _value(action["state"]),
        "createdAt": _iso(action["created_at"]),
        "stateUpdatedAt": _iso(action["state_updated_at"]),
        "verificationMethod": _value(action.get("verification_method")),
        "ruleIds": list(action.get("rule_ids") or []),
        "priorityRuleId": action.get("priority_rule_id"),
        "ipAddress": action.get("ip_address"),
        "userAgent": action.get("user_agent"),
        "deviceId": action.get("device_id"),
    })


def authenticator_data(authenticator: Authenticator) -> dict[str, Any]:
    """As the server API's get_authenticators spells one (never its secrets)."""
    passkey = authenticator.passkey
    return _without_none({
        "userId": authenticator.user.user_id,
        "userAuthenticatorId": authenticator.id,
        "verificationMethod": _value(authenticator.verification_method),
        "createdAt": _iso(authenticator.created_at),
        "verifiedAt": _iso(authenticator.verified_at),
        "email": authenticator.email,
        "phoneNumber": authenticator.phone_number,
        "isDefault": authenticator.is_default,
        "name": authenticator.name,
        "webauthnCredential": _without_none({"credentialId": passkey.credential_id, "aaguid": passkey.aaguid})
        if passkey is not None else None,
    })


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def envelope(event: WebhookEvent, *, source: str) -> str:
    """The request body, byte for byte the same on every attempt (contract §1.5 (22))."""
    return json.dumps(
        {"version": 1, "id": event.id, "source": source, "time": _iso(event.created_at), "tenantId": event.tenant_id,
         "type": event.type, "data": event.data},
        separators=(",", ":"),
    )


# -- endpoints (console) ----------------------------------------------------------------------------


class InvalidEndpoint(InvalidFields):
    """A webhook endpoint the console cannot save."""

    code = "invalid_webhook_endpoint"
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


def list_endpoints(tenant_id: str) -> list[WebhookEndpoint]:
    return list(db.session.execute(
        select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    ).scalars())


def get_endpoint(tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.tenant_id != tenant_id:
        raise NotFound("No such webhook endpoint.", code="webhook_endpoint_not_found")
    return endpoint


def create_endpoint(actor: ConsoleUser, data: EndpointInput, *, settings: Settings, now: datetime) -> WebhookEndpoint:
    data = validate_endpoint(data, allow_private_networks=settings.webhook_allow_private_networks)
    endpoint = WebhookEndpoint(id=new_id(), tenant_id=actor.tenant_id, url=data.url, description=data.description,
                               event_types=data.event_types, is_active=data.is_active, created_at=now, updated_at=now)
    db.session.add(endpoint)
    record_change(actor, "webhook_endpoint.created", endpoint.id, "webhook_endpoint", after=_audited(endpoint), now=now)
    db.session.commit()
    return endpoint


def update_endpoint(actor: ConsoleUser, endpoint_id: str, data: EndpointInput, *, settings: Settings,
                    now: datetime) -> WebhookEndpoint:
    endpoint = get_endpoint(actor.tenant_id, endpoint_id)
    data = validate_endpoint(data, allow_private_networks=settings.webhook_allow_private_networks)
    before = _audited(endpoint)
    endpoint.url, endpoint.description = data.url, data.description
    endpoint.event_types, endpoint.is_active = data.event_types, data.is_active
    endpoint.updated_at = now
    record_change(actor, "webhook_endpoint.updated", endpoint.id, "webhook_endpoint", before=before,
                  after=_audited(endpoint), now=now)
    db.session.commit()
    return endpoint


def delete_endpoint(actor: ConsoleUser, endpoint_id: str, *, now: datetime) -> WebhookEndpoint:
    """Delete an endpoint with its delivery log; deliveries still pending are dropped."""
    endpoint = get_endpoint(actor.tenant_id, endpoint_id)
    record_change(actor, "webhook_endpoint.deleted", endpoint.id, "webhook_endpoint", before=_audited(endpoint), now=now)
    db.session.delete(endpoint)
    db.session.commit()
    return endpoint


def send_test_event(actor: ConsoleUser, endpoint_id: str, *, now: datetime) -> str:
    """Queue a ``webhook.test`` event for this endpoint only (active or not); the worker sends it."""
    endpoint = get_endpoint(actor.tenant_id, endpoint_id)
    data = {"endpointId": endpoint.id, "message": "A test event sent from the Tollgate console.",
            "sentBy": actor.email}
    event_id = _queue(actor.tenant_id, TEST_EVENT, data, [endpoint.id], now=now)
    record_change(actor, "webhook_endpoint.test_sent", endpoint.id, "webhook_endpoint",
                  after={"url": endpoint.url, "eventId": event_id}, now=now)
    db.session.commit()
    return event_id


def _audited(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"url": endpoint.url, "description": endpoint.description, "events": list(endpoint.event_types),
            "active": endpoint.is_active}


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


# -- delivery (worker) ------------------------------------------------------------------------------


def retry_delay(attempts: int, *, rand: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt; ``rand`` in [0, 1) spreads it by ±10%."""
    base = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    return base * (1 - JITTER + 2 * JITTER * rand)


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


Sender = Callable[[str, bytes, dict[str, str]], SendResult]


class HttpSender:
    """POST with timeouts, never following redirects, straight to the receiver (no proxy); one
    connection pool per worker (close it).

    ``allow_private_networks`` off (TOLLGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS), every connection must
    reach a public address, whatever DNS answered (``app.egress``); a refusal is a failed attempt,
    retried like any other: DNS answers change, and a refused attempt sends nothing.
    """

    def __init__(self, *, allow_private_networks: bool) -> None:
        import requests  # the worker's dependency; the web app never sends webhooks itself

        from app.egress import DestinationNotAllowed, PublicOnlyAdapter

        self._failures = (requests.RequestException, DestinationNotAllowed)
        self._http = requests.Session()
        # Nothing from the environment (proxies, ~/.netrc): through an HTTPS_PROXY the peer the address
        # check sees would be the proxy, which reaches internal hosts for us; .netrc would add
        # credentials to the requests. The CA bundle is harmless, and receivers behind a company CA
        # need it: keep requests' own variables for it.
        self._http.trust_env = False
        self._http.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        if not allow_private_networks:
            guard = PublicOnlyAdapter()
            self._http.mount("http://", guard)
            self._http.mount("https://", guard)

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        try:
            with self._http.post(url, data=body, headers=headers, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                                 allow_redirects=False, stream=True) as response:
                if 200 <= response.status_code < 300:
                    return SendResult(response.status_code)
                snippet = response.raw.read(ERROR_TEXT_LIMIT, decode_content=True).decode("utf-8", "replace")
                return SendResult(response.status_code, f"HTTP {response.status_code}: {snippet}".strip())
        except self._failures as exc:
            return SendResult(None, f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    attempts: int
    url: str
    tenant_id: str
    body: str


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed


def claim_due(*, now: datetime, limit: int = CLAIM_BATCH, lease: timedelta = LEASE) -> tuple[str, list[int]]:
    """Take up to ``limit`` due deliveries for this worker; returns (claim token, delivery ids). Commits."""
    due = (
        WebhookDelivery.status == PENDING,
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until <= now),
    )
    candidates = select(WebhookDelivery.id).where(*due).order_by(WebhookDelivery.next_attempt_at).limit(limit)
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(db.session.execute(candidates).scalars())
    token = new_id()
    if ids:
        # Re-checked inside the UPDATE: on SQLite another worker may have claimed since the SELECT.
        db.session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id.in_(ids), *due)
            .values(locked_until=now + lease, claim_token=token)
            .execution_options(synchronize_session=False)
        )
        ids = list(db.session.execute(
            select(WebhookDelivery.id).where(WebhookDelivery.claim_token == token).order_by(WebhookDelivery.id)
        ).scalars())
    db.session.commit()
    return token, ids


def deliver_due(
    *,
    settings: Settings,
    now: datetime | None = None,
    limit: int = CLAIM_BATCH,
    send: Sender | None = None,
    rand: Callable[[], float] = random.random,
) -> DeliveryReport:
    """Claim what is due, send it, record each outcome. ``now`` fixes the clock (tests and backfills)."""
    clock = (lambda: now) if now is not None else utcnow
    token, ids = claim_due(now=clock(), limit=limit)
    if not ids:
        return DeliveryReport()
    jobs = _load_jobs(ids, source=settings.public_url)
    keys = _signing_keys({job.tenant_id for job in jobs}, settings=settings)
    db.session.commit()  # no transaction stays open while we wait on the network
    if send is None:
        with HttpSender(allow_private_networks=settings.webhook_allow_private_networks) as sender:
            return _send_all(jobs, keys, token, send=sender, clock=clock, rand=rand)
    return _send_all(jobs, keys, token, send=send, clock=clock, rand=rand)


def _send_all(jobs: list[_Job], keys: dict[str, list[str]], token: str, *, send: Sender,
              clock: Callable[[], datetime], rand: Callable[[], float]) -> DeliveryReport:
    report = DeliveryReport()
    for job in jobs:
        t = int(clock().timestamp())
        tenant_keys = keys.get(job.tenant_id)
        if tenant_keys:
            headers = {"Content-Type": "application/json", "User-Agent": "Tollgate-Webhooks/1",
                       HEADER: sign(job.body, tenant_keys, t)}
            result = send(job.url, job.body.encode(), headers)
        else:
            result = SendResult(None, "The tenant has no active API key to sign with.")
        outcome = _record(job, token, result, now=clock(), rand=rand())
        if outcome == DELIVERED:
            report.delivered += 1
        elif outcome == FAILED:
            report.failed += 1
        else:
            report.retrying += 1
    return report


def _load_jobs(ids: list[int], *, source: str) -> list[_Job]:
    rows = db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempts, WebhookEndpoint.url, WebhookEvent)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.id)
    ).all()
    return [_Job(delivery_id=d_id, attempts=attempts, url=url, tenant_id=event.tenant_id,
                 body=envelope(event, source=source)) for d_id, attempts, url, event in rows]


def _signing_keys(tenant_ids: set[str], *, settings: Settings) -> dict[str, list[str]]:
    """Every active API key of each tenant, decrypted: one ``v2=`` each, oldest first."""
    box = SecretBox(settings.encryption_keys)
    keys: dict[str, list[str]] = {}
    rows = db.session.execute(
        select(ApiKey.tenant_id, ApiKey.secret_ciphertext)
        .where(ApiKey.tenant_id.in_(tenant_ids), ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at, ApiKey.id)
    )
    for tenant_id, ciphertext in rows:
        keys.setdefault(tenant_id, []).append(box.decrypt(ciphertext))
    return keys


def _record(job: _Job, token: str, result: SendResult, *, now: datetime, rand: float) -> str:
    attempts = job.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts, "last_attempt_at": now, "last_response_code": result.status_code,
        "locked_until": None, "claim_token": None,
    }
    if result.ok:
        values.update(status=DELIVERED, delivered_at=now, next_attempt_at=None, last_error=None)
    elif attempts >= MAX_ATTEMPTS:
        values.update(status=FAILED, next_attempt_at=None, last_error=(result.error or "")[:ERROR_TEXT_LIMIT])
    else:
        values.update(next_attempt_at=now + retry_delay(attempts, rand=rand),
                      last_error=(result.error or "")[:ERROR_TEXT_LIMIT])
    # Only the claim's holder records: if our lease ran out and another worker took over, it decides.
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == job.delivery_id, WebhookDelivery.claim_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return values.get("status", PENDING)


def prune(*, older_than: timedelta, now: datetime) -> int:
    """Delete events (and their deliveries) whose deliveries are all finished and older than ``older_than``."""
    cutoff = now - older_than
    unfinished = select(WebhookDelivery.event_id).where(WebhookDelivery.status == PENDING)
    old = select(WebhookEvent.id).where(WebhookEvent.created_at < cutoff, WebhookEvent.id.not_in(unfinished))
    ids = list(db.session.execute(old).scalars())
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(WebhookDelivery.__table__.delete().where(WebhookDelivery.event_id.in_(chunk)))
        db.session.execute(WebhookEvent.__table__.delete().where(WebhookEvent.id.in_(chunk)))
    db.session.commit()
    return len(ids)
