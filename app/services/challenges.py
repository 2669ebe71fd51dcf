"""Finishing challenges and validating the tokens that prove them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from app.config import Settings
from app.domain.decision import ActionState, VerificationMethod
from app.domain.errors import Conflict
from app.domain.tokens import ExpiredToken, InvalidToken, TokenKind, derive_signing_key, issue_token, read_token
from app.extensions import db
from app.models import UserAction
from app.services.tracking import action_ref, change_action_state, get_action

# States whose result token /validate accepts.
SUCCESS_STATES = frozenset({ActionState.CHALLENGE_SUCCEEDED})


@dataclass(frozen=True)
class Validation:
    is_valid: bool
    action: UserAction | None
    error: str | None = None


def record_challenge_success(
    tenant_id: str,
    user_id: str,
    action_code: str,
    idempotency_key: str,
    *,
    verification_method: VerificationMethod,
    authenticator_id: str | None,
    settings: Settings,
    now: datetime,
) -> str:
    """Mark a pending challenge as passed and return the result token for ``/validate``."""
    action = get_action(tenant_id, user_id, action_code, idempotency_key)
    if action.state is not ActionState.CHALLENGE_REQUIRED:
        raise Conflict(f"The action is {action.state.value}, not awaiting a challenge.", code="action_not_pending")
    change_action_state(action, ActionState.CHALLENGE_SUCCEEDED, source="challenge", now=now)
    action.verification_method = verification_method
    action.verified_by_authenticator_id = authenticator_id
    db.session.commit()
    return issue_token(
        action_ref(action),
        kind=TokenKind.RESULT,
        scope=(),
        signing_key=derive_signing_key(settings.secret_key),
        issuer=settings.public_url,
        now=now,
        ttl_seconds=settings.result_token_ttl,
    )


def validate_challenge(
    tenant_id: str,
    token: str,
    *,
    user_id: str | None,
    action_code: str | None,
    settings: Settings,
    now: datetime,
) -> Validation:
    """``isValid`` is true once per result token, and only for a succeeded action.

    A client token (from track) is accepted too, so a backend can poll the state, but it is never
    valid: only the token handed over after a passed challenge proves anything.
    """
    try:
        claims = read_token(
            token,
            kinds=(TokenKind.CLIENT, TokenKind.RESULT),
            signing_key=derive_signing_key(settings.secret_key),
            issuer=settings.public_url,
            now=now,
        )
    except ExpiredToken as exc:
        return Validation(is_valid=False, action=None, error=exc.message)
    if claims.action.tenant_id != tenant_id:
        raise InvalidToken("The token is invalid.")
    action = db.session.execute(
        select(UserAction).where(
            UserAction.tenant_id == tenant_id, UserAction.idempotency_key == claims.action.idempotency_key
        )
    ).scalar_one_or_none()
    if action is None:
        return Validation(is_valid=False, action=None, error="The action no longer exists.")
    if (user_id and user_id != action.user_id) or (action_code and action_code != action.action_code):
        return Validation(is_valid=False, action=action, error="The token does not belong to this user or action.")
    if claims.kind is not TokenKind.RESULT or action.state not in SUCCESS_STATES:
        return Validation(is_valid=False, action=action)
    # One conditional UPDATE decides the race between two concurrent validations.
    consumed = db.session.execute(
        update(UserAction)
        .where(UserAction.id == action.id, UserAction.result_validated_at.is_(None))
        .values(result_validated_at=now)
    ).rowcount
    db.session.commit()
    if consumed != 1:
        return Validation(is_valid=False, action=action, error="The token has already been used.")
    return Validation(is_valid=True, action=action)
