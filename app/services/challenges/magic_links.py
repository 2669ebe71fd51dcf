"""Magic links (EMAIL_MAGIC_LINK): a link by email that, opened anywhere, passes the action's challenge.

A link is sent, resent and limited exactly as an email code is (``sent_codes`` with the method
EMAIL_MAGIC_LINK): its secret, 256 random bits, is kept only as a keyed digest bound to its
challenge, so to one action; it is good for TOLLGATE_CODE_TTL seconds and once, and a resend
replaces it. Opening the link shows a page; only its confirmation (a POST) passes the challenge, so
a mail scanner that fetches every link in a message passes nothing. The window that asked for the
link (the hosted page, or the browser SDK's ``checkVerificationStatus``) learns of the pass by
polling and carries on with a result token: the page the link opened never hands one out.

A link the server API sent (``challenge`` with EMAIL_MAGIC_LINK) has no action yet: its
confirmation only marks it verified, and the backend's ``claimChallenge`` (409 until then) makes it
the user's action, as for a code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import update

from app.config import Settings
from app.domain.decision import ActionState, VerificationMethod
from app.domain.one_time_codes import code_matches, split_link_token
from app.extensions import db
from app.models import CodeChallenge, EndUser, UserAction
from app.services.challenges.codes import FAILURE_INVALID, CodeResult
from app.services.challenges.sent_codes import code_key, newest_challenge, record_pass
from app.services.challenges.server_codes import SERVER
from app.services.challenges.sessions import COMPLETABLE_STATES, ClientSession, complete_challenge

EMAIL_MAGIC_LINK = VerificationMethod.EMAIL_MAGIC_LINK


class LinkState(StrEnum):
    """What opening a link finds; every state but OPEN is a final page."""

    OPEN = "open"  # good: the page asks to confirm
    INVALID = "invalid"  # not a link we sent, or replaced by a newer one
    USED = "used"
    EXPIRED = "expired"
    CLOSED = "closed"  # its action can no longer be completed (blocked, failed, in review)


@dataclass(frozen=True)
class OpenedLink:
    state: LinkState
    # Known whenever the link names a challenge of ours, so even a refusal shows the tenant's brand.
    challenge: CodeChallenge | None = None
    action: UserAction | None = None


def open_link(token: str, *, settings: Settings, now: datetime) -> OpenedLink:
    """What the link in an email is, read only: opening it changes nothing."""
    challenge_id, secret = split_link_token(token)
    challenge = db.session.get(CodeChallenge, challenge_id) if challenge_id else None
    from_server = challenge is not None and challenge.origin == SERVER
    if (challenge is None or challenge.verification_method is not EMAIL_MAGIC_LINK
            or (challenge.user_action_id is None and not from_server)):
        return OpenedLink(LinkState.INVALID)
    action = db.session.get(UserAction, challenge.user_action_id) if challenge.user_action_id else None
    if not code_matches(secret, challenge.code_digest, key=code_key(settings), context=challenge.id):
        return OpenedLink(LinkState.INVALID, challenge, action)
    if challenge.verified_at is not None:
        return OpenedLink(LinkState.USED, challenge, action)
    if challenge.ended_at is not None or challenge.expires_at <= now:
        return OpenedLink(LinkState.EXPIRED, challenge, action)
    if not from_server and (action is None or action.state not in COMPLETABLE_STATES):
        return OpenedLink(LinkState.CLOSED, challenge, action)
    return OpenedLink(LinkState.OPEN, challenge, action)


def confirm_link(token: str, *, settings: Settings, now: datetime) -> OpenedLink:
    """The person confirmed on the link's page: pass its challenge and complete its action, once.

    Answers what it found: OPEN when this confirmation passed the challenge, else the final state."""
    opened = open_link(token, settings=settings, now=now)
    if opened.state is not LinkState.OPEN:
        return opened
    challenge, action = opened.challenge, opened.action
    # One conditional UPDATE: two confirmations at once (a double click, two devices) pass it once,
    # and a resend that replaced the digest meanwhile wins over the old link.
    passed = db.session.execute(
        update(CodeChallenge)
        .where(CodeChallenge.id == challenge.id, CodeChallenge.code_digest == challenge.code_digest,
               CodeChallenge.verified_at.is_(None), CodeChallenge.ended_at.is_(None), CodeChallenge.expires_at > now)
        .values(verified_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if passed != 1:
        db.session.rollback()
        return open_link(token, settings=settings, now=now)
    db.session.refresh(challenge)
    if challenge.origin == SERVER:
        db.session.commit()  # verified: the backend's claim makes it an action
        return OpenedLink(LinkState.OPEN, challenge, None)
    db.session.refresh(action)  # as a request that finished meanwhile left it
    if action.state not in COMPLETABLE_STATES:
        db.session.rollback()
        return OpenedLink(LinkState.CLOSED, challenge, action)
    authenticator, _ = record_pass(challenge, db.session.get(EndUser, challenge.end_user_id), now=now)
    complete_challenge(action, verification_method=EMAIL_MAGIC_LINK,
                       authenticator_id=authenticator.id if authenticator else None, settings=settings, now=now)
    return OpenedLink(LinkState.OPEN, challenge, action)


def verification_status(session: ClientSession, *, settings: Settings, now: datetime) -> CodeResult:
    """Has the action's newest link been confirmed? Then a result token, as a code's verification
    returns (a new one each time it is asked: /validate accepts the action's result once all the same)."""
    challenge = newest_challenge(session, EMAIL_MAGIC_LINK)
    action = session.action
    passed = (challenge is not None and challenge.verified_at is not None
              and action.state is ActionState.CHALLENGE_SUCCEEDED)
    if not passed:
        over = challenge is not None and (challenge.ended_at is not None or challenge.expires_at <= now)
        return CodeResult(is_verified=False, failure_reason=FAILURE_INVALID if over else None)
    token = complete_challenge(action, verification_method=EMAIL_MAGIC_LINK, authenticator_id=None, settings=settings,
                               now=now)
    authenticator = challenge.authenticator
    newly_enrolled = authenticator is not None and authenticator.verified_at == challenge.verified_at
    return CodeResult(is_verified=True, access_token=token, authenticator=authenticator, newly_enrolled=newly_enrolled)
