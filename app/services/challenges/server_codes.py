"""Codes the integrator's backend sends and checks itself (server API ``challenge``, ``verify``,
``claim``, ``getChallenge``), for flows with no hosted page or browser SDK: a sign-up that verifies
an address before the user exists, or a step-up the backend runs in its own UI.

A server challenge is known by its id only; it names an action code and, once claimed for a user,
becomes (or completes) that user's action under the challenge's idempotency key, whose result token
/validate accepts once. Checking a code is one conditional UPDATE either way: a right code marks the
challenge verified only while nothing else did, a wrong one counts in the row itself, so the fifth
wrong code ends the challenge exactly, however many arrive at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints
from sqlalchemy import case, select, update

from app.config import Settings
from app.domain.decision import ActionState, VerificationMethod
from app.domain.documents import Short, WireModel
from app.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound
from app.domain.languages import first_supported
from app.domain.one_time_codes import code_matches
from app.extensions import db
from app.models import CodeChallenge, EndUser, UserAction
from app.services.challenges.code_destinations import (
    EMAIL_METHODS,
    channel_for,
    checked_destination,
    record_verified_destination,
)
from app.services.challenges.codes import FAILURE_INVALID, FAILURE_LOCKED
from app.services.challenges.sent_codes import MAX_WRONG_CODES, code_key, commit_and_send, resend, start
from app.services.challenges.sessions import COMPLETABLE_STATES, complete_challenge
from app.services.decisions.action_state import find_by_idempotency_key
from app.services.delivery import messages
from app.services.end_users.users import find_user, validate_user_id
from app.services.rulesets.rules import validate_action_code
from app.services.tenancy.records import flush_or_refuse
from app.services.tenancy.tenant_config import TenantConfig

SERVER = "server"
# What the server API sends: Authsignal's challenge takes the codes (WHATSAPP is also SMS with smsChannel
# WHATSAPP); EMAIL_MAGIC_LINK is Tollgate's own, confirmed on the link's page, then claimed.
KNOWN_METHODS = ("EMAIL_OTP", "SMS", "WHATSAPP", "EMAIL_MAGIC_LINK")


class ChallengeRequest(WireModel):
    """The body of ``challenge``. Its device and request fields (``ipAddress``, ``custom``...) are
    accepted and not kept: no rule decides a challenge the backend asked for itself."""

    verification_method: Short | None = None
    action: Short | None = None
    challenge_id: Short | None = None
    idempotency_key: Short | None = None
    user_id: Short | None = None
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    phone_number: Annotated[str, StringConstraints(max_length=32)] | None = None
    sms_channel: Short | None = None
    locale: Short | None = None  # the language of the message (a BCP 47 tag); English when not ours


@dataclass(frozen=True)
class Verification:
    is_verified: bool
    challenge: CodeChallenge
    failure_reason: str | None = None


@dataclass(frozen=True)
class Claimed:
    token: str
    verification_method: VerificationMethod


def start_challenge(config: TenantConfig, request: ChallengeRequest, *, settings: Settings,
                    now: datetime) -> CodeChallenge:
    """Send a code (or, given the challengeId of an open challenge, a new one: a resend)."""
    if request.challenge_id:
        challenge = _challenge(config.tenant_id, request.challenge_id)
        if challenge.verified_at or challenge.ended_at or challenge.expires_at <= now:
            raise Conflict("This challenge is over; start a new one.", code="challenge_not_pending")
        commit_and_send(resend(challenge, settings=settings, now=now), settings=settings, locale=first_supported(request.locale))
        return challenge
    method = _known_method(request.verification_method)
    action_code = validate_action_code(request.action or "")
    destination = checked_destination(method, request.email if method in EMAIL_METHODS else request.phone_number,
                                      settings=settings)
    channel = channel_for(method, request.sms_channel)
    messages.transport_for(channel, config.tenant_id, settings)  # refuse before anything is written
    user_id = validate_user_id(request.user_id) if request.user_id is not None else None
    idempotency_key = _checked_key(config.tenant_id, request.idempotency_key, user_id, action_code)
    challenge = CodeChallenge(
        tenant_id=config.tenant_id, end_user_id=_user(config.tenant_id, user_id, now=now).id if user_id else None,
        action_code=action_code, verification_method=method, destination=destination, channel=channel, origin=SERVER,
        idempotency_key=idempotency_key or secrets.token_hex(16),
    )
    commit_and_send(start(challenge, settings=settings, now=now), settings=settings, locale=first_supported(request.locale))
    return challenge


def verify(tenant_id: str, challenge_id: str, code: str, *, settings: Settings, now: datetime) -> Verification:
    challenge = _challenge(tenant_id, challenge_id)
    if challenge.verification_method is VerificationMethod.EMAIL_MAGIC_LINK:
        raise InvalidRequest("A magic link has no code: the person confirms it on the page it opens; "
                             "claimChallenge answers 409 challenge_not_verified until then.",
                             code="unsupported_verification_method")
    digest = challenge.code_digest
    if (challenge.verified_at is None and challenge.ended_at is None and challenge.expires_at > now
            and code_matches(code, digest, key=code_key(settings), context=challenge.id)):
        passed = db.session.execute(
            update(CodeChallenge)
            .where(CodeChallenge.id == challenge.id, CodeChallenge.code_digest == digest,
                   CodeChallenge.verified_at.is_(None), CodeChallenge.ended_at.is_(None))
            .values(verified_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if passed == 1:
            db.session.commit()
            db.session.refresh(challenge)
            return Verification(is_verified=True, challenge=challenge)
    # Wrong, expired or already used: a guess all the same, counted in the row while the challenge is open.
    counted = db.session.execute(
        update(CodeChallenge)
        .where(CodeChallenge.id == challenge.id, CodeChallenge.verified_at.is_(None),
               CodeChallenge.ended_at.is_(None), CodeChallenge.failed_attempts < MAX_WRONG_CODES)
        .values(failed_attempts=CodeChallenge.failed_attempts + 1,
                ended_at=case((CodeChallenge.failed_attempts + 1 >= MAX_WRONG_CODES, now), else_=None))
        .returning(CodeChallenge.ended_at)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    db.session.refresh(challenge)
    ended = counted[0].ended_at is not None if counted else challenge.ended_at is not None
    return Verification(is_verified=False, challenge=challenge, failure_reason=FAILURE_LOCKED if ended else FAILURE_INVALID)


def claim(config: TenantConfig, challenge_id: str, user_id: str, *, skip_verification_check: bool,
          settings: Settings, now: datetime) -> Claimed:
    """Hand a verified challenge to ``user_id``: their action under the challenge's idempotency key
    passes (a new one, or the tracked one the challenge named), and its result token comes back."""
    if skip_verification_check:
        raise InvalidRequest("skipVerificationCheck is not supported: only a verified challenge can be claimed.",
                             code="unsupported_option")
    validate_user_id(user_id)
    challenge = _challenge(config.tenant_id, challenge_id)
    known = find_user(config.tenant_id, user_id)
    if challenge.end_user_id is not None and (known is None or known.id != challenge.end_user_id):
        raise Forbidden("This challenge was started for another user.", code="user_mismatch")
    # One conditional UPDATE, before anything else is written: a challenge is claimed once, however
    # many claims arrive together (the others wait for its row, then find it claimed).
    claimed = db.session.execute(
        update(CodeChallenge)
        .where(CodeChallenge.id == challenge.id, CodeChallenge.verified_at.is_not(None),
               CodeChallenge.claimed_at.is_(None))
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        db.session.refresh(challenge)
        if challenge.verified_at is None:
            raise Conflict("The challenge has not been verified.", code="challenge_not_verified")
        raise Conflict("The challenge has already been claimed.", code="challenge_already_claimed")
    user = known or _user(config.tenant_id, user_id, now=now)
    action = find_by_idempotency_key(config.tenant_id, challenge.idempotency_key)
    if action is None:
        action = _new_action(config, challenge, user_id, now=now)
    elif action.user_id != user_id or action.action_code != challenge.action_code:
        db.session.rollback()
        raise Conflict("The challenge's idempotency key belongs to another user or action.", code="action_mismatch")
    record_verified_destination(user, challenge.verification_method, challenge.destination, now=now)
    db.session.execute(update(CodeChallenge).where(CodeChallenge.id == challenge.id)
                       .values(end_user_id=user.id, user_action_id=action.id)
                       .execution_options(synchronize_session=False))
    token = complete_challenge(action, verification_method=challenge.verification_method,
                               authenticator_id=challenge.authenticator_id, settings=settings, now=now)
    return Claimed(token=token, verification_method=challenge.verification_method)


def find_open_challenge(tenant_id: str, *, challenge_id: str | None, user_id: str | None, action_code: str | None,
                        verification_method: str | None, now: datetime) -> CodeChallenge | None:
    """The challenge still waiting for its code: by id, or the newest for a user (and action, method)."""
    if not challenge_id and not user_id:
        raise InvalidRequest("Give challengeId, or userId (with action and verificationMethod to narrow it).")
    if verification_method is not None and verification_method not in KNOWN_METHODS:
        raise InvalidRequest(f"verificationMethod must be one of {', '.join(KNOWN_METHODS)}.",
                             code="invalid_verification_method")
    query = select(CodeChallenge).where(
        CodeChallenge.tenant_id == tenant_id, CodeChallenge.origin == SERVER, CodeChallenge.verified_at.is_(None),
        CodeChallenge.ended_at.is_(None), CodeChallenge.expires_at > now)
    if challenge_id:
        query = query.where(CodeChallenge.id == challenge_id)
    if user_id:
        user = find_user(tenant_id, user_id)
        if user is None:
            return None
        query = query.where(CodeChallenge.end_user_id == user.id)
    if action_code:
        query = query.where(CodeChallenge.action_code == action_code)
    if verification_method:
        query = query.where(CodeChallenge.verification_method == VerificationMethod(verification_method))
    return db.session.execute(query.order_by(CodeChallenge.created_at.desc()).limit(1)).scalar_one_or_none()


def _known_method(name: str | None) -> VerificationMethod:
    if name not in KNOWN_METHODS:
        raise InvalidRequest(f"verificationMethod must be one of {', '.join(KNOWN_METHODS)}.",
                             code="invalid_verification_method")
    return VerificationMethod(name)


def _challenge(tenant_id: str, challenge_id: str) -> CodeChallenge:
    challenge = db.session.execute(
        select(CodeChallenge).where(CodeChallenge.id == challenge_id, CodeChallenge.tenant_id == tenant_id,
                                    CodeChallenge.origin == SERVER)
    ).scalar_one_or_none()
    if challenge is None:
        raise NotFound("The challenge was not found.", code="challenge_not_found")
    return challenge


def _checked_key(tenant_id: str, idempotency_key: str | None, user_id: str | None, action_code: str) -> str | None:
    """An idempotency key naming a tracked action must name a pending one, of this user and action."""
    if not idempotency_key:
        return None
    action = find_by_idempotency_key(tenant_id, idempotency_key)
    if action is None:
        return idempotency_key
    if action.action_code != action_code or (user_id is not None and action.user_id != user_id):
        raise Conflict("The idempotency key belongs to another user or action.", code="action_mismatch")
    if action.state not in COMPLETABLE_STATES:
        raise Conflict(f"The action is {action.state.value}; no code is sent for it.", code="action_not_pending")
    return idempotency_key


def _user(tenant_id: str, user_id: str, *, now: datetime) -> EndUser:
    user = find_user(tenant_id, user_id)
    if user is None:
        user = EndUser(tenant_id=tenant_id, user_id=user_id, custom={}, created_at=now, updated_at=now)
        db.session.add(user)
        # Another request (a track, another challenge) may create the same user a moment earlier.
        flush_or_refuse(Conflict("The user was being created by another request; try again.", code="user_conflict"))
    return user


def _new_action(config: TenantConfig, challenge: CodeChallenge, user_id: str, *, now: datetime) -> UserAction:
    """The action a claimed challenge stands for: required by the backend's own decision, as track records one."""
    policy = config.action(challenge.action_code)
    action = UserAction(
        tenant_id=config.tenant_id, action_configuration_id=policy.id if policy else None,
        action_code=challenge.action_code, user_id=user_id, idempotency_key=challenge.idempotency_key,
        state=ActionState.CHALLENGE_REQUIRED, initial_state=ActionState.CHALLENGE_REQUIRED, created_by="challenge",
        state_updated_at=now, created_at=now, updated_at=now,
        allowed_verification_methods=[challenge.verification_method.value], attributes={},
    )
    db.session.add(action)
    db.session.flush()
    return action
