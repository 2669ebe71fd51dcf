"""The facts a rule can read when an action is tracked (``{"var": "custom.amount"}`` and friends)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain.decision import VerificationMethod
from app.domain.signals import (
    COMMON_WINDOWS,
    DEVICE_SIGNALS,
    IP_SIGNALS,
    PASSKEY_SIGNALS,
    USER_SIGNALS,
    VELOCITY_METRICS,
)


@dataclass(frozen=True)
class AuthenticatorFacts:
    verification_method: VerificationMethod
    verified_at: datetime | None
    last_verified_at: datetime | None


@dataclass
class TrackedUser:
    """What a track reads of its user (and what signals read: see services.decisions.signals.SignalInputs)."""

    id: int | None  # None: first seen now, inserted with the action
    email: str | None
    phone_number: str | None
    username: str | None
    custom: dict[str, Any]
    created_at: datetime
    authenticators: list[AuthenticatorFacts]
    filled: dict[str, str]  # identifiers this track sent for a known user who had none


@dataclass(frozen=True)
class UserFacts:
    user_id: str
    email: str | None = None
    phone_number: str | None = None
    username: str | None = None
    custom: Mapping[str, Any] = field(default_factory=dict)
    enrolled_verification_methods: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequestFacts:
    action_code: str
    ip_address: str | None = None
    device_id: str | None = None
    user_agent: str | None = None
    custom: Mapping[str, Any] = field(default_factory=dict)


def build_context(
    user: UserFacts, request: RequestFacts, extra: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The context rules read. ``extra`` adds namespaces computed elsewhere (risk signals, lists...):
    each is merged into the namespace of the same name, nested mappings key by key, so several
    sources can each fill their own part of ``ip`` or ``velocity`` without knowing of each other.

    Signal fields are present as ``None`` until computed: they are computed only for actions whose
    rules read them (``app.services.decisions.signals``), and a ``None`` never matches a comparison.
    """
    context = {
        "user": {
            "id": user.user_id,
            "email": user.email,
            "phoneNumber": user.phone_number,
            "username": user.username,
            "isEnrolled": bool(user.enrolled_verification_methods),
            "enrolledVerificationMethods": list(user.enrolled_verification_methods),
            "custom": dict(user.custom),
            **dict.fromkeys(USER_SIGNALS),
        },
        "custom": dict(request.custom),
        "ip": {"address": request.ip_address, **dict.fromkeys(IP_SIGNALS)},
        "device": {"id": request.device_id, **dict.fromkeys(DEVICE_SIGNALS)},
        "userAgent": request.user_agent,
        "action": {"code": request.action_code},
        "velocity": {scope: {metric: dict.fromkeys(COMMON_WINDOWS) for metric in metrics}
                     for scope, metrics in VELOCITY_METRICS.items()},
        "passkey": dict.fromkeys(PASSKEY_SIGNALS),
    }
    if extra:
        merge_namespaces(context, extra)
    return context


def merge_namespaces(context: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Merge ``extra`` into ``context`` in place: mappings merge key by key, anything else replaces."""
    for key, value in extra.items():
        current = context.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            merge_namespaces(current, value)
        else:
            context[key] = dict(value) if isinstance(value, Mapping) else value
