"""Request bodies that only the server API reads (service inputs live with their services)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from app.domain.decision import ActionState
from app.domain.documents import CustomValue, Short, WireModel, check_custom


class UpdateActionRequest(WireModel):
    state: ActionState


class ValidateRequest(WireModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    user_id: Short | None = None
    action: Short | None = None


class VerifyRequest(WireModel):
    challenge_id: Short
    verification_code: Annotated[str, StringConstraints(max_length=32)]


class ClaimRequest(WireModel):
    challenge_id: Short
    user_id: Short
    skip_verification_check: bool = False


class UpdateUserRequest(WireModel):
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    email_verified: bool = False
    phone_number: Annotated[str, StringConstraints(max_length=32)] | None = None
    phone_number_verified: bool = False
    username: Short | None = None
    display_name: Short | None = None
    custom: dict[str, CustomValue] = Field(default_factory=dict)
    locale: Annotated[str, StringConstraints(max_length=35)] | None = None

    _custom = field_validator("custom")(check_custom)
