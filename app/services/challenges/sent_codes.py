"""Codes sent to the user by email (EMAIL_OTP), SMS or WhatsApp: enrol an address or number, send a
code, resend it, check it. Magic links (EMAIL_MAGIC_LINK, ``magic_links``) are sent the same way, a
long secret for the code. What differs by method (checking, masking, recording the destination) is
``code_destinations``; what differs by channel (the transport) is the outbox's.

A code is six digits from ``secrets``, stored only as a keyed digest bound to its challenge, good
for TOLLGATE_CODE_TTL seconds and once. Checking one takes a slot of the user's wrong-code budget
first (``attempts``, shared with authenticator apps and recovery codes), under the lock that budget
holds on the user, so the challenge's own count of wrong codes is exact too: the fifth ends it.
Resending waits RESEND_COOLDOWN and stops after MAX_SENDS, each a conditional UPDATE.

Every use case commits once, then hands its message to the outbox's ``send_now``.

Past our usual size because enrolling, sending, resending, checking and the message all read and
write one challenge row under the same rules (its digest, cooldown, cap and count of wrong codes);
split, each rule would be written twice and drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import delete, select, update

from app.config import Settings
from app.domain.decision import VerificationMethod
from app.domain.errors import Conflict, Forbidden, InvalidRequest, TooManyRequests
from app.domain.one_time_codes import code_matches, digest_code, link_token, new_code, new_link_secret
from app.domain.secretbox import derive_key
from app.extensions import db
from app.models import Authenticator, CodeChallenge, EndUser, Tenant, UserAction
from app.services.challenges.attempts import fail_slot, release_slot, take_attempt_slot
from app.services.challenges.code_destinations import (
    EMAIL_METHODS,
    channel_for,
    checked_destination,
    destination_of,
    masked,
    record_verified_destination,
    set_destination,
)
from app.services.challenges.codes import FAILURE_INVALID, FAILURE_LOCKED, CodeResult
from app.services.challenges.sessions import COMPLETABLE_STATES, ClientSession, complete_challenge
from app.services.delivery import message_templates, messages
from app.services.delivery.events import emit_authenticator_created

MAX_WRONG_CODES = 5
RESEND_COOLDOWN = timedelta(seconds=30)
MAX_SENDS = 5  # the first code and four resends, per challenge

EMAIL_OTP = VerificationMethod.EMAIL_OTP
EMAIL_MAGIC_LINK = VerificationMethod.EMAIL_MAGIC_LINK
# What each method sends: the secret, and (below, commit_and_send) the message carrying it.
_NEW_SECRET = {EMAIL_OTP: new_code, EMAIL_MAGIC_LINK: new_link_secret, VerificationMethod.SMS: new_code,
               VerificationMethod.WHATSAPP: new_code}
_NAMES = {EMAIL_OTP: "Email", EMAIL_MAGIC_LINK: "Email", VerificationMethod.SMS: "Phone",
          VerificationMethod.WHATSAPP: "WhatsApp"}
# Where a magic link opens: the hosted page challenge.magic_link_show (no url_for in services).
MAGIC_LINK_PATH = "/challenge/email-magic-link"


@dataclass(frozen=True)
class SentCode:
    challenge_id: str
    masked_destination: str
    expires_at: datetime
    message_id: str


@dataclass(frozen=True)
class PendingCode:
    """A code on its way, as the hosted page shows it."""

    masked_destination: str
    resend_in_seconds: int
    can_resend: bool


def enroll(session: ClientSession, destination: str | None, *, method: VerificationMethod, settings: Settings,
           now: datetime, locale: str, client_ip: str | None = None) -> tuple[Authenticator, SentCode]:
    """A new address or number for the user, verified by the first code (or link) sent to it (which this
    sends). ``client_ip``: the browser's address, whose sends are limited."""
    if not session.may_add_authenticator():
        raise Forbidden(f"Adding {'an email address' if method in EMAIL_METHODS else 'a phone number'} needs a "
                        "passed challenge and the add:authenticators scope.", code="insufficient_scope")
    checked = checked_destination(method, destination, settings=settings)
    messages.transport_for(channel_for(method), session.tenant_id, settings)  # refuse before anything is written
    db.session.execute(delete(Authenticator).where(
        Authenticator.end_user_id == session.user.id, Authenticator.verification_method == method,
        Authenticator.verified_at.is_(None)))
    authenticator = Authenticator(end_user_id=session.user.id, verification_method=method, name=_NAMES[method],
                                  created_at=now)
    set_destination(authenticator, checked)
    db.session.add(authenticator)
    db.session.flush()
    sent = _new_challenge(session, authenticator, settings=settings, now=now)
    return authenticator, commit_and_send(sent, settings=settings, locale=locale, client_ip=client_ip)


