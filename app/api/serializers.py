"""Rows and results as the Authsignal wire format spells them (camelCase)."""

from __future__ import annotations

from typing import Any

from app.api.responses import iso
from app.domain.actions import DEFAULT_VERIFICATION_METHODS
from app.models import Authenticator, CodeChallenge, EndUser, UserAction
from app.services.challenges.sessions import Validation
from app.services.decisions.tracking import TrackResult
from app.services.end_users.users import enrolled_verification_methods


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _method(value) -> str | None:
    return value.value if value is not None else None


def track_response(result: TrackResult) -> dict[str, Any]:
    action = result.action
    return _without_none(
        {
            "state": action.state.value,
            "idempotencyKey": action.idempotency_key,
            "url": result.url,
            "token": result.token,
            "isEnrolled": bool(result.enrolled_verification_methods),
            "enrolledVerificationMethods": result.enrolled_verification_methods,
            "allowedVerificationMethods": action.allowed_verification_methods,
            "defaultVerificationMethod": _method(action.default_verification_method),
            "ruleIds": action.rule_ids,
        }
    )


def action_response(action: UserAction, output: dict[str, Any]) -> dict[str, Any]:
    """``output``: the action's decision explained (services.decisions.replay.explanation)."""
    matched = set(action.rule_ids)
    return _without_none(
        {
            "userId": action.user_id,
            "actionCode": action.action_code,
            "idempotencyKey": action.idempotency_key,
            "state": action.state.value,
            "stateUpdatedAt": iso(action.state_updated_at),
            "createdAt": iso(action.created_at),
            "verificationMethod": _method(action.verification_method),
            "rules": [
                {"ruleId": r["ruleId"], "name": r["name"]}
                for r in output.get("rules", [])
                if r.get("ruleId") in matched
            ],
            "ruleIds": action.rule_ids,
            "priorityRuleId": action.priority_rule_id,
            "output": output,
        }
    )


def action_summary(action: UserAction) -> dict[str, Any]:
    return _without_none(
        {
            "actionCode": action.action_code,
            "idempotencyKey": action.idempotency_key,
            "createdAt": iso(action.created_at),
            "updatedAt": iso(action.updated_at),
            "state": action.state.value,
            "stateUpdatedAt": iso(action.state_updated_at),
            "verificationMethod": _method(action.verification_method),
            "verifiedByAuthenticatorId": action.verified_by_authenticator_id,
            "userAgent": action.user_agent,
            "ipAddress": action.ip_address,
        }
    )


def validation_response(validation: Validation) -> dict[str, Any]:
    action = validation.action
    body: dict[str, Any] = {"isValid": validation.is_valid}
    if action is not None:
        body.update(
            {
                "state": action.state.value,
                "stateUpdatedAt": iso(action.state_updated_at),
                "userId": action.user_id,
                "action": action.action_code,
                "actionCode": action.action_code,
                "idempotencyKey": action.idempotency_key,
                "verificationMethod": _method(action.verification_method),
            }
        )
    if validation.error:
        body["error"] = validation.error
    return _without_none(body)


def user_response(user_id: str, user: EndUser | None) -> dict[str, Any]:
    """Unknown users answer like Authsignal: 200 with ``isEnrolled: false``."""
    if user is None:
        return {"userId": user_id, "isEnrolled": False, "emailVerified": False, "phoneNumberVerified": False,
                "enrolledVerificationMethods": [], "allowedVerificationMethods": list(DEFAULT_VERIFICATION_METHODS)}
    enrolled = enrolled_verification_methods(user)
    return _without_none(
        {
            "userId": user.user_id,
            "isEnrolled": bool(enrolled),
            "email": user.email,
            "emailVerified": user.email_verified,
            "phoneNumber": user.phone_number,
            "phoneNumberVerified": user.phone_number_verified,
            "username": user.username,
            "displayName": user.display_name,
            "custom": user.custom or {},
            "locale": user.locale,
            "enrolledVerificationMethods": enrolled,
            "allowedVerificationMethods": list(DEFAULT_VERIFICATION_METHODS),
        }
    )


def user_summary(user: EndUser) -> dict[str, Any]:
    return _without_none(
        {
            "userId": user.user_id,
            "email": user.email,
            "emailVerified": user.email_verified,
            "phoneNumber": user.phone_number,
            "phoneNumberVerified": user.phone_number_verified,
            "username": user.username,
        }
    )


def authenticator_response(authenticator: Authenticator, user_id: str) -> dict[str, Any]:
    return _without_none(
        {
            "userId": user_id,
            "userAuthenticatorId": authenticator.id,
            "verificationMethod": authenticator.verification_method.value,
            "createdAt": iso(authenticator.created_at),
            "verifiedAt": iso(authenticator.verified_at),
            "lastVerifiedAt": iso(authenticator.last_verified_at),
            "email": authenticator.email,
            "phoneNumber": authenticator.phone_number,
            "isDefault": authenticator.is_default,
            "name": authenticator.name,
            "webauthnCredential": _webauthn_credential(authenticator),
        }
    )


def _webauthn_credential(authenticator: Authenticator) -> dict[str, Any] | None:
    passkey = authenticator.passkey
    if passkey is None:
        return None
    return _without_none(
        {
            "credentialId": passkey.credential_id,
            "name": authenticator.name,
            "aaguid": passkey.aaguid,
            "credentialBackedUp": passkey.backup_state,
            "credentialDeviceType": "multiDevice" if passkey.backup_eligible else "singleDevice",
            "authenticatorAttachment": passkey.attachment,
        }
    )


def code_challenge_response(challenge: CodeChallenge) -> dict[str, Any]:
    """A server-API challenge as ``getChallenge`` returns it; ``expiresAt`` in Unix seconds."""
    return {
        "challengeId": challenge.id,
        "expiresAt": int(challenge.expires_at.timestamp()),
        "verificationMethod": challenge.verification_method.value,
        "action": challenge.action_code,
        **challenge_destination(challenge),
    }


def challenge_destination(challenge: CodeChallenge) -> dict[str, str]:
    """Where the code went: ``email`` for email codes, ``phoneNumber`` (and ``smsChannel``) for SMS and WhatsApp."""
    if challenge.channel == "email":
        return {"email": challenge.destination}
    return {"phoneNumber": challenge.destination, "smsChannel": "WHATSAPP" if challenge.channel == "whatsapp" else "DEFAULT"}
