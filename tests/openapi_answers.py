"""Checks an answer against the schema /v1/openapi.json gives its operation, so the API tests that
drive real flows also prove the document true (schemathesis's generated requests mostly meet 4xx)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from jsonschema_rs import Draft202012Validator

from app import api, client_api, management_api
from app.openapi.document import build_document


@cache
def document() -> dict[str, Any]:
    """Built from the same blueprints the server registers (tests/api/test_openapi.py checks that
    the served document is this one)."""
    routes = Flask("routes")
    for blueprint in (api.bp, client_api.bp, management_api.bp):
        routes.register_blueprint(blueprint)
    return build_document(routes.url_map, version="test")


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in document()["paths"]]


def operation_path(path: str) -> str:
    """The documented path template a concrete path falls under (``/v1/users/alice`` → ``/v1/users/{user_id}``)."""
    matches = [template for pattern, template in _templates() if pattern.match(path)]
    assert matches, f"{path} is not a documented path"
    return min(matches, key=lambda template: template.count("{"))  # a literal segment wins over a parameter


def problems(method: str, url: str, status: int, body: Any) -> list[str]:
    """Why ``body`` does not match what the document says ``method url`` answers with ``status``."""
    responses = document()["paths"][operation_path(urlsplit(url).path)][method.lower()]["responses"]
    schema = responses.get(str(status), responses["default"])["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": document()["components"]})
    return [f"{error.instance_path}: {error.message}" for error in validator.iter_errors(body)]


def check(method: str, url: str, response, status: int = 200) -> dict:
    """A Flask test response or a ``requests`` one: its status, and its body against the document."""
    code = getattr(response, "status_code", None)
    body = response.get_json() if hasattr(response, "get_json") else response.json()
    assert code == status, body
    found = problems(method, url, code, body)
    assert found == [], f"{method.upper()} {url}: {found}"
    return body