def send_code(session: ClientSession, *, settings: Settings, now: datetime, locale: str,
              method: VerificationMethod = EMAIL_OTP, client_ip: str | None = None) -> SentCode:
    """Send a code (or link) to the user's address or number; one already on its way is replaced (a resend)."""
    if session.action.state not in COMPLETABLE_STATES:
        raise Conflict(f"The action is {session.action.state.value}; no code is sent for it.", code="action_not_pending")
    authenticator = _authenticator(session, method)
    if authenticator is None:
        raise InvalidRequest(f"This user has no {'email address' if method in EMAIL_METHODS else 'phone number'} "
                             "to send a code to.", code="authenticator_not_found")
    messages.transport_for(channel_for(method), session.tenant_id, settings)
    current = _open_challenge(session, method, now=now)
    if current is not None and current.destination == destination_of(authenticator):
        sent = resend(current, settings=settings, now=now)
    else:
        sent = _new_challenge(session, authenticator, settings=settings, now=now)
    return commit_and_send(sent, settings=settings, locale=locale, client_ip=client_ip)


def verify_code(session: ClientSession, code: str, *, settings: Settings, now: datetime,
                method: VerificationMethod = EMAIL_OTP) -> CodeResult:
    """Check a code against the action's newest challenge by ``method``."""
    challenge = newest_challenge(session, method)
    if challenge is None:
        return CodeResult(is_verified=False, failure_reason=FAILURE_INVALID)
    slot = take_attempt_slot(session, method, now=now)
    if slot is None:
        return CodeResult(is_verified=False, failure_reason=FAILURE_LOCKED)
    db.session.refresh(challenge)  # as the request that held the lock before left it
    if challenge.ended_at is not None:
        release_slot(slot)  # nothing is checked against an ended challenge
        db.session.commit()
        return CodeResult(is_verified=False, failure_reason=FAILURE_LOCKED, challenge_ended=True)
    right = (challenge.verified_at is None and challenge.expires_at > now
             and code_matches(code, challenge.code_digest, key=code_key(settings), context=challenge.id))
    if not right:
        challenge.failed_attempts += 1
        if challenge.failed_attempts >= MAX_WRONG_CODES:
            challenge.ended_at = now
        ended = challenge.ended_at is not None
        locked = fail_slot(session, slot, now=now)
        return CodeResult(is_verified=False, failure_reason=FAILURE_LOCKED if locked or ended else FAILURE_INVALID,
                          challenge_ended=ended and not locked)
    release_slot(slot)
    challenge.verified_at = now
    authenticator, newly_enrolled = record_pass(challenge, session.user, now=now)
    token = complete_challenge(session.action, verification_method=method,
                               authenticator_id=authenticator.id if authenticator else None, settings=settings, now=now)
    db.session.commit()
    return CodeResult(is_verified=True, access_token=token, authenticator=authenticator, newly_enrolled=newly_enrolled)


