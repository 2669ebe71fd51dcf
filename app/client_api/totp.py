"""Authenticator-app enrolment and verification, as the browser SDK's ``totp`` module expects."""

from __future__ import annotations

from flask import jsonify

from app.client_api import bp
from app.client_api.auth import bearer_session
from app.client_api.verification import verify_code_request
from app.config import current_settings
from app.models.base import utcnow
from app.services.challenges import codes


@bp.post("/user-authenticators/totp")
def totp_enroll():
    session = bearer_session()
    pending = codes.start_totp_enrollment(session, settings=current_settings(), now=utcnow())
    return jsonify(
        {
            "userAuthenticatorId": pending.authenticator.id,
            "userId": session.user.user_id,
            "uri": pending.uri,
            "secret": pending.secret,
        }
    )


@bp.post("/verify/totp")
def totp_verify():
    return verify_code_request(codes.verify_totp)
