"""Codes sent to the user, as the browser SDK's ``email``, ``sms`` and ``whatsapp`` modules call them:
enrol an address or number, send a code, verify it. The methods differ only in their paths, the
field an enrolment names, and the method handed to the one service (``services.challenges.sent_codes``)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from flask import Response, jsonify, request
from pydantic import StringConstraints

from app.api.responses import parse_body
from app.client_api import bp
from app.client_api.auth import bearer_session
from app.client_api.verification import verify_code_request
from app.config import current_settings
from app.domain.decision import VerificationMethod
from app.domain.documents import WireModel
from app.domain.languages import first_supported
from app.models.base import utcnow
from app.services.challenges import sent_codes
from app.services.challenges.sessions import ClientSession

EMAIL_OTP, SMS, WHATSAPP = VerificationMethod.EMAIL_OTP, VerificationMethod.SMS, VerificationMethod.WHATSAPP


class EnrollEmailRequest(WireModel):
    email: Annotated[str, StringConstraints(max_length=320)]


class EnrollPhoneRequest(WireModel):
    phone_number: Annotated[str, StringConstraints(max_length=32)]


def message_language(session: ClientSession) -> str:
    """The SDK draws its own screens; what it sends speaks as the hosted page would have: the track
    request's ``locale``, the user's stored one, the browser's Accept-Language, else English."""
    return first_supported((session.action.attributes or {}).get("locale"), session.user.locale,
                           *(tag for tag, _ in request.accept_languages))


def enroll_request(method: VerificationMethod, destination: str) -> Response:
    """An enrolment: the address or number is enrolled once the code (or link) this sends comes back."""
    session = bearer_session()
    authenticator, _ = sent_codes.enroll(session, destination, method=method, settings=current_settings(),
                                         now=utcnow(), locale=message_language(session), client_ip=request.remote_addr)
    return jsonify({"userAuthenticatorId": authenticator.id, "userId": session.user.user_id})


def send_request(method: VerificationMethod) -> Response:
    """A challenge (no body): a code (or link) to the enrolled address or number; again, a resend."""
    session = bearer_session()
    sent = sent_codes.send_code(session, settings=current_settings(), now=utcnow(), locale=message_language(session),
                                method=method, client_ip=request.remote_addr)
    return jsonify({"challengeId": sent.challenge_id})


@bp.post("/user-authenticators/email-otp")
def email_otp_enroll():
    """``email.enroll({email})``."""
    return enroll_request(EMAIL_OTP, parse_body(EnrollEmailRequest).email)


@bp.post("/challenge/email-otp")
def email_otp_challenge():
    """``email.challenge()``."""
    return send_request(EMAIL_OTP)


@bp.post("/verify/email-otp")
def email_otp_verify():
    return verify_code_request(sent_codes.verify_code)


@bp.post("/user-authenticators/sms")
def sms_enroll():
    """``sms.enroll({phoneNumber})``: an E.164 number (400 invalid_phone_number otherwise)."""
    return enroll_request(SMS, parse_body(EnrollPhoneRequest).phone_number)


@bp.post("/challenge/sms")
def sms_challenge():
    """``sms.challenge()``."""
    return send_request(SMS)


@bp.post("/verify/sms")
def sms_verify():
    return verify_code_request(partial(sent_codes.verify_code, method=SMS))


@bp.post("/challenge/whatsapp")
def whatsapp_challenge():
    """``whatsapp.challenge()``: to the user's WhatsApp number (enrolled by the backend)."""
    return send_request(WHATSAPP)


@bp.post("/verify/whatsapp")
def whatsapp_verify():
    return verify_code_request(partial(sent_codes.verify_code, method=WHATSAPP))
