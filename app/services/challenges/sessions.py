"""Challenge sessions: opening one from a token, finishing it, and validating the proof.

A *client session* is what a client token (from track) or an access token (handed out after a
passed challenge) opens: one tenant, one user, one tracked action, a scope. The hosted pages and
the client API both work through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from sqlalchemy import and_, bindparam, select, update

from app.config import Settings
from app.domain.decision import ActionState, VerificationMethod
from app.domain.errors import Conflict, Forbidden
from app.domain.tokens import (
    ExpiredToken,
    InvalidToken,
    TokenClaims,
    TokenKind,
    derive_signing_key,
    issue_token,
    read_token,
)
from app.extensions import db
from app.models import ActionConfiguration, Authenticator, EndUser, UserAction
from app.services.decisions.action_state import get_action, pass_challenge
from app.services.decisions.tracking import action_ref
from app.services.end_users.users import enrolled_verification_methods

# States whose result token /validate accepts (a review approval hands one out too: review_result_token).
SUCCESS_STATES = frozenset({ActionState.CHALLENGE_SUCCEEDED, ActionState.REVIEW_SUCCEEDED})
# States in which proving identity (or enrolling a first authenticator) completes the action.
COMPLETABLE_STATES = frozenset({ActionState.CHALLENGE_REQUIRED, ActionState.ALLOW, ActionState.CHALLENGE_SUCCEEDED})


@dataclass
class ClientSession:
    tenant_id: str
    action: UserAction
    user: EndUser
    scope: tuple[str, ...]

    @property
    def is_enrolled(self) -> bool:
        return bool(enrolled_verification_methods(self.user))

    def may_add_authenticator(self) -> bool:
        """A first authenticator needs only the token; more need a passed challenge and the scope.

        Either way the action must still be open: a blocked or reviewed action enrols nothing.
        """
        if self.action.state not in COMPLETABLE_STATES:
            return False
        if not self.is_enrolled:
            return True
        return "add:authenticators" in self.scope and self.action.state is ActionState.CHALLENGE_SUCCEEDED

    @cached_property
    def device_bound_passkey_required(self) -> bool:
        return device_bound_passkey_required(self.action)

    def user_has_passkey(self) -> bool:
        return any(a.passkey is not None for a in self.user.authenticators)

    def usable_passkeys(self) -> list[Authenticator]:
        """The user's verified passkeys this action accepts: device-bound ones only when it says so."""
        return [a for a in self.user.authenticators if a.passkey is not None and a.verified_at is not None
                and not (self.device_bound_passkey_required and a.passkey.backup_eligible)]

    def usable_methods(self, offered: Sequence[VerificationMethod]) -> list[VerificationMethod]:
        """Of the methods a surface can verify: enrolled, allowed for this action; the action's default first.
        Passkeys only when one of them is one the action accepts."""
        enrolled = set(enrolled_verification_methods(self.user))
        if VerificationMethod.PASSKEY.value in enrolled and not self.usable_passkeys():
            enrolled.discard(VerificationMethod.PASSKEY.value)
        usable = [m for m in self.enrollable_methods(offered) if m.value in enrolled]
        default = self.action.default_verification_method
        return sorted(usable, key=lambda m: m != default)

    def enrollable_methods(self, offered: Sequence[VerificationMethod]) -> list[VerificationMethod]:
        """Of the methods a surface can verify: those this action allows, in the surface's order."""
        allowed = set(self.action.allowed_verification_methods)
        return [m for m in offered if m.value in allowed]


def device_bound_passkey_required(action: UserAction) -> bool:
    """The action's "require a device-bound passkey" setting, read when a passkey is offered or verified."""
    return bool(db.session.execute(
        select(ActionConfiguration.require_device_bound_passkey).where(
            ActionConfiguration.tenant_id == action.tenant_id, ActionConfiguration.code == action.action_code)
    ).scalar_one_or_none())


def open_session(
    token: str,
    *,
    settings: Settings,
    now: datetime,
    kinds: tuple[TokenKind, ...] = (TokenKind.CLIENT, TokenKind.RESULT),
) -> ClientSession:
    """Resolve a client or access (result) token to its tenant, user and action, or refuse it."""
    claims = read_token(
        token,
        kinds=kinds,
        signing_key=derive_signing_key(settings.secret_key),
        issuer=settings.public_url,
        now=now,
    )
    return _session_of(claims)


