"""Passkey sign-up and sign-in, shaped as the browser SDK's ``passkey`` module expects.

The relying party (RP ID, name, origins) is the tenant's when its settings override the environment.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from app.api.responses import parse_body
from app.api.serializers import authenticator_response
from app.client_api import bp
from app.client_api.auth import basic_tenant_id, bearer_session, session_or_tenant
from app.config import Settings, current_settings
from app.domain.documents import Short, WireModel
from app.models.base import utcnow
from app.services.challenges import passkeys
from app.services.tenancy.tenant_config import settings_for


class RegistrationOptionsRequest(WireModel):
    username: Short | None = None
    display_name: Short | None = None
    authenticator_attachment: Short | None = None


class RegistrationRequest(WireModel):
    registration_credential: dict[str, Any]
    challenge_id: Short | None = None
    conditional_create: bool = False
    name: Short | None = None


class SignInChallengeRequest(WireModel):
    action: Short | None = None


class AuthenticationOptionsRequest(WireModel):
    challenge_id: Short | None = None


class VerifyRequest(WireModel):
    authentication_credential: dict[str, Any]
    challenge_id: Short | None = None
    device_id: Short | None = None


def _tenant_settings(tenant_id: str) -> Settings:
    """The settings in effect for the tenant: its relying party, when it has its own, among them."""
    return settings_for(tenant_id, current_settings())


@bp.post("/user-authenticators/passkey/registration-options")
def passkey_registration_options():
    session = bearer_session()
    body = parse_body(RegistrationOptionsRequest)
    started = passkeys.start_registration(session, username=body.username, attachment=body.authenticator_attachment,
                                          settings=_tenant_settings(session.tenant_id), now=utcnow())
    return jsonify({"challengeId": started.challenge_id, "options": started.options})


@bp.post("/user-authenticators/passkey")
def passkey_register():
    session = bearer_session()
    body = parse_body(RegistrationRequest)
    registered = passkeys.finish_registration(session, challenge_id=body.challenge_id, credential=body.registration_credential,
                                              name=body.name, settings=_tenant_settings(session.tenant_id), now=utcnow())
    return jsonify(
        {
            "isVerified": True,
            "accessToken": registered.access_token,
            "userAuthenticatorId": registered.authenticator.id,
            "userId": session.user.user_id,
            "userAuthenticator": authenticator_response(registered.authenticator, session.user.user_id),
        }
    )


@bp.post("/challenge")
def sign_in_challenge():
    tenant_id = basic_tenant_id()
    body = parse_body(SignInChallengeRequest)
    challenge_id = passkeys.start_sign_in(
        tenant_id, action_code=body.action, client_ip=request.remote_addr, settings=current_settings(), now=utcnow()
    )
    return jsonify({"challengeId": challenge_id})


@bp.post("/user-authenticators/passkey/authentication-options")
def passkey_authentication_options():
    session, tenant_id = session_or_tenant()
    body = parse_body(AuthenticationOptionsRequest)
    started = passkeys.start_authentication(
        tenant_id, session=session, challenge_id=body.challenge_id, client_ip=request.remote_addr,
        settings=_tenant_settings(tenant_id), now=utcnow(),
    )
    return jsonify({"challengeId": started.challenge_id, "options": started.options})


@bp.post("/verify/passkey")
def passkey_verify():
    session, tenant_id = session_or_tenant()
    body = parse_body(VerifyRequest)
    result = passkeys.finish_authentication(
        tenant_id,
        session=session,
        challenge_id=body.challenge_id,
        credential=body.authentication_credential,
        device_id=body.device_id,
        settings=_tenant_settings(tenant_id),
        now=utcnow(),
    )
    return jsonify(
        {
            "isVerified": True,
            "accessToken": result.access_token,
            "userId": result.user.user_id,
            "userAuthenticatorId": result.authenticator.id,
            "username": result.user.username,
            "userDisplayName": result.user.display_name,
        }
    )


@bp.get("/user-authenticators/passkey")
def passkey_exists():
    """``isAvailableOnDevice``: any 2xx means one of these credentials is still registered."""
    tenant_id = basic_tenant_id()
    ids = [i for i in (request.args.get("credentialIds") or "").split(",") if i]
    if passkeys.passkeys_exist(tenant_id, ids):
        return jsonify({"isAvailable": True})
    return jsonify({"error": "not_found", "errorCode": "not_found",
                    "errorDescription": "None of these passkeys is registered."}), 404
