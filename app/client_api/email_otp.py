"""Email codes, as the browser SDK's ``email`` module calls them: enrol an address, send, verify."""

from __future__ import annotations

from typing import Annotated

from flask import jsonify
from pydantic import StringConstraints

from app.api.responses import parse_body
from app.client_api import bp
from app.client_api.auth import bearer_session
from app.client_api.verification import verify_code_request
from app.config import current_settings
from app.domain.decision import VerificationMethod
from app.domain.documents import WireModel
from app.models.base import utcnow
from app.services.challenges import sent_codes

# The SDK draws its own screens; its code emails stay English until the client API negotiates a language.
SDK_LOCALE = "en"


class EnrollEmailRequest(WireModel):
    email: Annotated[str, StringConstraints(max_length=320)]


@bp.post("/user-authenticators/email-otp")
def email_otp_enroll():
    """``email.enroll({email})``: the address is enrolled once the code this sends comes back."""
    session = bearer_session()
    body = parse_body(EnrollEmailRequest)
    authenticator, _ = sent_codes.enroll(session, body.email, method=VerificationMethod.EMAIL_OTP,
                                         settings=current_settings(), now=utcnow(), locale=SDK_LOCALE)
    return jsonify({"userAuthenticatorId": authenticator.id, "userId": session.user.user_id})


@bp.post("/challenge/email-otp")
def email_otp_challenge():
    """``email.challenge()`` (no body): a code to the enrolled address; again, a resend."""
    session = bearer_session()
    sent = sent_codes.send_code(session, settings=current_settings(), now=utcnow(), locale=SDK_LOCALE)
    return jsonify({"challengeId": sent.challenge_id})


@bp.post("/verify/email-otp")
def email_otp_verify():
    return verify_code_request(sent_codes.verify_code)