def expired_session(claims: TokenClaims | None) -> ClientSession | None:
    """What an expired token (``ExpiredToken.claims``) was for, to brand the page that says it expired
    and offer the way back; ``None`` when that no longer exists. It opens nothing: no ceremony reads it."""
    if claims is None:
        return None
    try:
        return _session_of(claims)
    except InvalidToken:
        return None


def action_name(session: ClientSession) -> str:
    """What the hosted pages call the action: its display name in the console, else its code."""
    action = session.action
    name = db.session.execute(
        select(ActionConfiguration.name).where(ActionConfiguration.tenant_id == session.tenant_id,
                                               ActionConfiguration.code == action.action_code)
    ).scalar_one_or_none()
    return (name or "").strip() or action.action_code


# Every client API call and hosted page opens its session with this: one statement, built once.
_ACTION_AND_USER = (
    select(UserAction, EndUser)
    .outerjoin(EndUser, and_(EndUser.tenant_id == UserAction.tenant_id, EndUser.user_id == UserAction.user_id))
    .where(UserAction.tenant_id == bindparam("tenant_id"), UserAction.idempotency_key == bindparam("idempotency_key"))
)


def _session_of(claims: TokenClaims) -> ClientSession:
    ref = claims.action
    found = db.session.execute(
        _ACTION_AND_USER, {"tenant_id": ref.tenant_id, "idempotency_key": ref.idempotency_key}).one_or_none()
    action, user = found if found is not None else (None, None)
    if action is None or action.user_id != ref.user_id or action.action_code != ref.action_code:
        raise InvalidToken("The token no longer matches an action.")
    if user is None:
        raise InvalidToken("The user of this token no longer exists.")
    return ClientSession(tenant_id=ref.tenant_id, action=action, user=user, scope=claims.scope)


def complete_challenge(
    action: UserAction,
    *,
    verification_method: VerificationMethod,
    authenticator_id: str | None,
    settings: Settings,
    now: datetime,
) -> str:
    """Mark the action's challenge as passed, commit with whatever else the verification changed,
    and return its result token."""
    if action.state not in COMPLETABLE_STATES:
        raise Conflict(f"The action is {action.state.value}; it cannot be completed.", code="action_not_pending")
    if action.state is not ActionState.CHALLENGE_SUCCEEDED:
        pass_challenge(action, verification_method=verification_method, authenticator_id=authenticator_id, now=now)
    token = _result_token(action, settings=settings, now=now)
    db.session.commit()
    return token


def review_result_token(session: ClientSession, *, settings: Settings, now: datetime) -> str | None:
    """After a reviewer approved the action, the hosted page continues with a result token like a
    passed challenge's; None while the action is not approved or its result was already validated."""
    action = session.action
    if action.state is not ActionState.REVIEW_SUCCEEDED or action.result_validated_at is not None:
        return None
    return _result_token(action, settings=settings, now=now)


def _result_token(action: UserAction, *, settings: Settings, now: datetime) -> str:
    return issue_token(
        action_ref(action),
        kind=TokenKind.RESULT,
        scope=tuple(str(action.attributes.get("scope", "")).split()),
        signing_key=derive_signing_key(settings.secret_key),
        issuer=settings.public_url,
        now=now,
        ttl_seconds=settings.result_token_ttl,
    )


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
    """Complete a pending challenge known by its ids (tests and operators) and commit."""
    action = get_action(tenant_id, user_id, action_code, idempotency_key)
    if action.state is not ActionState.CHALLENGE_REQUIRED:
        raise Conflict(f"The action is {action.state.value}, not awaiting a challenge.", code="action_not_pending")
    return complete_challenge(
        action, verification_method=verification_method, authenticator_id=authenticator_id, settings=settings, now=now
    )


def require_scope(session: ClientSession, scope: str) -> None:
    if scope not in session.scope:
        raise Forbidden(f"The token lacks the '{scope}' scope.", code="insufficient_scope")


@dataclass(frozen=True)
class Validation:
    is_valid: bool
    action: UserAction | None
    error: str | None = None


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
