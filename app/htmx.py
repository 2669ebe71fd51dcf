"""One way to answer htmx: the page for a normal request, its ``_fragment`` for an htmx swap.

Every page template includes its fragment, so both always show the same thing. ``Vary:
HX-Request`` keeps caches from handing one where the other was asked for.
"""

from __future__ import annotations

from flask import Response, make_response, redirect, render_template, request


def render(page: str, fragment: str | None = None, *, status: int = 200, **context) -> Response:
    # A history restore (the back button after htmx's cache missed) needs the whole page.
    wants_fragment = (
        fragment is not None
        and request.htmx
        and not request.htmx.boosted
        and not request.htmx.history_restore_request
    )
    response = make_response(render_template(fragment if wants_fragment else page, **context), status)
    response.vary.add("HX-Request")
    return response


def redirect_to(url: str) -> Response:
    """After a change: htmx follows HX-Redirect, a plain form follows the 303."""
    if request.htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)
