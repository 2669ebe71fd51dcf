"""``/v1/openapi.json``: the OpenAPI document of the server and client APIs (no key needed to read it)."""

from __future__ import annotations

from functools import cache
from importlib.metadata import version

from flask import Blueprint, current_app, jsonify

from app.openapi.document import build_document

bp = Blueprint("openapi", __name__, url_prefix="/v1")


@bp.get("/openapi.json")
def openapi_show():
    return jsonify(_document())


@cache
def _document() -> dict:
    # The routes are fixed once the app is built: the document is computed once per process.
    return build_document(current_app.url_map, version=version("tollgate"))
