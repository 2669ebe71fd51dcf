"""End users as the server API sees them: read, upsert, delete, search."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, or_, select

from app.domain.errors import InvalidRequest
from app.domain.phone_numbers import parse_phone_number
from app.extensions import db
from app.models import EndUser

if TYPE_CHECKING:
    from app.domain.context import TrackedUser

MAX_USER_ID_LENGTH = 255
MAX_QUERY_LIMIT = 100
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
USER_FIELDS = ("email", "email_verified", "phone_number", "phone_number_verified", "username", "display_name", "custom", "locale")


def validate_user_id(user_id: str) -> str:
    if not user_id or len(user_id) > MAX_USER_ID_LENGTH or not user_id.isprintable():
        raise InvalidRequest(
            f"The user id must be 1-{MAX_USER_ID_LENGTH} printable characters.", code="invalid_user_id"
        )
    return user_id


def validate_email(email: str | None) -> str | None:
    if email is not None and not EMAIL.fullmatch(email):
        raise InvalidRequest("email must be an email address.", code="invalid_email")
    return email


def find_user(tenant_id: str, user_id: str) -> EndUser | None:
    return db.session.execute(
        select(EndUser).where(EndUser.tenant_id == tenant_id, EndUser.user_id == user_id)
    ).scalar_one_or_none()


def enrolled_verification_methods(user: EndUser | TrackedUser) -> list[str]:
    """Distinct methods the user has verified authenticators for, in enrolment order."""
    methods = [a.verification_method.value for a in user.authenticators if a.verified_at is not None]
    return list(dict.fromkeys(methods))


def update_user(tenant_id: str, user_id: str, changes: dict[str, Any], *, now: datetime) -> EndUser:
    """Create the user if needed and apply the given attributes (absent ones stay as they are)."""
    validate_user_id(user_id)
    unknown = set(changes) - set(USER_FIELDS)
    if unknown:
        raise InvalidRequest(f"Unknown user attributes: {', '.join(sorted(unknown))}.")
    validate_email(changes.get("email"))
    if changes.get("phone_number") is not None:  # kept in E.164, as an SMS authenticator's number is
        changes = {**changes, "phone_number": parse_phone_number(changes["phone_number"])}
    user = find_user(tenant_id, user_id)
    if user is None:
        user = EndUser(tenant_id=tenant_id, user_id=user_id, custom={}, created_at=now)
        db.session.add(user)
    for name, value in changes.items():
        if name == "custom":
            # custom merges key by key; a null value removes that key.
            merged = {**(user.custom or {}), **value}
            user.custom = {k: v for k, v in merged.items() if v is not None}
        else:
            setattr(user, name, value)
    user.updated_at = now
    db.session.commit()
    return user


def delete_user(tenant_id: str, user_id: str) -> None:
    """Remove the user and their authenticators; tracked actions stay as history (operations.erasure
    is what removes those too)."""
    remove_user_record(tenant_id, user_id)
    db.session.commit()


def remove_user_record(tenant_id: str, user_id: str) -> None:
    """Delete the end user row; the caller commits. Their authenticators, passkeys,
    recovery codes, verification attempts and WebAuthn challenges go with it (ON DELETE CASCADE)."""
    db.session.execute(delete(EndUser).where(EndUser.tenant_id == tenant_id, EndUser.user_id == user_id))


@dataclass(frozen=True)
class UserPage:
    users: list[EndUser]
    last_evaluated_user_id: str | None


def query_users(
    tenant_id: str,
    *,
    email: str | None = None,
    phone_number: str | None = None,
    username: str | None = None,
    limit: int = MAX_QUERY_LIMIT,
    after_user_id: str | None = None,
) -> UserPage:
    """Keyset-paginated by user id, so a page never skips or repeats a user."""
    query = select(EndUser).where(EndUser.tenant_id == tenant_id)
    if email:
        query = query.where(EndUser.email == email)
    if phone_number:
        query = query.where(EndUser.phone_number == phone_number)
    if username:
        query = query.where(EndUser.username == username)
    if after_user_id:
        query = query.where(EndUser.user_id > after_user_id)
    rows = list(db.session.execute(query.order_by(EndUser.user_id).limit(limit + 1)).scalars())
    more = len(rows) > limit
    users = rows[:limit]
    return UserPage(users=users, last_evaluated_user_id=users[-1].user_id if more and users else None)


# ---------------------------------------------------------------------------------------------
# Console: one search box, and everything the user page shows

SEARCH_PAGE_SIZE = 50
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")


def search_users(
    tenant_id: str, text: str | None, *, after_user_id: str | None = None, limit: int = SEARCH_PAGE_SIZE
) -> UserPage:
    """Users whose id equals or starts with ``text``, whose email equals it (any case), or whose
    phone number equals it (spaces, dots, dashes and brackets ignored). Empty text lists everyone.
    Keyset-paginated by user id, like :func:`query_users`."""
    query = select(EndUser).where(EndUser.tenant_id == tenant_id)
    text = (text or "").strip()[:MAX_USER_ID_LENGTH]
    if text:
        # The ids starting with the text, as one closed range of the (tenant_id, user_id) index
        # (an "equals OR starts with" made PostgreSQL walk every id after the text), plus an
        # exact check, so neither LIKE's wildcards, SQLite's case-insensitive LIKE nor a
        # collation's order between the bounds changes what matches.
        prefix = and_(EndUser.user_id >= text, func.substr(EndUser.user_id, 1, len(text)) == text)
        upper = _prefix_upper_bound(text)
        matches = [prefix if upper is None else and_(prefix, EndUser.user_id < upper)]
        if "@" in text:
            matches.append(func.lower(EndUser.email) == text.lower())
        phone = _PHONE_PUNCTUATION.sub("", text)
        if E164.fullmatch(phone):
            matches.append(EndUser.phone_number == phone)
        query = query.where(or_(*matches))
    if after_user_id:
        query = query.where(EndUser.user_id > after_user_id)
    rows = list(db.session.execute(query.order_by(EndUser.user_id).limit(limit + 1)).scalars())
    users = rows[:limit]
    return UserPage(users=users, last_evaluated_user_id=users[-1].user_id if len(rows) > limit and users else None)


# Characters whose successor is the next letter or digit: under the binary order and the usual
# linguistic collations alike, the successor sorts after everything that starts with the character.
_SUCCEEDABLE = frozenset("012345678abcdefghijklmnopqrstuvwxyABCDEFGHIJKLMNOPQRSTUVWXY")


def _prefix_upper_bound(prefix: str) -> str | None:
    """A string above every string starting with ``prefix`` (and not far above it): the prefix cut
    after its last letter or digit that has a successor, that character stepped up. None when no
    character qualifies: the range then stays open above."""
    for index in range(len(prefix) - 1, -1, -1):
        if prefix[index] in _SUCCEEDABLE:
            return prefix[:index] + chr(ord(prefix[index]) + 1)
    return None

