"""Headers for the console, review and sign-in pages, and for the JSON APIs (the hosted challenge
pages set their own)."""

from __future__ import annotations

from flask import Flask, Response, request

CONSOLE_BLUEPRINTS = frozenset({"console", "review", "auth"})
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

API_BLUEPRINTS = frozenset({"api", "client_api"})
# JSON is never a page: nothing may run, load or frame it (OWASP's REST headers).
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def register(app: Flask) -> None:
    @app.after_request
    def harden_console(response: Response) -> Response:
        if request.blueprint in CONSOLE_BLUEPRINTS:
            response.headers["Content-Security-Policy"] = CONSOLE_CSP
            response.headers["Cache-Control"] = "no-store"
            response.headers["Referrer-Policy"] = "same-origin"
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["X-Frame-Options"] = "DENY"
        elif request.blueprint in API_BLUEPRINTS:
            # Answers carry client tokens and users' personal data: no cache may keep a copy.
            response.headers["Cache-Control"] = "no-store"
            response.headers["Content-Security-Policy"] = API_CSP
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response
