"""Headers for the console, review and sign-in pages (the hosted challenge pages set their own)."""

from __future__ import annotations

from flask import Flask, Response, request

CONSOLE_BLUEPRINTS = frozenset({"console", "review", "auth"})
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def register(app: Flask) -> None:
    @app.after_request
    def harden_console(response: Response) -> Response:
        if request.blueprint in CONSOLE_BLUEPRINTS:
            response.headers["Content-Security-Policy"] = CONSOLE_CSP
            response.headers["Cache-Control"] = "no-store"
            response.headers["Referrer-Policy"] = "same-origin"
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["X-Frame-Options"] = "DENY"
        return response
