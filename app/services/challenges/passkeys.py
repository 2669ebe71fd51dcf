"""Passkey ceremonies: registration and sign-in, with challenges kept server-side and used once.

Both ceremonies share the challenge's whole life (issue, rate-limit the anonymous ones, consume
once, prune), which is why they stay in one module past our usual size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from app.config import Settings
from app.domain.client_address import limited_address
from app.domain.decision import ActionState, VerificationMethod
from app.domain.errors import Conflict, Forbidden, InvalidRequest, TooManyRequests
from app.domain.passkey import (
    InvalidCredential,
    KnownCredential,
    RelyingParty,
    SignCountRegressed,
    SyncedPasskeyRefused,
    authentication_ceremony,
    credential_id_of,
    new_user_handle,
    registration_ceremony,
    require_device_bound,
    user_handle_of,
    verify_assertion,
    verify_registration,
)
from app.extensions import db
from app.models import Authenticator, EndUser, PasskeyCredential, UserAction, WebAuthnChallenge
from app.services.challenges.sessions import ClientSession, complete_challenge, device_bound_passkey_required
from app.services.decisions.action_state import get_action
from app.services.decisions.tracking import TrackAttributes, track_action
from app.services.delivery.events import emit_authenticator_created
from app.services.limits import slots
from app.services.rulesets.rules import validate_action_code
from app.services.tenancy.records import flush_or_refuse

CHALLENGE_LIFETIME = timedelta(minutes=5)
ANONYMOUS_WINDOW = timedelta(minutes=1)
# The action recorded for a usernameless sign-in started without an action code.
DEFAULT_SIGN_IN_ACTION = "sign-in"


class InvalidChallenge(InvalidRequest, code="invalid_challenge"):
    """A passkey challenge that cannot be answered: missing, unknown, used, expired or issued for another user or action."""


def relying_party(settings: Settings) -> RelyingParty:
    return RelyingParty(rp_id=settings.webauthn_rp_id, name=settings.webauthn_rp_name, origins=settings.webauthn_origins)


def _known(authenticators: list[Authenticator]) -> list[KnownCredential]:
    return [
        KnownCredential(credential_id=a.passkey.credential_id, transports=tuple(a.passkey.transports or ()))
        for a in authenticators
        if a.passkey is not None
    ]


@dataclass(frozen=True)
class Options:
    challenge_id: str
    options: dict[str, Any]


def start_registration(
    session: ClientSession, *, username: str | None, attachment: str | None, settings: Settings, now: datetime
) -> Options:
    if not session.may_add_authenticator():
        raise Forbidden(
            "Adding a passkey needs a passed challenge and the add:authenticators scope.", code="insufficient_scope"
        )
    user = session.user
    if user.webauthn_user_handle is None:
        user.webauthn_user_handle = new_user_handle()
    name = username or user.username or user.email or user.user_id
    ceremony = registration_ceremony(
        relying_party(settings),
        user_handle=user.webauthn_user_handle,
        user_name=name,
        display_name=user.display_name or name,
        existing=_known(user.authenticators),
        attachment=attachment,
    )
    challenge = WebAuthnChallenge(
        tenant_id=session.tenant_id,
        purpose="registration",
        end_user_id=user.id,
        user_action_id=session.action.id,
        challenge=ceremony.challenge,
        created_at=now,
        expires_at=now + CHALLENGE_LIFETIME,
    )
    db.session.add(challenge)
    db.session.commit()
    return Options(challenge_id=challenge.id, options=ceremony.options)


@dataclass(frozen=True)
class Registered:
    authenticator: Authenticator
    access_token: str


def finish_registration(
    session: ClientSession, *, challenge_id: str | None, credential: Any, name: str | None, settings: Settings, now: datetime
) -> Registered:
    challenge = consume_challenge(challenge_id, tenant_id=session.tenant_id, purposes=("registration",), now=now)
    if challenge.end_user_id != session.user.id or challenge.user_action_id != session.action.id:
        raise InvalidChallenge("This challenge was issued for another user or action.")
    new = verify_registration(relying_party(settings), credential, expected_challenge=challenge.challenge or "")
    require_device_bound(backup_eligible=new.backup_eligible, device_bound_required=session.device_bound_passkey_required)
    authenticator = Authenticator(
        verification_method=VerificationMethod.PASSKEY,
        name=(name or "Passkey")[:120],
        created_at=now,
        verified_at=now,
        last_verified_at=now,
    )
    authenticator.passkey = PasskeyCredential(**asdict(new))  # the row keeps all that verification yields
    session.user.authenticators.append(authenticator)
    flush_or_refuse(Conflict("This passkey is already registered.", code="credential_exists"))
    emit_authenticator_created(authenticator, now=now)
    token = complete_challenge(session.action, verification_method=VerificationMethod.PASSKEY,
                               authenticator_id=authenticator.id, settings=settings, now=now)
    return Registered(authenticator=authenticator, access_token=token)


def start_sign_in(tenant_id: str, *, action_code: str | None, client_ip: str | None, settings: Settings,
                  now: datetime) -> str:
    """``/client/challenge``: reserve a challenge id for a usernameless sign-in to an action."""
    if action_code is not None:
        validate_action_code(action_code)
    challenge = WebAuthnChallenge(
        tenant_id=tenant_id, purpose="sign-in", action_code=action_code, created_at=now,
        expires_at=now + CHALLENGE_LIFETIME, client_ip=client_ip,
    )
    _add_challenge(challenge, settings=settings, now=now)
    db.session.commit()
    return challenge.id


def start_authentication(
    tenant_id: str,
    *,
    session: ClientSession | None,
    challenge_id: str | None,
    client_ip: str | None,
    settings: Settings,
    now: datetime,
) -> Options:
    """With a session: the user's own passkeys only. Without: any discoverable passkey."""
    rp = relying_party(settings)
    if session is not None:
        if not _known(session.user.authenticators):
            raise InvalidRequest("This user has no passkey.", code="no_passkey")
        known = _known(session.usable_passkeys())
        if not known:
            raise SyncedPasskeyRefused(
                "This action needs a passkey that stays on one device or security key, and every passkey of this "
                "user can sync to other devices. Use another way to verify."
            )
        ceremony = authentication_ceremony(rp, allowed=known)
        challenge = WebAuthnChallenge(
            tenant_id=tenant_id, purpose="authentication", end_user_id=session.user.id, user_action_id=session.action.id
        )
    else:
        ceremony = authentication_ceremony(rp, allowed=None)
        challenge = _pending_sign_in(challenge_id, tenant_id=tenant_id, now=now)
        if challenge is None:
            challenge = WebAuthnChallenge(tenant_id=tenant_id, purpose="sign-in", client_ip=client_ip)
    challenge.challenge = ceremony.challenge
    challenge.created_at = now
    challenge.expires_at = now + CHALLENGE_LIFETIME
    if challenge.id is None:
        _add_challenge(challenge, settings=settings, now=now)
    db.session.commit()
    return Options(challenge_id=challenge.id, options=ceremony.options)