def record_pass(challenge: CodeChallenge, user: EndUser, *, now: datetime) -> tuple[Authenticator | None, bool]:
    """A passed challenge (marked verified by the caller) enrols its authenticator on its first pass
    and makes its destination the user's verified email (or phone number) when they had none. The
    caller commits. Returns the authenticator and whether this pass enrolled it."""
    authenticator, newly_enrolled = challenge.authenticator, False
    if authenticator is not None:
        if authenticator.verified_at is None:
            authenticator.verified_at, newly_enrolled = now, True
            emit_authenticator_created(authenticator, now=now)
        authenticator.last_verified_at = now
        record_verified_destination(user, challenge.verification_method, challenge.destination, now=now)
    return authenticator, newly_enrolled


def enrolled_address(session: ClientSession, method: VerificationMethod = EMAIL_OTP) -> str | None:
    """The masked address (or number) a code would go to, for the page to name before sending."""
    authenticator = _authenticator(session, method)
    destination = destination_of(authenticator) if authenticator is not None else None
    return masked(method, destination) if destination else None


def pending_code(session: ClientSession, *, now: datetime, method: VerificationMethod = EMAIL_OTP) -> PendingCode | None:
    """The code (or link) on its way for this action, if one is still good."""
    challenge = _open_challenge(session, method, now=now)
    if challenge is None:
        return None
    wait = _cooldown_left(challenge, now=now)
    return PendingCode(masked_destination=masked(method, challenge.destination), resend_in_seconds=wait,
                       can_resend=challenge.send_count < MAX_SENDS)


def _authenticator(session: ClientSession, method: VerificationMethod) -> Authenticator | None:
    """The user's authenticator by ``method``: a verified one (the default first), else one awaiting its first code."""
    found = [a for a in session.user.authenticators if a.verification_method is method and destination_of(a)]
    found.sort(key=lambda a: (a.verified_at is None, not a.is_default, a.created_at))
    return found[0] if found else None


def newest_challenge(session: ClientSession, method: VerificationMethod) -> CodeChallenge | None:
    """The action's last challenge by ``method``: the one its code (or link) is checked against."""
    return db.session.execute(
        select(CodeChallenge).where(CodeChallenge.user_action_id == session.action.id,
                                    CodeChallenge.verification_method == method)
        .order_by(CodeChallenge.created_at.desc()).limit(1)
    ).scalar_one_or_none()


def _open_challenge(session: ClientSession, method: VerificationMethod, *, now: datetime) -> CodeChallenge | None:
    challenge = newest_challenge(session, method)
    if challenge is None or challenge.verified_at or challenge.ended_at or challenge.expires_at <= now:
        return None
    return challenge


def _new_challenge(session: ClientSession, authenticator: Authenticator, *, settings: Settings,
                   now: datetime) -> tuple[CodeChallenge, str]:
    challenge = CodeChallenge(
        tenant_id=session.tenant_id, end_user_id=session.user.id, user_action_id=session.action.id,
        authenticator_id=authenticator.id, action_code=session.action.action_code,
        verification_method=authenticator.verification_method,
        destination=destination_of(authenticator), channel=channel_for(authenticator.verification_method),
    )
    return start(challenge, settings=settings, now=now)


def start(challenge: CodeChallenge, *, settings: Settings, now: datetime) -> tuple[CodeChallenge, str]:
    """A new challenge with its first code: stored (its id binds the digest), good for the TTL."""
    code = _NEW_SECRET[challenge.verification_method]()
    challenge.created_at = challenge.last_sent_at = now
    challenge.expires_at = now + timedelta(seconds=settings.code_ttl)
    challenge.send_count, challenge.failed_attempts = 1, 0
    db.session.add(challenge)
    db.session.flush()
    challenge.code_digest = digest_code(code, key=code_key(settings), context=challenge.id)
    return challenge, code


