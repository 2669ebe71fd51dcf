"""Turning pydantic validation failures into one readable sentence for API and CLI users."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.domain.errors import InvalidRequest

Model = TypeVar("Model", bound=BaseModel)


def parse_document(model: type[Model], data: Any) -> Model:
    try:
        if isinstance(data, (bytes, str)):
            return model.model_validate_json(data)
        return model.model_validate(data)
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
