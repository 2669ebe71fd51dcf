"""Codes the backend sends and checks itself: ``challenge``, ``verify``, ``claimChallenge``, ``getChallenge``."""

from __future__ import annotations

from flask import g, jsonify, request

from app.api import bp
from app.api.responses import parse_body
from app.api.schemas import ClaimRequest, VerifyRequest
from app.api.serializers import challenge_destination, code_challenge_response
from app.config import current_settings
from app.models.base import utcnow
from app.services.challenges import server_codes


@bp.post("/challenge")
def code_challenge_start():
    body = parse_body(server_codes.ChallengeRequest)
    challenge = server_codes.start_challenge(g.caller.config, body, settings=current_settings(), now=utcnow())
    return jsonify({"challengeId": challenge.id, "idempotencyKey": challenge.idempotency_key,
                    "expiresAt": int(challenge.expires_at.timestamp())})


@bp.post("/verify")
def code_challenge_verify():
    body = parse_body(VerifyRequest)
    result = server_codes.verify(g.caller.tenant_id, body.challenge_id, body.verification_code,
                                 settings=current_settings(), now=utcnow())
    answer = {"isVerified": result.is_verified, "verificationMethod": result.challenge.verification_method.value,
              **challenge_destination(result.challenge)}
    if result.failure_reason:
        answer["failureReason"] = result.failure_reason
    return jsonify(answer)


@bp.post("/claim")
def code_challenge_claim():
    body = parse_body(ClaimRequest)
    claimed = server_codes.claim(g.caller.config, body.challenge_id, body.user_id,
                                 skip_verification_check=body.skip_verification_check, settings=current_settings(),
                                 now=utcnow())
    return jsonify({"token": claimed.token, "verificationMethod": claimed.verification_method.value})


@bp.get("/challenges")
def code_challenge_get():
    args = request.args
    challenge = server_codes.find_open_challenge(
        g.caller.tenant_id, challenge_id=args.get("challengeId"), user_id=args.get("userId"),
        action_code=args.get("action"), verification_method=args.get("verificationMethod"), now=utcnow())
    return jsonify(code_challenge_response(challenge) if challenge is not None else {})
