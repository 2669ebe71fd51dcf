"""Liveness for load balancers; also the trivial JSON endpoint the benchmark uses as a ceiling."""

from flask import Blueprint, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def health_show():
    return jsonify({"status": "ok"})
