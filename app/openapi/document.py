"""The OpenAPI 3.1 document of the server, client and management APIs, built from the routes and ``OPERATIONS``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Map

from app.openapi import wire
from app.openapi.operations import CLIENT_TOKEN, MANAGEMENT_KEY, OPERATIONS, SECRET_KEY, TENANT_ID, Operation

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{model}"
_PATH_PARAMETER = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")
# Flask adds these to every route; they are not operations of the API.
_IMPLICIT_METHODS = {"HEAD", "OPTIONS"}
SECURITY_SCHEMES = {
    SECRET_KEY: {"type": "http", "scheme": "basic",
                 "description": "The tenant's secret key as the user name, an empty password."},
    CLIENT_TOKEN: {"type": "http", "scheme": "bearer",
                   "description": "A client token from track, or the access token a verification returned."},
    TENANT_ID: {"type": "http", "scheme": "basic", "description": "The tenant id as the user name (usernameless sign-in)."},
    MANAGEMENT_KEY: {"type": "http", "scheme": "basic",
                     "description": "A management key as the user name (Settings → API keys), read, draft or publish."},
}


def build_document(url_map: Map, *, version: str) -> dict[str, Any]:
    """``url_map``: the app's routes, where each operation's path and method are read."""
    routes = {rule.endpoint: rule for rule in url_map.iter_rules()}
    refs, schemas = _component_schemas(OPERATIONS)
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        rule = routes[operation.endpoint]
        path = _PATH_PARAMETER.sub(r"{\1}", rule.rule)
        for method in sorted(set(rule.methods or ()) - _IMPLICIT_METHODS):
            paths.setdefault(path, {})[method.lower()] = _operation(operation, rule.arguments, refs)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Tollgate", "version": version,
                 "description": "Risk-based step-up authentication, wire-compatible with Authsignal's server, "
                                "client and management APIs. Every error is a JSON object with error, errorCode and "
                                "errorDescription."},
        "servers": [{"url": "/"}],
        "tags": [{"name": tag} for tag in dict.fromkeys(operation.tag for operation in OPERATIONS)],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def documented_endpoints() -> set[str]:
    return {operation.endpoint for operation in OPERATIONS}


Refs = dict[tuple[type[BaseModel], str], dict[str, str]]  # (model, mode) → {"$ref": ...}


def _operation(operation: Operation, path_arguments: Iterable[str], refs: Refs) -> dict[str, Any]:
    ok = (refs[operation.response, "serialization"] if operation.response is not None
          else {"type": "array", "items": refs[operation.items, "serialization"]})  # type: ignore[index]
    error = {"application/json": {"schema": refs[wire.Error, "serialization"]}}
    responses: dict[str, Any] = {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}}}
    for status in operation.missing:
        responses[str(status)] = {"description": "Not found: an answer, not a failure.", "content": error}
    responses["default"] = {"description": "An error: the request was refused (4xx) or the server could not answer (5xx).",
                            "content": error}
    document: dict[str, Any] = {
        "operationId": operation.endpoint.replace(".", "_"),
        "summary": operation.summary,
        "tags": [operation.tag],
        "security": [{scheme: []} for scheme in operation.security],
        "parameters": [
            *({"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
              for name in sorted(path_arguments)),
            *({"name": query.name, "in": "query", "required": False, "description": query.description,
               "schema": query.schema} for query in operation.query),
        ],
        "responses": responses,
    }
    if operation.body is not None:
        # An empty body reads as {}: it is required only when the model has a required field.
        required = any(field.is_required() for field in operation.body.model_fields.values())
        document["requestBody"] = {"required": required,
                                   "content": {"application/json": {"schema": refs[operation.body, "validation"]}}}
    return document


def _component_schemas(operations: Iterable[Operation]) -> tuple[Refs, dict[str, Any]]:
    """Request models in validation mode (what may be sent: camelCase names), responses as serialized;
    pydantic names each component (two models of one name get their modules' names)."""
    wanted: dict[tuple[type[BaseModel], str], None] = {(wire.Error, "serialization"): None}
    for operation in operations:
        if operation.body is not None:
            wanted[operation.body, "validation"] = None
        for answer in (operation.response, operation.items):
            if answer is not None:
                wanted[answer, "serialization"] = None
    refs, top = models_json_schema(list(wanted), by_alias=True, ref_template=REF_TEMPLATE)  # type: ignore[arg-type]
    return refs, dict(sorted(top.get("$defs", {}).items()))  # type: ignore[return-value]
