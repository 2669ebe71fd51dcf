"""Authenticator-app enrolment and verification, as the browser SDK's ``totp`` module expects."""

from __future__ import annotations

from flask import jsonify

from app.api.responses import parse_body
from app.client_api import bp
from app.client_api.auth import bearer_session
from app.client_api.verification import VerifyCodeRequest, code_answer
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
    session = bearer_session()
    body = parse_body(VerifyCodeRequest)
    result = codes.verify_totp(session, body.verification_code, settings=current_settings(), now=utcnow())
    return jsonify(code_answer(result, session))
