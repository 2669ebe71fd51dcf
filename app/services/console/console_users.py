"""Console users: passwords (argon2id), sign-in with lock-out, invitations and disabling."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, func, or_, select, update

from app.config import MIN_PASSWORD_LENGTH, Settings
from app.domain.errors import Conflict, DomainError, InvalidRequest, NotFound
from app.extensions import db
from app.models import ConsoleUser
from app.models.console import ROLES
from app.services.end_users.users import validate_email
from app.services.limits import address_failures
from app.services.tenancy.audit import record_change
from app.services.tenancy.listing import ListQuery, Page, paged
from app.services.tenancy.records import flush_or_refuse

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
_STANDARD = PasswordHasher()  # argon2id with the library's (RFC 9106) recommended cost
_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# Verified against when the email is unknown, so a wrong email costs as much time as a wrong password.
_DUMMY_HASHES = {hasher: hasher.hash(secrets.token_urlsafe(16)) for hasher in (_STANDARD, _FAST)}


def _hasher(settings: Settings) -> PasswordHasher:
    return _FAST if settings.fast_password_hashing else _STANDARD


def validate_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.", code="weak_password")
    if len(password) > 1024:
        raise InvalidRequest("The password is too long.", code="weak_password")
    return password


def find_console_user(email: str) -> ConsoleUser | None:
    return db.session.execute(
        select(ConsoleUser).where(func.lower(ConsoleUser.email) == (email or "").strip().lower())
    ).scalar_one_or_none()


def create_console_user(
    tenant_id: str,
    *,
    email: str,
    password: str,
    role: str,
    settings: Settings,
    name: str = "",
    actor: ConsoleUser | None = None,
    temporary: bool = False,
) -> ConsoleUser:
    """``temporary``: someone else knows the password, so it only lets the user choose their own."""
    email = (email or "").strip().lower()
    validate_email(email)
    validate_password(password)
    if role not in ROLES:
        raise InvalidRequest(f"The role must be one of {', '.join(ROLES)}.", code="invalid_role")
    user = ConsoleUser(tenant_id=tenant_id, email=email, name=name.strip()[:120], role=role,
                       password_hash=_hasher(settings).hash(password), must_change_password=temporary)
    db.session.add(user)
    flush_or_refuse(Conflict(f"A console user {email} already exists.", code="console_user_exists"))
    if actor is not None:
        record_change(actor, "console_user.invited", user.id, "console_user",
                      after={"email": email, "name": user.name, "role": role})
    db.session.commit()
    return user


@dataclass(frozen=True)
class Invitation:
    user: ConsoleUser
    password: str  # generated; shown once to the inviting admin, never stored or audited


def invite_console_user(actor: ConsoleUser, *, email: str, name: str, role: str, settings: Settings) -> Invitation:
    """An admin adds a colleague with a generated first password (Tollgate sends no email)."""
    password = secrets.token_urlsafe(18)
    user = create_console_user(actor.tenant_id, email=email, password=password, role=role, settings=settings,
                               name=name, actor=actor, temporary=True)
    return Invitation(user=user, password=password)


class InvalidPasswordChange(DomainError, code="invalid_password_change"):
    """``fields`` maps each form field to what is wrong with it."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(" ".join(fields.values()))
        self.fields = fields


def change_password(user: ConsoleUser, *, current: str, new: str, settings: Settings, now: datetime) -> None:
    """The user's own change; every other session of theirs ends (the caller signs this one in again)."""
    hasher = _hasher(settings)
    problems = {}
    if not _verify(hasher, user.password_hash, current):
        problems["current_password"] = "This is not your current password."
    try:
        validate_password(new)
    except InvalidRequest as exc:
        problems["new_password"] = exc.message
    if not problems and _verify(hasher, user.password_hash, new):
        problems["new_password"] = "Choose a password different from the current one."
    if problems:
        raise InvalidPasswordChange(problems)
    user.password_hash = hasher.hash(new)
    user.must_change_password = False
    user.session_epoch += 1
    record_change(user, "console_user.password_changed", user.id, "console_user", now=now)
    db.session.commit()



def reset_password(email: str, password: str, *, settings: Settings, temporary: bool = False) -> ConsoleUser:
    """Set a new password (CLI, provisioning); every existing session of the user ends.

    ``temporary`` as for :func:`create_console_user`; without it, the operator's password stands."""
    user = find_console_user(email)
    if user is None:
        raise NotFound(f"No console user {email}.")
    user.password_hash = _hasher(settings).hash(validate_password(password))
    user.must_change_password = temporary
    user.session_epoch += 1
    user.failed_logins, user.locked_until = 0, None
    db.session.commit()
    return user


@dataclass(frozen=True)
class SignIn:
    user: ConsoleUser | None
    error: str | None = None


NOT_RIGHT = "The email or password is not right."
LOCKED = "Too many failed sign-ins. Try again in a few minutes."


