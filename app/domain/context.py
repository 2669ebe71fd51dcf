"""The facts a rule can read when an action is tracked (``{"var": "custom.amount"}`` and friends)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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


def build_context(user: UserFacts, request: RequestFacts) -> dict[str, Any]:
    return {
        "user": {
            "id": user.user_id,
            "email": user.email,
            "phoneNumber": user.phone_number,
            "username": user.username,
            "isEnrolled": bool(user.enrolled_verification_methods),
            "enrolledVerificationMethods": list(user.enrolled_verification_methods),
            "custom": dict(user.custom),
        },
        "custom": dict(request.custom),
        "ip": {"address": request.ip_address},
        "device": {"id": request.device_id},
        "userAgent": request.user_agent,
        "action": {"code": request.action_code},
    }
