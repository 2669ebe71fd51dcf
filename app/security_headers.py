"""Headers for the console, review and sign-in pages, and for the JSON APIs (the hosted challenge
pages set their own)."""

from __future__ import annotations

from flask import Flask, Response, g, request

CONSOLE_BLUEPRINTS = frozenset({"console", "review", "auth"})
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

# Settings → Brand previews the hosted page in an iframe of its own page: that one page may be framed by
# the console itself (never by anyone else) and show the logos being tried (console.brand sets them).
PREVIEW_ENDPOINTS = frozenset({"console.settings_brand_sample"})

API_BLUEPRINTS = frozenset({"api", "client_api"})
# JSON is never a page: nothing may run, load or frame it (OWASP's REST headers).
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def register(app: Flask) -> None:
    @app.after_request
    def harden_console(response: Response) -> Response:
        if request.blueprint in CONSOLE_BLUEPRINTS:
            preview = request.endpoint in PREVIEW_ENDPOINTS
            response.headers["Content-Security-Policy"] = (
                _preview_csp(g.get("preview_image_origins", ())) if preview else CONSOLE_CSP)
            response.headers["Cache-Control"] = "no-store"
            response.headers["Referrer-Policy"] = "same-origin"
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["X-Frame-Options"] = "SAMEORIGIN" if preview else "DENY"
        elif request.blueprint in API_BLUEPRINTS:
            # Answers carry client tokens and users' personal data: no cache may keep a copy.
            response.headers["Cache-Control"] = "no-store"
            response.headers["Content-Security-Policy"] = API_CSP
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _preview_csp(image_origins) -> str:
    """CONSOLE_CSP with the previewed logos' origins (domain.theme.logo_origins) and framing by itself."""
    images = " ".join(["'self'", "data:", *image_origins])
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {images}; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    )
