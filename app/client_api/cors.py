"""CORS for the client API: the browser SDK calls it from the integrator's own pages."""

from __future__ import annotations

from flask import Response, request

from app.config import current_settings
from app.services.tenancy.tenant_settings import browser_origins


def allowed_origins() -> set[str]:
    # Tenants' console settings override the environment's origins and allow-list.
    return browser_origins(current_settings())


def add_cors_headers(response: Response) -> Response:
    origin = request.headers.get("Origin")
    if origin and origin in allowed_origins():
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Max-Age"] = "600"
    response.vary.add("Origin")
    return response