def resend(challenge: CodeChallenge, *, settings: Settings, now: datetime) -> tuple[CodeChallenge, str]:
    """A new code for an open challenge, within its cooldown and cap (else 429 with Retry-After)."""
    code = _NEW_SECRET[challenge.verification_method]()
    # One conditional UPDATE: two resends at once cannot both pass the cooldown or the cap.
    resent = db.session.execute(
        update(CodeChallenge)
        .where(CodeChallenge.id == challenge.id, CodeChallenge.last_sent_at <= now - RESEND_COOLDOWN,
               CodeChallenge.send_count < MAX_SENDS, CodeChallenge.verified_at.is_(None),
               CodeChallenge.ended_at.is_(None))
        .values(code_digest=digest_code(code, key=code_key(settings), context=challenge.id), last_sent_at=now,
                send_count=CodeChallenge.send_count + 1, expires_at=now + timedelta(seconds=settings.code_ttl))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(challenge)
    if resent != 1:
        db.session.rollback()
        if challenge.send_count >= MAX_SENDS:
            wait = max(1, math.ceil((challenge.expires_at - now).total_seconds()))
            raise TooManyRequests("No more codes can be sent for this request for now; use the last one sent.",
                                  retry_after=wait)
        raise TooManyRequests("A code was sent moments ago; wait before asking for another.",
                              retry_after=max(1, _cooldown_left(challenge, now=now)))
    return challenge, code


def _cooldown_left(challenge: CodeChallenge, *, now: datetime) -> int:
    return max(0, math.ceil((challenge.last_sent_at + RESEND_COOLDOWN - now).total_seconds()))


def commit_and_send(sent: tuple[CodeChallenge, str], *, settings: Settings, locale: str,
                    client_ip: str | None = None) -> SentCode:
    """Queue the message carrying the code (in ``locale``, a catalogue's language), commit it with its
    challenge, then try to send it. ``client_ip``: the browser's that asked (none for the server API)."""
    challenge, code = sent
    tenant = db.session.get(Tenant, challenge.tenant_id)
    minutes = max(1, settings.code_ttl // 60)
    looks = {"minutes": minutes, "tenant_name": tenant.name, "logo_url": tenant.logo_url,
             "action_code": challenge.action_code, "locale": locale}
    secret = {"code": code}
    if challenge.verification_method is EMAIL_MAGIC_LINK:
        secret = {"url": f"{settings.public_url}{MAGIC_LINK_PATH}?{urlencode({'link': link_token(challenge.id, code)})}"}
        content = message_templates.link_email(url=secret["url"], **looks)
    elif challenge.channel == messages.EMAIL:
        content = message_templates.code_email(code=code, **looks)
    else:
        content = message_templates.code_text(code=code, minutes=minutes, tenant_name=tenant.name, locale=locale)
    message = messages.queue_message(challenge.tenant_id, challenge.channel, challenge.destination, content,
                                     handoff=messages.Handoff(data=_handoff_data(challenge), secret=secret),
                                     code_challenge_id=challenge.id, settings=settings, now=challenge.last_sent_at,
                                     end_user_id=challenge.end_user_id, client_ip=client_ip)
    result = SentCode(challenge_id=challenge.id, masked_destination=masked(challenge.verification_method,
                                                                           challenge.destination),
                      expires_at=challenge.expires_at, message_id=message.id)
    db.session.commit()
    messages.send_now([message.id], settings=settings)
    return result


def _handoff_data(challenge: CodeChallenge) -> dict[str, str]:
    """What an email.created / sms.created event says besides the code, as Authsignal's does."""
    user = db.session.get(EndUser, challenge.end_user_id) if challenge.end_user_id else None
    action = db.session.get(UserAction, challenge.user_action_id) if challenge.user_action_id else None
    data = {"to": challenge.destination, "userId": user.user_id if user else None, "actionCode": challenge.action_code,
            "idempotencyKey": action.idempotency_key if action else challenge.idempotency_key,
            "verificationMethod": challenge.verification_method.value}
    return {key: value for key, value in data.items() if value is not None}


def code_key(settings: Settings) -> bytes:
    return derive_key(settings.secret_key, "sent-codes")


def purge_challenges(*, now: datetime, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete code challenges a day past their expiry: their codes are worthless, their addresses are not."""
    deleted = db.session.execute(
        CodeChallenge.__table__.delete().where(CodeChallenge.expires_at < now - older_than)).rowcount
    db.session.commit()
    return deleted
