"""The answer to a code typed by the user (authenticator app, email, SMS), as the browser SDK reads it."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from app.api.serializers import authenticator_response
from app.domain.documents import WireModel
from app.services.challenges.codes import CodeResult
from app.services.challenges.sessions import ClientSession


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