def check_password(email: str, password: str, *, client_ip: str | None, settings: Settings, now: datetime) -> SignIn:
    """Verify email and password; five failures lock the account for 15 minutes. Commits.

    Too many failures from one client address (over all accounts) raise TooManyRequests before any
    hashing: argon2's ~140 ms must not be free to spend for someone guessing.

    Both limits hold for guesses sent at once: before hashing, the attempt takes its place in each
    (a failure of the address, a try of the account) and commits them, so parallel guesses count
    each other; the hash runs outside any transaction (SQLite's write lock is database-wide, and
    would stall every writer for it); a second short transaction settles the places."""
    hasher = _hasher(settings)
    failure = address_failures.take_failure(address_failures.SIGN_IN, client_ip,
                                            allowed=settings.sign_in_failures_per_address, now=now)
    user = find_console_user(email)
    if user is None:
        db.session.commit()
        _verify(hasher, _DUMMY_HASHES[hasher], password)
        return SignIn(user=None, error=NOT_RIGHT)
    tries = _take_try(user, now=now)
    if tries is None:
        db.session.rollback()  # refused unhashed: no failure of the address either
        return SignIn(user=None, error=LOCKED)
    db.session.commit()
    if not _verify(hasher, user.password_hash, password):
        if tries >= MAX_FAILED_LOGINS:
            _settle_tries(user, failed_logins=0, locked_until=now + LOCKOUT)
            db.session.commit()
        return SignIn(user=None, error=NOT_RIGHT)
    address_failures.forgive(failure)
    if not user.is_active:
        # This try was no failure. (A lock since it was taken has set the count to 0 already.)
        _settle_tries(user, failed_logins=case((ConsoleUser.failed_logins > 0, ConsoleUser.failed_logins - 1), else_=0))
        db.session.commit()
        return SignIn(user=None, error="This account is disabled.")
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    _settle_tries(user, failed_logins=0, locked_until=None)
    db.session.commit()
    return SignIn(user=user)


def _take_try(user: ConsoleUser, *, now: datetime) -> int | None:
    """The account's next try (its count of failures, this one included), or None when it has none
    left: it is locked, or its last tries are being checked right now.

    One conditional UPDATE: PostgreSQL re-checks the condition on the row as a concurrent taker
    left it, SQLite runs it under the write lock, so two takers never get the same try."""
    return db.session.execute(
        update(ConsoleUser)
        .where(ConsoleUser.id == user.id, ConsoleUser.failed_logins < MAX_FAILED_LOGINS,
               or_(ConsoleUser.locked_until.is_(None), ConsoleUser.locked_until <= now))
        .values(failed_logins=ConsoleUser.failed_logins + 1)
        .returning(ConsoleUser.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()


def _settle_tries(user: ConsoleUser, **values) -> None:
    """Written as statements, not through ``user``: its copy was read before concurrent takers
    changed the row."""
    db.session.execute(update(ConsoleUser).where(ConsoleUser.id == user.id).values(**values)
                       .execution_options(synchronize_session=False))


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def start_session(user: ConsoleUser, *, now: datetime) -> None:
    """A new epoch makes every earlier session cookie of this user worthless (session rotation):
    a user has one live session at a time, and ``last_login_at`` is when it began."""
    user.session_epoch += 1
    user.last_login_at = now
    db.session.commit()


def end_session(user: ConsoleUser) -> None:
    """Sign-out: the cookie, and any copy of it, stops working now rather than when the browser
    forgets it. Since only the latest sign-in's session is live, this ends that one and no other."""
    user.session_epoch += 1
    db.session.commit()


def load_session_user(session_id: str) -> ConsoleUser | None:
    user_id, _, epoch = (session_id or "").partition(":")
    user = db.session.get(ConsoleUser, user_id) if user_id else None
    if user is None or not user.is_active or str(user.session_epoch) != epoch:
        return None
    return user


def set_disabled(actor: ConsoleUser, user_id: str, *, disabled: bool, now: datetime) -> ConsoleUser:
    user = db.session.get(ConsoleUser, user_id)
    if user is None or user.tenant_id != actor.tenant_id:
        raise NotFound("No such console user.")
    if user.id == actor.id:
        raise InvalidRequest("You cannot disable yourself.", code="cannot_disable_self")
    before = {"email": user.email, "disabled": user.disabled_at is not None}
    user.disabled_at = now if disabled else None
    user.session_epoch += 1
    record_change(actor, "console_user.disabled" if disabled else "console_user.enabled", user.id, "console_user",
                  before=before, after={"email": user.email, "disabled": disabled}, now=now)
    db.session.commit()
    return user


def list_console_users(tenant_id: str, wanted: ListQuery = ListQuery()) -> Page[ConsoleUser]:
    """By email; searched by email and name."""
    return paged(select(ConsoleUser).where(ConsoleUser.tenant_id == tenant_id), wanted,
                 search=(ConsoleUser.email, ConsoleUser.name), order_by=(ConsoleUser.email, ConsoleUser.id))
