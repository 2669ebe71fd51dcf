"""Passkeys as a console sign-in factor: the same WebAuthn code end users get, dogfooded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.config import Settings
from app.domain.errors import Conflict, NotFound
from app.domain.passkey import (
    InvalidCredential,
    KnownCredential,
    SignCountRegressed,
    authentication_ceremony,
    credential_id_of,
    new_user_handle,
    registration_ceremony,
    verify_assertion,
    verify_registration,
)
from app.extensions import db
from app.models import ConsolePasskey, ConsoleUser, WebAuthnChallenge
from app.services.challenges.passkeys import CHALLENGE_LIFETIME, Options, consume_challenge, relying_party
from app.services.tenancy.audit import record_change
from app.services.tenancy.records import flush_or_refuse

PURPOSE_REGISTER = "console-reg"
PURPOSE_SIGN_IN = "console-auth"


def _known(user: ConsoleUser) -> list[KnownCredential]:
    return [KnownCredential(credential_id=p.credential_id, transports=tuple(p.transports or ())) for p in user.passkeys]


def _store_challenge(user: ConsoleUser, purpose: str, challenge: str, now: datetime) -> str:
    row = WebAuthnChallenge(tenant_id=user.tenant_id, purpose=purpose, challenge=challenge, created_at=now,
                            expires_at=now + CHALLENGE_LIFETIME)
    db.session.add(row)
    db.session.commit()
    return row.id


def start_registration(user: ConsoleUser, *, settings: Settings, now: datetime) -> Options:
    if user.webauthn_user_handle is None:
        user.webauthn_user_handle = new_user_handle()
    ceremony = registration_ceremony(
        relying_party(settings), user_handle=user.webauthn_user_handle, user_name=user.email,
        display_name=user.name or user.email, existing=_known(user),
    )
    return Options(challenge_id=_store_challenge(user, PURPOSE_REGISTER, ceremony.challenge, now), options=ceremony.options)


def finish_registration(
    user: ConsoleUser, *, challenge_id: str | None, credential: Any, name: str, settings: Settings, now: datetime
) -> ConsolePasskey:
    challenge = consume_challenge(challenge_id, tenant_id=user.tenant_id, purposes=(PURPOSE_REGISTER,), now=now)
    new = verify_registration(relying_party(settings), credential, expected_challenge=challenge.challenge or "")
    passkey = ConsolePasskey(
        credential_id=new.credential_id, public_key=new.public_key, sign_count=new.sign_count,
        transports=new.transports, name=(name or "Passkey").strip()[:120] or "Passkey", created_at=now,
    )
    user.passkeys.append(passkey)
    flush_or_refuse(Conflict("This passkey is already registered.", code="credential_exists"))
    record_change(user, "console_passkey.added", passkey.id, "console_passkey", after={"name": passkey.name}, now=now)
    db.session.commit()
    return passkey


def remove_passkey(user: ConsoleUser, passkey_id: str, *, now: datetime) -> None:
    passkey = db.session.execute(
        select(ConsolePasskey).where(ConsolePasskey.id == passkey_id, ConsolePasskey.console_user_id == user.id)
    ).scalar_one_or_none()
    if passkey is None:
        raise NotFound("No such passkey.")
    record_change(user, "console_passkey.removed", passkey.id, "console_passkey", before={"name": passkey.name}, now=now)
    db.session.delete(passkey)
    db.session.commit()


def start_sign_in(user: ConsoleUser, *, settings: Settings, now: datetime) -> Options:
    ceremony = authentication_ceremony(relying_party(settings), allowed=_known(user))
    return Options(challenge_id=_store_challenge(user, PURPOSE_SIGN_IN, ceremony.challenge, now), options=ceremony.options)


def finish_sign_in(user: ConsoleUser, *, challenge_id: str | None, credential: Any, settings: Settings,
                   now: datetime) -> None:
    challenge = consume_challenge(challenge_id, tenant_id=user.tenant_id, purposes=(PURPOSE_SIGN_IN,), now=now)
    wanted = credential_id_of(credential)
    passkey = next((p for p in user.passkeys if p.credential_id == wanted), None)
    if passkey is None:
        raise InvalidCredential("This passkey is not registered for your account.")
    try:
        verified = verify_assertion(relying_party(settings), credential, expected_challenge=challenge.challenge or "",
                                    public_key=passkey.public_key, stored_sign_count=passkey.sign_count)
    except SignCountRegressed:
        db.session.commit()
        raise
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = now
    db.session.commit()