def _add_challenge(challenge: WebAuthnChallenge, *, settings: Settings, now: datetime) -> None:
    """A new challenge. An anonymous one (it keeps the client address) takes its place among its
    address's of the last minute (limits.slots), or raises TooManyRequests: tenant ids are public,
    so anyone can start usernameless sign-ins, and the cap (over all tenants) keeps anyone from
    filling the table or flooding a tenant's users."""
    if challenge.client_ip is None:
        db.session.add(challenge)
        return
    challenge.client_ip = limited_address(challenge.client_ip)  # what is counted is all that is kept
    slots.serialise(f"anonymous_challenge:{challenge.client_ip}")
    window = select(func.count()).select_from(WebAuthnChallenge).where(
        WebAuthnChallenge.client_ip == challenge.client_ip, WebAuthnChallenge.created_at > now - ANONYMOUS_WINDOW)
    if slots.take_place(challenge, window, limit=settings.anonymous_challenges_per_minute) is None:
        raise TooManyRequests(
            "Too many sign-in challenges from this address; try again in a minute.",
            retry_after=int(ANONYMOUS_WINDOW.total_seconds()),
        )


def _pending_sign_in(challenge_id: str | None, *, tenant_id: str, now: datetime) -> WebAuthnChallenge | None:
    if not challenge_id:
        return None
    challenge = db.session.execute(
        select(WebAuthnChallenge).where(
            WebAuthnChallenge.id == challenge_id,
            WebAuthnChallenge.tenant_id == tenant_id,
            WebAuthnChallenge.purpose == "sign-in",
            WebAuthnChallenge.challenge.is_(None),
            WebAuthnChallenge.consumed_at.is_(None),
            WebAuthnChallenge.expires_at > now,
        )
    ).scalar_one_or_none()
    if challenge is None:
        raise InvalidChallenge("The challenge is unknown, expired or already used.")
    return challenge


@dataclass(frozen=True)
class Authenticated:
    user: EndUser
    authenticator: Authenticator
    action: UserAction
    access_token: str


