"""Passkeys (WebAuthn) through py_webauthn: options out, verified credentials in.

Every ceremony requires user verification and checks the RP ID and the configured origins. The
sign-count check is ours rather than the library's so that a count going backwards can be told
apart from other failures and recorded (a possibly cloned authenticator).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidJSONStructure, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.domain.errors import InvalidRequest

TIMEOUT_MS = 5 * 60 * 1000


class InvalidCredential(InvalidRequest, code="invalid_credential"):
    """A passkey response that does not verify."""


class SignCountRegressed(InvalidCredential):
    """The authenticator reported a sign count not above the stored one."""


class SyncedPasskeyRefused(InvalidCredential, code="device_bound_passkey_required", status=403):
    """A passkey that may be backed up (BE set) where the action accepts only device-bound ones."""


def require_device_bound(*, backup_eligible: bool, device_bound_required: bool) -> None:
    """The action's "require a device-bound passkey" setting, applied to one credential. Backup
    eligibility (not the backup state) decides: a passkey that may sync can sync later."""
    if device_bound_required and backup_eligible:
        raise SyncedPasskeyRefused(
            "This action needs a passkey that stays on one device or security key; this passkey can sync to "
            "other devices. Use a device-bound passkey or another way to verify."
        )


@dataclass(frozen=True)
class RelyingParty:
    rp_id: str
    name: str
    origins: tuple[str, ...]

    def expectations(self, challenge: str) -> dict[str, Any]:
        """What a registration and an assertion alike are verified against: our challenge, this RP,
        one of its origins, and a user verified on the authenticator."""
        return {"expected_challenge": base64url_to_bytes(challenge), "expected_rp_id": self.rp_id,
                "expected_origin": list(self.origins), "require_user_verification": True}


@dataclass(frozen=True)
class KnownCredential:
    credential_id: str  # base64url
    transports: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ceremony:
    options: dict[str, Any]  # WebAuthn L3 JSON, as browsers' parse*OptionsFromJSON expect
    challenge: str  # base64url, kept server-side


@dataclass(frozen=True)
class NewCredential:
    credential_id: str
    public_key: bytes
    sign_count: int
    transports: list[str]
    aaguid: str
    backup_eligible: bool
    backup_state: bool
    attachment: str | None


def new_user_handle() -> str:
    return bytes_to_base64url(secrets.token_bytes(32))


def _descriptors(credentials: list[KnownCredential]) -> list[PublicKeyCredentialDescriptor]:
    descriptors = []
    for known in credentials:
        transports = []
        for transport in known.transports:
            try:
                transports.append(AuthenticatorTransport(transport))
            except ValueError:
                continue  # a transport newer than our library: the browser copes without the hint
        descriptors.append(
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(known.credential_id), transports=transports or None)
        )
    return descriptors


def registration_ceremony(
    rp: RelyingParty,
    *,
    user_handle: str,
    user_name: str,
    display_name: str,
    existing: list[KnownCredential],
    attachment: str | None = None,
) -> Ceremony:
    selection = AuthenticatorSelectionCriteria(
        resident_key=ResidentKeyRequirement.REQUIRED,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    if attachment in ("platform", "cross-platform"):
        selection.authenticator_attachment = AuthenticatorAttachment(attachment)
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=rp.name,
        user_name=user_name,
        user_id=base64url_to_bytes(user_handle),
        user_display_name=display_name,
        timeout=TIMEOUT_MS,
        authenticator_selection=selection,
        exclude_credentials=_descriptors(existing),
    )
    return Ceremony(options=json.loads(options_to_json(options)), challenge=bytes_to_base64url(options.challenge))


def authentication_ceremony(rp: RelyingParty, *, allowed: list[KnownCredential] | None) -> Ceremony:
    """``allowed=None`` lets the browser offer any discoverable passkey (usernameless, autofill)."""
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(allowed) if allowed is not None else None,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return Ceremony(options=json.loads(options_to_json(options)), challenge=bytes_to_base64url(options.challenge))


def verify_registration(rp: RelyingParty, credential: Any, *, expected_challenge: str) -> NewCredential:
    try:
        parsed = parse_registration_credential_json(_as_json(credential))
        verified = verify_registration_response(credential=parsed, **rp.expectations(expected_challenge))
    except (InvalidRegistrationResponse, InvalidJSONStructure, ValueError, TypeError, KeyError) as exc:
        raise InvalidCredential(f"The passkey could not be registered: {exc}") from exc
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[t.value for t in (parsed.response.transports or [])],
        aaguid=verified.aaguid,
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backup_state=verified.credential_backed_up,
        attachment=parsed.authenticator_attachment.value if parsed.authenticator_attachment else None,
    )


def _as_json(credential: Any) -> str:
    """The browser's response as the JSON py_webauthn parses: sent as a string or as an object."""
    return credential if isinstance(credential, str) else json.dumps(credential)


def credential_id_of(credential: Any) -> str:
    """The base64url id an assertion claims, to look up its stored public key first."""
    credential_id = credential.get("id") if isinstance(credential, dict) else None
    if not isinstance(credential_id, str) or not credential_id or len(credential_id) > 1400:
        raise InvalidCredential("The passkey response has no credential id.")
    return credential_id


def user_handle_of(credential: Any) -> str | None:
    response = credential.get("response") if isinstance(credential, dict) else None
    handle = response.get("userHandle") if isinstance(response, dict) else None
    return handle if isinstance(handle, str) and handle else None


@dataclass(frozen=True)
class VerifiedAssertion:
    new_sign_count: int
    backup_state: bool


def verify_assertion(
    rp: RelyingParty,
    credential: Any,
    *,
    expected_challenge: str,
    public_key: bytes,
    stored_sign_count: int,
) -> VerifiedAssertion:
    try:
        parsed = parse_authentication_credential_json(_as_json(credential))
        verified = verify_authentication_response(
            credential=parsed,
            credential_public_key=public_key,
            credential_current_sign_count=0,  # compared below, so a regression is recognisable
            **rp.expectations(expected_challenge),
        )
    except (InvalidAuthenticationResponse, InvalidJSONStructure, ValueError, TypeError, KeyError) as exc:
        raise InvalidCredential(f"The passkey could not be verified: {exc}") from exc
    new_count = verified.new_sign_count
    if (new_count or stored_sign_count) and new_count <= stored_sign_count:
        raise SignCountRegressed(
            f"The passkey's signature counter went from {stored_sign_count} to {new_count}; it may have been cloned."
        )
    return VerifiedAssertion(new_sign_count=new_count, backup_state=verified.credential_backed_up)
