"""Probes for load balancers and orchestrators.

``/healthz`` (liveness: the process answers; also the trivial JSON endpoint the track benchmark
uses as its ceiling, so it must stay free of any I/O) and ``/readyz`` (readiness: the database
answers and its schema is this code's).
"""

from functools import cache

from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify

from app.services.operations.readiness import check_readiness

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def health_show():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readiness_show():
    readiness = check_readiness(expected_heads=_expected_heads(current_app.extensions["migrate"].directory))
    if readiness.ready:
        response = jsonify({"status": "ready"})
    else:
        response = jsonify({"status": "unavailable", "problem": readiness.problem})
        response.status_code = 503
    response.headers["Cache-Control"] = "no-store"
    return response


@cache
def _expected_heads(migrations_directory: str) -> frozenset[str]:
    # The migration scripts ship with the code and never change under a running process.
    return frozenset(ScriptDirectory(migrations_directory).get_heads())