def finish_authentication(
    tenant_id: str,
    *,
    session: ClientSession | None,
    challenge_id: str | None,
    credential: Any,
    device_id: str | None,
    settings: Settings,
    now: datetime,
) -> Authenticated:
    challenge = consume_challenge(challenge_id, tenant_id=tenant_id, purposes=("authentication", "sign-in"), now=now)
    passkey = db.session.execute(
        select(PasskeyCredential)
        .join(Authenticator)
        .join(EndUser)
        .where(PasskeyCredential.credential_id == credential_id_of(credential), EndUser.tenant_id == tenant_id)
    ).scalar_one_or_none()
    if passkey is None:
        raise InvalidCredential("This passkey is not registered here.")
    authenticator = passkey.authenticator
    user = authenticator.user
    if session is not None:
        if challenge.purpose != "authentication" or challenge.user_action_id != session.action.id:
            raise InvalidChallenge("This challenge was issued for another action.")
        if challenge.end_user_id != session.user.id or user.id != session.user.id:
            raise InvalidCredential("This passkey does not belong to the user being verified.")
    else:
        if challenge.purpose != "sign-in":
            raise InvalidChallenge("This challenge needs the user's token.")
        handle = user_handle_of(credential)
        if handle is not None and handle != user.webauthn_user_handle:
            raise InvalidCredential("The passkey's user handle does not match its owner.")
    try:
        verified = verify_assertion(
            relying_party(settings),
            credential,
            expected_challenge=challenge.challenge or "",
            public_key=passkey.public_key,
            stored_sign_count=passkey.sign_count,
        )
    except SignCountRegressed:
        passkey.sign_count_regressed_at = now
        db.session.commit()
        raise
    passkey.sign_count = verified.new_sign_count
    passkey.backup_state = verified.backup_state
    authenticator.last_verified_at = now
    if session is not None:
        action, device_bound_required = session.action, session.device_bound_passkey_required
    else:
        action = _sign_in_action(user, challenge, device_id, settings=settings, now=now)
        device_bound_required = device_bound_passkey_required(action)
    # After the signature check, so that the refusal says something true about a real passkey.
    require_device_bound(backup_eligible=passkey.backup_eligible, device_bound_required=device_bound_required)
    token = complete_challenge(
        action, verification_method=VerificationMethod.PASSKEY, authenticator_id=authenticator.id, settings=settings, now=now
    )
    return Authenticated(user=user, authenticator=authenticator, action=action, access_token=token)


def _sign_in_action(
    user: EndUser, challenge: WebAuthnChallenge, device_id: str | None, *, settings: Settings, now: datetime
) -> UserAction:
    """A usernameless sign-in has no tracked action yet: track one now that the user is known.

    The action's rules still apply: a BLOCK or REVIEW decision stands, and the passkey only
    completes an action that was waiting for (or did not need) a challenge.
    """
    action_code = challenge.action_code or DEFAULT_SIGN_IN_ACTION
    tracked = track_action(
        user.tenant_id,
        user.user_id,
        action_code,
        TrackAttributes(device_id=(device_id or None) and device_id[:255]),
        settings=settings,
        now=now,
    ).action
    if tracked.state not in (ActionState.ALLOW, ActionState.CHALLENGE_REQUIRED):
        raise Forbidden(f"The sign-in was refused: the action is {tracked.state.value}.", code="action_refused")
    # track_action answers with a snapshot; completing the challenge needs the stored row.
    return get_action(user.tenant_id, user.user_id, action_code, tracked.idempotency_key)


def consume_challenge(challenge_id: str | None, *, tenant_id: str, purposes: tuple[str, ...], now: datetime) -> WebAuthnChallenge:
    """Use a challenge up, committed at once so that even a failed ceremony cannot be replayed."""
    if not challenge_id or not isinstance(challenge_id, str):
        raise InvalidChallenge("challengeId is required.")
    consumed = db.session.execute(
        update(WebAuthnChallenge)
        .where(
            WebAuthnChallenge.id == challenge_id,
            WebAuthnChallenge.tenant_id == tenant_id,
            WebAuthnChallenge.purpose.in_(purposes),
            WebAuthnChallenge.challenge.is_not(None),
            WebAuthnChallenge.consumed_at.is_(None),
            WebAuthnChallenge.expires_at > now,
        )
        .values(consumed_at=now)
    ).rowcount
    db.session.commit()
    if consumed != 1:
        raise InvalidChallenge("The challenge is unknown, expired or already used.")
    return db.session.get(WebAuthnChallenge, challenge_id)


def purge_challenges(*, now: datetime, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete WebAuthn challenges long past their expiry (used or not): they prove nothing any more,
    and usernameless sign-in lets anyone who knows a tenant id create them."""
    deleted = db.session.execute(
        WebAuthnChallenge.__table__.delete().where(WebAuthnChallenge.expires_at < now - older_than)
    ).rowcount
    db.session.commit()
    return deleted


def passkeys_exist(tenant_id: str, credential_ids: list[str]) -> bool:
    if not credential_ids:
        return False
    found = db.session.execute(
        select(PasskeyCredential.authenticator_id)
        .join(Authenticator)
        .join(EndUser)
        .where(PasskeyCredential.credential_id.in_(credential_ids[:50]), EndUser.tenant_id == tenant_id)
        .limit(1)
    ).first()
    return found is not None
