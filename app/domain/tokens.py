"""Client and result tokens: short-lived HS256 JWTs bound to one tracked action.

The layout mirrors Authsignal's historic tokens (``sub``, ``scope``, ``other{tenantId, userId,
actionCode, idempotencyKey}``) so older SDK versions that peeked inside keep working. The audience
separates the two kinds: a *client* token lets a browser run a challenge; a *result* token proves
one was passed and is accepted by ``/validate`` once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import jwt

from app.domain.errors import InvalidRequest, Unauthorized
from app.domain.secretbox import derive_key

ALGORITHM = "HS256"


class TokenKind(StrEnum):
    CLIENT = "tollgate:client"
    RESULT = "tollgate:result"


class InvalidToken(InvalidRequest, code="invalid_token"):
    """Not a token Tollgate issued for this use: bad signature, wrong audience, malformed."""


class ExpiredToken(Unauthorized, code="expired_token"):
    """A token Tollgate issued, past its expiry. ``claims``: what it says (its signature holds), so a
    page can still name the tenant and the app to go back to; never a reason to accept it."""

    claims: TokenClaims | None = None


@dataclass(frozen=True)
class ActionRef:
    tenant_id: str
    user_id: str
    action_code: str
    idempotency_key: str


@dataclass(frozen=True)
class TokenClaims:
    kind: TokenKind
    action: ActionRef
    scope: tuple[str, ...]
    token_id: str
    issued_at: datetime
    expires_at: datetime


def derive_signing_key(secret_key: str) -> bytes:
    """A key used for tokens only, so the Flask session key is never exposed to JWT tooling."""
    return derive_key(secret_key, "token-signing")


def issue_token(
    action: ActionRef,
    *,
    kind: TokenKind,
    scope: tuple[str, ...],
    signing_key: bytes,
    issuer: str,
    now: datetime,
    ttl_seconds: int,
) -> str:
    issued = int(now.timestamp())
    payload = {
        "iss": issuer,
        "aud": kind.value,
        "sub": action.user_id,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": secrets.token_urlsafe(16),
        "scope": " ".join(scope),
        "other": {
            "tenantId": action.tenant_id,
            "userId": action.user_id,
            "actionCode": action.action_code,
            "idempotencyKey": action.idempotency_key,
        },
    }
    return jwt.encode(payload, signing_key, algorithm=ALGORITHM)


def read_token(
    token: str,
    *,
    kinds: tuple[TokenKind, ...],
    signing_key: bytes,
    issuer: str,
    now: datetime,
) -> TokenClaims:
    """Verify signature, issuer, audience and expiry (against ``now``) and return the claims."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise InvalidToken("The token is missing or malformed.")
    try:
        payload = jwt.decode(
            token,
            signing_key,
            algorithms=[ALGORITHM],
            audience=[k.value for k in kinds],
            issuer=issuer,
            # Time claims are checked below against the caller's clock, which tests can freeze.
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                     "require": ["exp", "iat", "aud", "iss", "sub", "jti"]},
        )
        other = payload["other"]
        claims = TokenClaims(
            kind=TokenKind(payload["aud"]),
            action=ActionRef(
                tenant_id=str(other["tenantId"]),
                user_id=str(other["userId"]),
                action_code=str(other["actionCode"]),
                idempotency_key=str(other["idempotencyKey"]),
            ),
            scope=tuple(str(payload.get("scope", "")).split()),
            token_id=str(payload["jti"]),
            issued_at=datetime.fromtimestamp(int(payload["iat"]), UTC),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        )
    except jwt.InvalidAudienceError as exc:
        raise InvalidToken("The token is not valid for this use.") from exc
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        raise InvalidToken("The token is invalid.") from exc
    if now >= claims.expires_at:
        expired = ExpiredToken("The token has expired.")
        expired.claims = claims
        raise expired
    return claims
