"""The answer to a code typed by the user (authenticator app, email, SMS), as the browser SDK reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Protocol

from flask import Response, jsonify
from pydantic import StringConstraints

from app.api.responses import parse_body
from app.api.serializers import authenticator_response
from app.client_api.auth import bearer_session
from app.config import Settings, current_settings
from app.domain.documents import WireModel
from app.models.base import utcnow
from app.services.challenges.codes import CodeResult
from app.services.challenges.sessions import ClientSession


class CodeCheck(Protocol):
    def __call__(self, session: ClientSession, code: str, *, settings: Settings, now: datetime) -> CodeResult: ...


class VerifyCodeRequest(WireModel):
    verification_code: Annotated[str, StringConstraints(max_length=32)]


def code_answer(result: CodeResult, session: ClientSession) -> dict:
    """``{isVerified, accessToken?, failureReason?, userAuthenticator?}``; the authenticator only when
    this code was the one that enrolled it."""
    answer: dict = {"isVerified": result.is_verified}
    if result.access_token:
        answer["accessToken"] = result.access_token
    if result.failure_reason:
        answer["failureReason"] = result.failure_reason
    if result.newly_enrolled and result.authenticator is not None:
        answer["userAuthenticator"] = authenticator_response(result.authenticator, session.user.user_id)
    return answer


def verify_code_request(check: CodeCheck) -> Response:
    """A ``/verify/…`` call: the bearer's code, checked by ``check``, answered as the SDK reads it.
    The kinds of code differ only in the check."""
    session = bearer_session()
    body = parse_body(VerifyCodeRequest)
    result = check(session, body.verification_code, settings=current_settings(), now=utcnow())
    return jsonify(code_answer(result, session))
