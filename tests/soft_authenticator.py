"""A software WebAuthn authenticator, so passkey ceremonies can be tested without a browser.

It reads the options our endpoints hand out (WebAuthn L3 JSON, as ``@simplewebauthn/browser``
receives them) and answers with the JSON a browser would post back: a ``RegistrationResponseJSON``
with a "none" attestation, or an ``AuthenticationResponseJSON`` signed with ES256 (P-256).

By default it answers like an honest platform passkey for the test app (origin
``http://localhost:5000``, RP ID from the options, user present and verified). Keyword arguments
produce the bad variants a test needs: another origin or RP ID, no user verification, a chosen
signature counter, another challenge, or a credential the server did not ask for.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

ORIGIN = "http://localhost:5000"

# Authenticator data flags (WebAuthn §6.1).
UP = 0x01  # user present
UV = 0x04  # user verified
BE = 0x08  # backup eligible
BS = 0x10  # backed up
AT = 0x40  # attested credential data included

AAGUID_NONE = bytes(16)


@dataclass
class StoredCredential:
    """What the authenticator keeps for one passkey it created."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: str  # base64url, as the options' user.id
    sign_count: int = 0

    @property
    def id(self) -> str:
        return bytes_to_base64url(self.credential_id)


class SoftAuthenticator:
    """One device holding any number of passkeys.

    ``counter_step`` is how much the signature counter grows per use: 0 behaves like the synced
    platform passkeys that always report 0, 1 like a security key.
    """

    def __init__(self, *, origin: str = ORIGIN, counter_step: int = 1, backed_up: bool = False):
        self.origin = origin
        self.counter_step = counter_step
        self.backed_up = backed_up
        self.credentials: list[StoredCredential] = []

    # -- registration (navigator.credentials.create) ------------------------------------------

    def register(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        user_verified: bool = True,
        challenge: str | None = None,
        sign_count: int | None = None,
        credential_id: bytes | None = None,
    ) -> dict[str, Any]:
        """Create a passkey for ``options`` (PublicKeyCredentialCreationOptionsJSON) and return
        the RegistrationResponseJSON. The authenticator keeps the new passkey either way."""
        rp_id = rp_id or options["rp"]["id"]
        credential = StoredCredential(
            credential_id=credential_id or secrets.token_bytes(secrets.choice(range(16, 33))),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp_id,
            user_handle=options["user"]["id"],
            sign_count=self.counter_step if sign_count is None else sign_count,
        )
        self.credentials.append(credential)
        client_data = _client_data("webauthn.create", challenge or options["challenge"], origin or self.origin)
        attested = AAGUID_NONE + struct.pack(">H", len(credential.credential_id)) + credential.credential_id
        auth_data = self._auth_data(rp_id, user_verified, credential.sign_count, flags=AT) + attested + _cose_key(
            credential.private_key
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": credential.id,
            "rawId": credential.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["hybrid", "internal"],
                "publicKeyAlgorithm": -7,
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    # -- authentication (navigator.credentials.get) --------------------------------------------

    def authenticate(
        self,
        options: dict[str, Any],
        *,
        credential: StoredCredential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        user_verified: bool = True,
        challenge: str | None = None,
        sign_count: int | None = None,
    ) -> dict[str, Any]:
        """Sign ``options`` (PublicKeyCredentialRequestOptionsJSON) and return the
        AuthenticationResponseJSON. Without ``credential`` it picks the first passkey the options
        allow (or, with no allowCredentials, the first discoverable one for the RP ID)."""
        credential = credential or self.pick(options)
        rp_id = rp_id or options.get("rpId") or credential.rp_id
        if sign_count is None:
            credential.sign_count += self.counter_step
            sign_count = credential.sign_count
        client_data = _client_data("webauthn.get", challenge or options["challenge"], origin or self.origin)
        auth_data = self._auth_data(rp_id, user_verified, sign_count)
        signature = credential.private_key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": credential.id,
            "rawId": credential.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
                "userHandle": credential.user_handle,
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    def pick(self, options: dict[str, Any]) -> StoredCredential:
        allowed = {d["id"] for d in options.get("allowCredentials") or []}
        for credential in self.credentials:
            if credential.rp_id == options.get("rpId") and (not allowed or credential.id in allowed):
                return credential
        raise LookupError("this authenticator holds no passkey these options allow")

    def _auth_data(self, rp_id: str, user_verified: bool, sign_count: int, *, flags: int = 0) -> bytes:
        flags |= UP | (UV if user_verified else 0)
        if self.backed_up:
            flags |= BE | BS
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", sign_count)


def _client_data(kind: str, challenge: str, origin: str) -> bytes:
    return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()


def _cose_key(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    numbers = private_key.public_key().public_numbers()
    return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})


def other_challenge() -> str:
    """A well-formed challenge the server never issued."""
    return bytes_to_base64url(secrets.token_bytes(32))


def decode_client_data(response_json: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64url_to_bytes(response_json["response"]["clientDataJSON"]))
