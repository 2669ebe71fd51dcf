"""Webhook events into the outbox: what each event says, and the rows that will carry it.

Emitting (``emit_*``) adds rows to the caller's transaction and never commits: an event exists
exactly when the change it describes does. Nothing is written unless the tenant has an active
endpoint subscribed to the event; finding that out is one indexed query on a prebuilt statement,
because ``track`` emits on the API's hottest path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from app.domain.review_reasons import ReasonCode
from app.extensions import db
from app.models import Authenticator, WebhookDelivery, WebhookEvent
from app.models.base import new_id, utcnow
from app.services.tenancy.tenant_config import current_config

ACTION_CREATED = "action.created"
ACTION_STATE_CHANGED = "action.state_changed"
ACTION_REVIEW_DECIDED = "action.review_decided"
AUTHENTICATOR_CREATED = "authenticator.created"
AUTHENTICATOR_DELETED = "authenticator.deleted"
# Authsignal's delivery hooks: a message handed to the integrator to send, instead of sent by us.
EMAIL_CREATED = "email.created"
SMS_CREATED = "sms.created"
DELIVERY_HOOKS = (EMAIL_CREATED, SMS_CREATED)
TEST_EVENT = "webhook.test"

EVENT_TYPES: dict[str, str] = {
    ACTION_CREATED: "An action was tracked (any outcome).",
    ACTION_STATE_CHANGED: "An action moved to another state: a challenge passed or failed, a review was decided, "
    "or update_action set it.",
    ACTION_REVIEW_DECIDED: "A reviewer (or update_action) approved or rejected an action that was in REVIEW_REQUIRED.",
    AUTHENTICATOR_CREATED: "A user enrolled an authenticator (passkey, authenticator app, or one your backend added).",
    AUTHENTICATOR_DELETED: "An authenticator was removed (through the API or the console).",
    EMAIL_CREATED: "An email code or link to send yourself: with no mail server (TOLLGATE_SMTP_URL) configured, "
    "this endpoint delivers them.",
    SMS_CREATED: "A text message (SMS or WhatsApp) code to send yourself: with no Twilio account configured, "
    "this endpoint delivers them.",
}

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

# The hot path's statements, built once (see tracking).
_INSERT_EVENT = WebhookEvent.__table__.insert()
_INSERT_DELIVERY = WebhookDelivery.__table__.insert()
_ACTION_COLUMNS = ("user_id", "action_code", "idempotency_key", "state", "created_at", "state_updated_at",
                   "verification_method", "rule_ids", "priority_rule_id", "ip_address", "user_agent", "device_id")


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
            written.append(queue_event(tenant_id, event_type, data() if callable(data) else dict(data), targets, now=now))
    return written


def queue_event(tenant_id: str, event_type: str, data: dict[str, Any], endpoint_ids: list[str], *, now: datetime,
                sealed_data: str | None = None) -> str:
    """``sealed_data``: encrypted JSON the body sent carries in ``data`` and the stored event does not."""
    event_id = new_id()
    connection = db.session.connection()
    connection.execute(_INSERT_EVENT, {"id": event_id, "tenant_id": tenant_id, "type": event_type, "data": data,
                                       "sealed_data": sealed_data, "created_at": now})
    connection.execute(_INSERT_DELIVERY, [
        {"event_id": event_id, "endpoint_id": endpoint_id, "status": PENDING, "attempts": 0, "next_attempt_at": now,
         "locked_until": None, "claim_token": None, "last_attempt_at": None, "last_response_code": None,
         "last_error": None, "delivered_at": None, "created_at": now}
        for endpoint_id in endpoint_ids
    ])
    return event_id


def subscribed_endpoints(tenant_id: str, event_type: str) -> list[str]:
    """The active endpoints of the tenant that take ``event_type``."""
    return [endpoint_id for endpoint_id, types in current_config(tenant_id).webhook_subscribers()
            if event_type in (types or ())]


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
                        now: datetime, reason_code: ReasonCode | None = None) -> None:
    """After a review decision is recorded: the state change plus who decided, why, and through what.

    ``reason_code`` (a ``ReasonCode``: the tenant's reason picked) goes in ``review.reasonCode`` and
    ``review.reasonLabel``, beside Authsignal's keys of ``data``, never instead of one.
    """

    def data() -> dict[str, Any]:
        values = {column: getattr(action, column) for column in _ACTION_COLUMNS}
        review = {"outcome": _value(action.state), "decidedBy": decided_by, "reason": reason, "decidedAt": _iso(now)}
        if reason_code is not None:
            review.update(reasonCode=reason_code.code, reasonLabel=reason_code.label)
        return {**action_data(values), "previousState": _value(previous_state), "source": source, "review": review}

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


def envelope(event: WebhookEvent, *, source: str, unseal: Callable[[str], str]) -> str:
    """The request body, byte for byte the same on every attempt (contract §1.5 (22)); ``unseal``
    decrypts the event's sealed data into its ``data``."""
    data = {**event.data, **json.loads(unseal(event.sealed_data))} if event.sealed_data else event.data
    return json.dumps(
        {"version": 1, "id": event.id, "source": source, "time": _iso(event.created_at), "tenantId": event.tenant_id,
         "type": event.type, "data": data},
        separators=(",", ":"),
    )
