"""Request bodies of the server API.

Keys are camelCase on the wire; the snake_case spelling is accepted too because the official Python
SDK sends attributes verbatim and its own tests use ``redirect_url``. Only top-level keys are
aliased: whatever is inside ``custom`` is kept exactly as sent.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.alias_generators import to_camel

from app.domain.decision import ActionState, VerificationMethod

Short = Annotated[str, StringConstraints(max_length=255)]
Scalar = str | int | float | bool | None
CustomValue = Annotated[Scalar | list[str | int | float | bool], Field(union_mode="left_to_right")]
MAX_CUSTOM_KEYS = 100


class ApiRequest(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", strict=True, frozen=True
    )


def _check_custom(custom: dict[str, Any] | None) -> dict[str, Any] | None:
    if custom is None:
        return None
    if len(custom) > MAX_CUSTOM_KEYS:
        raise ValueError(f"at most {MAX_CUSTOM_KEYS} custom keys")
    for key, value in custom.items():
        if not 1 <= len(key) <= 100:
            raise ValueError("custom keys must be 1-100 characters")
        if isinstance(value, str) and len(value) > 1024:
            raise ValueError(f"custom.{key} is longer than 1024 characters")
        if isinstance(value, list) and len(value) > 100:
            raise ValueError(f"custom.{key} has more than 100 items")
    return custom


class TrackRequest(ApiRequest):
    idempotency_key: Short | None = Field(default=None, min_length=1)
    redirect_url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    redirect_to_settings: bool = False
    ip_address: Annotated[str, StringConstraints(max_length=64)] | None = None
    user_agent: Annotated[str, StringConstraints(max_length=1024)] | None = None
    device_id: Short | None = None
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    phone_number: Annotated[str, StringConstraints(max_length=32)] | None = None
    username: Short | None = None
    scope: Short | None = None
    locale: Annotated[str, StringConstraints(max_length=35)] | None = None
    challenge_id: Short | None = None
    custom: dict[str, CustomValue] | None = None

    @field_validator("ip_address")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value)  # ValueError becomes a 400 naming the field
        return value

    _custom = field_validator("custom")(_check_custom)


class UpdateActionRequest(ApiRequest):
    state: ActionState


class ValidateRequest(ApiRequest):
    token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    user_id: Short | None = None
    action: Short | None = None


class UpdateUserRequest(ApiRequest):
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    email_verified: bool = False
    phone_number: Annotated[str, StringConstraints(max_length=32)] | None = None
    phone_number_verified: bool = False
    username: Short | None = None
    display_name: Short | None = None
    custom: dict[str, CustomValue] = Field(default_factory=dict)
    locale: Annotated[str, StringConstraints(max_length=35)] | None = None

    _custom = field_validator("custom")(_check_custom)


class EnrollAuthenticatorRequest(ApiRequest):
    verification_method: VerificationMethod
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    phone_number: Annotated[str, StringConstraints(max_length=32)] | None = None
    otp_uri: Annotated[str, StringConstraints(max_length=2048)] | None = None
    is_default: bool = False
