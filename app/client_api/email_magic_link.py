"""Magic links, as the browser SDK's ``emailML`` module calls them: enrol an address, send a link,
and poll (``checkVerificationStatus``, every second) until the link was opened and confirmed."""

from __future__ import annotations

from flask import jsonify

from app.api.responses import parse_body
from app.client_api import bp
from app.client_api.auth import bearer_session
from app.client_api.sent_codes import EnrollEmailRequest, enroll_request, send_request
from app.client_api.verification import code_answer
from app.config import current_settings
from app.domain.decision import VerificationMethod
from app.models.base import utcnow
from app.services.challenges import magic_links

EMAIL_MAGIC_LINK = VerificationMethod.EMAIL_MAGIC_LINK


@bp.post("/user-authenticators/email-magic-link")
def email_magic_link_enroll():
    """``emailML.enroll({email})``: the address is enrolled once the link this sends is confirmed."""
    return enroll_request(EMAIL_MAGIC_LINK, parse_body(EnrollEmailRequest).email)


@bp.post("/challenge/email-magic-link")
def email_magic_link_challenge():
    """``emailML.challenge()`` (no body): a link to the enrolled address; again, a resend."""
    return send_request(EMAIL_MAGIC_LINK)


@bp.post("/verify/email-magic-link/finalize")
def email_magic_link_finalize():
    """``emailML.checkVerificationStatus()``: ``{isVerified: false}`` until the link is confirmed, then
    ``{isVerified: true, accessToken}``."""
    session = bearer_session()
    result = magic_links.verification_status(session, settings=current_settings(), now=utcnow())
    return jsonify(code_answer(result, session))
