"""What no request may carry, whatever it is for.

The NUL character (U+0000): PostgreSQL text cannot hold it (the insert or even the lookup raises,
which would be a 500), SQLite would quietly store it, and no legitimate caller sends it. Refusing
it once, before any view, keeps SQLite and PostgreSQL deployments accepting exactly the same input.
Checked: the path, the query string, form fields, and JSON bodies (where it can only appear as the
escape ``\\u0000``). The other request-wide limit, the body size, is Flask's MAX_CONTENT_LENGTH
(``Settings.flask_config``).

A JSON body read with ``request.get_json()`` is decoded by :func:`decode_json`, with its limits on
depth and numbers (the API's bodies go through it in ``parse_document``).
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from flask import Flask, request

from app.domain.errors import InvalidRequest
from app.domain.json_documents import decode_json

# \u0000 preceded by an even number of backslashes (zero included): an escape, not the text "\\u0000".
_JSON_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_TOLLGATE_JSON = SimpleNamespace(loads=decode_json)  # what Werkzeug's get_json() calls


def register(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters() -> None:
        if _carries_nul():
            raise InvalidRequest("The request contains a NUL character (U+0000), which is never valid input.")

    @app.before_request
    def decode_json_with_limits() -> None:
        # get_json() decodes with request.json_module, which Flask sets to the app's provider (Python's
        # lenient json) on each request; the provider itself stays, as sessions and tests use it.
        request.json_module = _TOLLGATE_JSON


def _carries_nul() -> bool:
    if "\x00" in request.path or b"%00" in request.query_string:
        return True
    if request.is_json:
        body = request.get_data(cache=True)
        # The plain substring search first: it runs at memchr speed, the regex only on a body that has it.
        return b"\\u0000" in body and _JSON_NUL_ESCAPE.search(body) is not None
    if request.mimetype in FORM_TYPES:
        return any("\x00" in value for _, value in request.form.items(multi=True))
    return False
