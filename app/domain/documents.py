"""JSON documents in: the shared shape of request bodies and one readable sentence per failure.

Keys are camelCase on the wire; the snake_case spelling is accepted too because the official Python
SDK sends attributes verbatim and its own tests use ``redirect_url``. Only top-level keys are
aliased: whatever is inside ``custom`` is kept exactly as sent.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel

from app.domain.errors import InvalidRequest, MalformedJson
from app.domain.json_documents import decode_json

Model = TypeVar("Model", bound=BaseModel)

Short = Annotated[str, StringConstraints(max_length=255)]
CustomValue = Annotated[
    str | int | float | bool | None | list[str | int | float | bool], Field(union_mode="left_to_right")
]
MAX_CUSTOM_KEYS = 100


class WireModel(BaseModel):
    """A request body: strict JSON types, camelCase or snake_case keys, unknown keys ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", strict=True, frozen=True
    )


def check_custom(custom: dict[str, Any] | None) -> dict[str, Any] | None:
    """Custom data stays small and flat: it is stored with every action and read by rules."""
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


def parse_document(model: type[Model], data: Any) -> Model:
    """``data``: a request body (bytes or text; app.request_limits has refused U+0000 in it already)
    or JSON decoded by :func:`decode_json` (the CLI's files, the simulator's form), checked for
    U+0000 here."""
    text = isinstance(data, (bytes, str))
    if text:
        try:
            decode_json(data)  # for its limits only: pydantic parses the text again, below
        except MalformedJson:
            raise InvalidRequest("The request body is not valid JSON.") from None
    elif _holds_nul(data):
        raise InvalidRequest("The document contains a NUL character (U+0000), which is never valid input.")
    try:
        # Strict models accept an enum by its name only from JSON text, hence the text, not the value.
        return model.model_validate_json(data) if text else model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc)) from exc


def describe_validation_error(exc: ValidationError) -> str:
    messages = []
    for error in exc.errors(include_url=False):
        if error["type"] == "json_invalid":
            return "The request body is not valid JSON."
        if error["type"] == "model_type" and not error["loc"]:
            return "The request body must be a JSON object."
        where = ".".join(str(part) for part in error["loc"]) or "body"
        messages.append(f"{where}: {error['msg']}")
    return "; ".join(messages)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False
