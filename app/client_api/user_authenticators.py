"""The signed-in user's own authenticators."""

from __future__ import annotations

from flask import jsonify

from app.api.serializers import authenticator_response
from app.client_api import bp
from app.client_api.auth import bearer_session
from app.services.challenges.sessions import require_scope


@bp.get("/user-authenticators")
def user_authenticator_list():
    session = bearer_session()
    require_scope(session, "read:authenticators")
    user = session.user
    return jsonify([authenticator_response(a, user.user_id) for a in user.authenticators if a.verified_at is not None])
