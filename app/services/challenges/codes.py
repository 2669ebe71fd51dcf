"""Code-based verification: authenticator apps (TOTP) and one-time recovery codes.

Both are guessable one code at a time, so both share one per-user budget of failed attempts
(challenges.attempts: a code takes its slot before it is checked), and both accept a code once: TOTP
by time-step (RFC 6238 §5.2), recovery codes by marking them used. Each acceptance is a conditional
UPDATE, so two concurrent requests cannot both win.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.config import Settings
from app.domain.decision import VerificationMethod
from app.domain.errors import Forbidden
from app.domain.recovery_codes import digest_code, generate_codes
from app.domain.secretbox import SecretBox, derive_key
from app.domain.totp import TotpSeed, new_seed, verify_code
from app.extensions import db
from app.models import Authenticator, RecoveryCode, Tenant
from app.models.prepared import PreparedStatement
from app.services.challenges.attempts import AttemptSlot, fail_slot, release_slot, take_attempt_slot
from app.services.challenges.sessions import ClientSession, complete_challenge
from app.services.delivery.events import emit_authenticator_created

FAILURE_INVALID = "CODE_INVALID_OR_EXPIRED"
FAILURE_LOCKED = "MAX_ATTEMPTS_EXCEEDED"

_APPS = select(Authenticator).where(Authenticator.end_user_id == bindparam("end_user_id"),
                                    Authenticator.verification_method == VerificationMethod.AUTHENTICATOR_APP)
# A right code's writes, inside its write section (attempts): prepared, with no ORM flush.
_apps = Authenticator.__table__
_CLAIM_STEP = PreparedStatement(
    _apps.update()
    .where(_apps.c.id == bindparam("authenticator_id"),
           or_(_apps.c.last_totp_step.is_(None), _apps.c.last_totp_step < bindparam("step")))
    .values(last_totp_step=bindparam("step"), last_verified_at=bindparam("used_at"))
)
_CONFIRM = PreparedStatement(
    _apps.update().where(_apps.c.id == bindparam("authenticator_id"), _apps.c.verified_at.is_(None))
    .values(verified_at=bindparam("confirmed_at"))
)


@dataclass(frozen=True)
class PendingEnrollment:
    authenticator: Authenticator
    uri: str
    secret: str


def start_totp_enrollment(session: ClientSession, *, settings: Settings, now: datetime) -> PendingEnrollment:
    """A new secret, confirmed later by a first code; an earlier unconfirmed one is replaced."""
    if not session.may_add_authenticator():
        raise Forbidden(
            "Adding an authenticator app needs a passed challenge and the add:authenticators scope.",
            code="insufficient_scope",
        )
    user = session.user
    db.session.execute(
        delete(Authenticator).where(
            Authenticator.end_user_id == user.id,
            Authenticator.verification_method == VerificationMethod.AUTHENTICATOR_APP,
            Authenticator.verified_at.is_(None),
        )
    )
    seed = new_seed()
    authenticator = Authenticator(
        end_user_id=user.id,
        verification_method=VerificationMethod.AUTHENTICATOR_APP,
        name="Authenticator app",
        otp_secret_ciphertext=SecretBox(settings.encryption_keys).encrypt(json.dumps(asdict(seed))),
        created_at=now,
    )
    db.session.add(authenticator)
    db.session.commit()
    return _pending(session, authenticator, seed)


def pending_totp_enrollment(session: ClientSession, *, settings: Settings) -> PendingEnrollment | None:
    """The enrolment waiting for its first code, to show its QR code again after a wrong code."""
    authenticator = db.session.execute(
        select(Authenticator).where(
            Authenticator.end_user_id == session.user.id,
            Authenticator.verification_method == VerificationMethod.AUTHENTICATOR_APP,
            Authenticator.verified_at.is_(None),
        )
    ).scalar_one_or_none()
    if authenticator is None:
        return None
    return _pending(session, authenticator, _seed(authenticator, SecretBox(settings.encryption_keys)))


def _pending(session: ClientSession, authenticator: Authenticator, seed: TotpSeed) -> PendingEnrollment:
    user = session.user
    issuer = db.session.get(Tenant, session.tenant_id).name
    account = user.email or user.username or user.user_id
    return PendingEnrollment(
        authenticator=authenticator, uri=seed.provisioning_uri(account=account, issuer=issuer), secret=seed.secret
    )


def _seed(authenticator: Authenticator, box: SecretBox) -> TotpSeed:
    return TotpSeed(**json.loads(box.decrypt(authenticator.otp_secret_ciphertext or "")))


@dataclass(frozen=True)
class CodeResult:
    is_verified: bool
    access_token: str | None = None
    failure_reason: str | None = None
    authenticator: Authenticator | None = None
    newly_enrolled: bool = False
    # The code's challenge is over (too many wrong codes) but the user is not locked out: a new code may help.
    challenge_ended: bool = False


def verify_totp(session: ClientSession, code: str, *, settings: Settings, now: datetime) -> CodeResult:
    """Check a code against the user's authenticator apps (including one awaiting confirmation)."""
    # The seeds are decrypted and the code matched before the slot is taken: on SQLite the slot's
    # INSERT takes the database's write lock, held to the commit, and every other writer waits that
    # long. The slot still decides whether a match counts, and a step claimed meanwhile by another
    # request loses the conditional UPDATE.
    matches = _matching_apps(session, code, settings=settings, now=now)
    slot = take_attempt_slot(session, VerificationMethod.AUTHENTICATOR_APP, now=now)
    if slot is None:
        return CodeResult(is_verified=False, failure_reason=FAILURE_LOCKED)
    for authenticator, step in matches:
        if not _claim_step(authenticator, step, now=now):
            continue
        release_slot(slot)
        newly_enrolled = authenticator.verified_at is None and _confirm_enrolment(authenticator, now=now)
        if newly_enrolled:
            emit_authenticator_created(authenticator, now=now)  # an app counts once its first code confirms it
        token = complete_challenge(session.action, verification_method=VerificationMethod.AUTHENTICATOR_APP,
                                   authenticator_id=authenticator.id, settings=settings, now=now)
        return CodeResult(is_verified=True, access_token=token, authenticator=authenticator, newly_enrolled=newly_enrolled)
    return _failed(session, slot, now=now)


