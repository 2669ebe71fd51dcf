"""Remembered devices: offering and recording one after a passed challenge, recognising its cookie,
listing and revoking a user's.

A device is remembered for the track request's ``deviceId`` of the challenge passed (a later track
is matched against it: services.decisions.signals), and its browser gets a cookie of Tollgate's
origin (app.domain.trusted_devices) that the hosted pages recognise. A forged, expired or revoked
cookie, or another user's or tenant's, is as good as none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update

from app.config import Settings
from app.domain.decision import ActionState
from app.domain.errors import Conflict, NotFound
from app.domain.secretbox import derive_key
from app.domain.trusted_devices import (
    Holder,
    IssuedDevice,
    agent_summary,
    cookie_name,
    digests_match,
    issue_device,
    read_device_cookie,
)
from app.extensions import db
from app.models import ConsoleUser, EndUser, TrustedDevice, UserAction
from app.models.base import new_id
from app.services.end_users.users import find_user
from app.services.tenancy.audit import record_change


def _key(settings: Settings) -> bytes:
    return derive_key(settings.secret_key, "trusted-devices")


def _holder(user: EndUser) -> Holder:
    return Holder(tenant_id=user.tenant_id, user_id=user.user_id)


def is_live(device: TrustedDevice, *, now: datetime) -> bool:
    return device.revoked_at is None and device.expires_at > now


def recognised_device(user: EndUser, cookies: Mapping[str, str], *, settings: Settings,
                      now: datetime) -> TrustedDevice | None:
    """The live trusted device whose cookie this browser sent for ``user``, else None."""
    holder = _holder(user)
    presented = read_device_cookie(cookies.get(cookie_name(holder, key=_key(settings))), holder, key=_key(settings))
    if presented is None:
        return None
    device = db.session.get(TrustedDevice, presented.row_id)
    if device is None or device.tenant_id != user.tenant_id or device.end_user_id != user.id:
        return None
    if not digests_match(device.token_digest, presented) or not is_live(device, now=now):
        return None
    return device


def remember_offer(action: UserAction, user: EndUser, cookies: Mapping[str, str], *, settings: Settings,
                   now: datetime) -> int | None:
    """Days to offer after this action's passed challenge, or None: the tenant does not remember
    devices, the track sent no ``deviceId`` (nothing a later track could match), the result was
    already handed over, or this browser is remembered already."""
    if not settings.remember_device_days or not action.device_id:
        return None
    if action.state is not ActionState.CHALLENGE_SUCCEEDED or action.result_validated_at is not None:
        return None
    if recognised_device(user, cookies, settings=settings, now=now) is not None:
        return None
    return settings.remember_device_days


def remember_device(action: UserAction, user: EndUser, cookies: Mapping[str, str], *, user_agent: str | None,
                    settings: Settings, now: datetime) -> IssuedDevice:
    """Trust this browser for the action's device id: a new row (an older one for the same device id
    is revoked: one cookie per device) and the cookie to set. Commits."""
    days = remember_offer(action, user, cookies, settings=settings, now=now)
    if days is None:
        raise Conflict("This device cannot be remembered now.", code="remember_not_offered")
    db.session.execute(
        update(TrustedDevice)
        .where(TrustedDevice.end_user_id == user.id, TrustedDevice.device_id == action.device_id,
               TrustedDevice.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    device = TrustedDevice(id=new_id(), tenant_id=user.tenant_id, end_user_id=user.id, device_id=action.device_id,
                           created_at=now, user_agent=agent_summary(user_agent))
    issued = issue_device(device.id, _holder(user), key=_key(settings), days=days, now=now)
    device.token_digest, device.expires_at = issued.token_digest, issued.expires_at
    db.session.add(device)
    db.session.commit()
    return issued


def list_trusted_devices(tenant_id: str, user_id: str, *, now: datetime) -> list[TrustedDevice]:
    """The user's live trusted devices, newest first (NotFound for an unknown user)."""
    user = _user(tenant_id, user_id)
    return list(db.session.execute(
        select(TrustedDevice)
        .where(TrustedDevice.end_user_id == user.id, TrustedDevice.revoked_at.is_(None), TrustedDevice.expires_at > now)
        .order_by(TrustedDevice.created_at.desc(), TrustedDevice.id)
    ).scalars())


def revoke_trusted_device(tenant_id: str, user_id: str, device_id: str, *, actor: ConsoleUser | None,
                          now: datetime) -> TrustedDevice:
    """Revoke one of the user's trusted devices (by its row id); a console admin's revocation is audited."""
    user = _user(tenant_id, user_id)
    device = db.session.execute(
        select(TrustedDevice).where(TrustedDevice.id == device_id, TrustedDevice.end_user_id == user.id,
                                    TrustedDevice.tenant_id == tenant_id)
    ).scalar_one_or_none()
    if device is None or not is_live(device, now=now):
        raise NotFound("The user has no such trusted device: it may have been revoked or have expired.",
                       code="trusted_device_not_found")
    device.revoked_at = now
    if actor is not None:
        record_change(actor, "trusted_device.revoked", device.id, "trusted_device",
                      before={"userId": user_id, "deviceId": device.device_id, "userAgent": device.user_agent},
                      after=None, now=now)
    db.session.commit()
    return device


def revoke_all_trusted_devices(end_user_id: int, *, now: datetime) -> None:
    """Every live trusted device of the user, revoked with the caller's transaction (no commit):
    removing the last authenticator ends what a passed challenge with it vouched for."""
    db.session.execute(
        update(TrustedDevice)
        .where(TrustedDevice.end_user_id == end_user_id, TrustedDevice.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _user(tenant_id: str, user_id: str) -> EndUser:
    user = find_user(tenant_id, user_id)
    if user is None:
        raise NotFound(f"No user '{user_id}' exists.", code="user_not_found")
    return user
