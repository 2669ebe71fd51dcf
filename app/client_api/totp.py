"""Authenticator-app enrolment and verification, as the browser SDK's ``totp`` module expects."""

from __future__ import annotations

from typing import Annotated

from flask import jsonify
from pydantic import StringConstraints

from app.api.responses import parse_body
from app.api.serializers import authenticator_response
from app.client_api import bp
from app.client_api.auth import bearer_session
from app.config import current_settings
from app.domain.documents import WireModel
from app.models.base import utcnow
from app.services.challenges import codes


class VerifyCodeRequest(WireModel):
    verification_code: Annotated[str, StringConstraints(max_length=32)]


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
    answer: dict = {"isVerified": result.is_verified}
    if result.access_token:
        answer["accessToken"] = result.access_token
    if result.failure_reason:
        answer["failureReason"] = result.failure_reason
    if result.newly_enrolled and result.authenticator is not None:
        answer["userAuthenticator"] = authenticator_response(result.authenticator, session.user.user_id)
    return jsonify(answer)