def _matching_apps(session: ClientSession, code: str, *, settings: Settings, now: datetime) -> list[tuple[Authenticator, int]]:
    """The user's authenticator apps this code is right for, each with the time-step it belongs to."""
    box = SecretBox(settings.encryption_keys)
    apps = db.session.execute(_APPS, {"end_user_id": session.user.id}).scalars()
    matches = []
    for authenticator in apps:
        step = verify_code(_seed(authenticator, box), code, now=now, last_accepted_step=authenticator.last_totp_step)
        if step is not None:
            matches.append((authenticator, step))
    return matches


def _claim_step(authenticator: Authenticator, step: int, *, now: datetime) -> bool:
    claimed = _CLAIM_STEP.changed(db.session.connection(), {"authenticator_id": authenticator.id, "step": step,
                                                            "used_at": now}) == 1
    if claimed:
        set_committed_value(authenticator, "last_totp_step", step)
        set_committed_value(authenticator, "last_verified_at", now)
    return claimed


def _confirm_enrolment(authenticator: Authenticator, *, now: datetime) -> bool:
    """The app read unconfirmed before the slot was taken: of two first codes racing, one confirms it."""
    confirmed = _CONFIRM.changed(db.session.connection(), {"authenticator_id": authenticator.id,
                                                           "confirmed_at": now}) == 1
    if confirmed:
        set_committed_value(authenticator, "verified_at", now)
    return confirmed


def issue_recovery_codes(session: ClientSession, *, settings: Settings, now: datetime) -> list[str]:
    """Replace the user's recovery codes with ten new ones; the plain codes exist only in the answer."""
    codes = generate_codes()
    key = _code_key(settings)
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.end_user_id == session.user.id))
    db.session.add_all(
        RecoveryCode(end_user_id=session.user.id, code_digest=digest_code(code, key=key), created_at=now) for code in codes
    )
    db.session.commit()
    return codes


def has_recovery_codes(session: ClientSession) -> bool:
    return (
        db.session.execute(
            select(RecoveryCode.id).where(RecoveryCode.end_user_id == session.user.id, RecoveryCode.used_at.is_(None))
        ).first()
        is not None
    )


def verify_recovery_code(session: ClientSession, code: str, *, settings: Settings, now: datetime) -> CodeResult:
    slot = take_attempt_slot(session, VerificationMethod.RECOVERY_CODE, now=now)
    if slot is None:
        return CodeResult(is_verified=False, failure_reason=FAILURE_LOCKED)
    used = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.end_user_id == session.user.id,
            RecoveryCode.code_digest == digest_code(code, key=_code_key(settings)),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    ).rowcount
    if used != 1:
        return _failed(session, slot, now=now)
    release_slot(slot)
    token = complete_challenge(
        session.action, verification_method=VerificationMethod.RECOVERY_CODE, authenticator_id=None, settings=settings,
        now=now,
    )
    return CodeResult(is_verified=True, access_token=token)


def _failed(session: ClientSession, slot: AttemptSlot, *, now: datetime) -> CodeResult:
    locked = fail_slot(session, slot, now=now)
    return CodeResult(is_verified=False, failure_reason=FAILURE_LOCKED if locked else FAILURE_INVALID)


def _code_key(settings: Settings) -> bytes:
    return derive_key(settings.secret_key, "recovery-codes")
