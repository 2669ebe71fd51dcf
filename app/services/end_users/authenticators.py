"""Authenticators enrolled for an end user by the integrator's backend (already verified there)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from pydantic import StringConstraints
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from app.config import Settings
from app.domain.decision import VerificationMethod
from app.domain.documents import WireModel
from app.domain.errors import InvalidRequest, NotFound
from app.domain.phone_numbers import parse_phone_number
from app.domain.secretbox import SecretBox
from app.domain.totp import parse_otp_uri
from app.extensions import db
from app.models import Authenticator, ConsoleUser, EndUser
from app.models.base import utcnow
from app.services.delivery.events import emit_authenticator_created, emit_authenticator_deleted
from app.services.end_users.trusted_devices import revoke_all_trusted_devices
from app.services.end_users.users import find_user, validate_email, validate_user_id
from app.services.tenancy.audit import record_change

EMAIL_METHODS = {VerificationMethod.EMAIL_OTP, VerificationMethod.EMAIL_MAGIC_LINK}
PHONE_METHODS = {VerificationMethod.SMS, VerificationMethod.WHATSAPP}


class EnrollRequest(WireModel):
    verification_method: VerificationMethod
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    phone_number: Annotated[str, StringConstraints(max_length=32)] | None = None
    otp_uri: Annotated[str, StringConstraints(max_length=2048)] | None = None
    is_default: bool = False


def list_authenticators(tenant_id: str, user_id: str) -> list[Authenticator]:
    user = find_user(tenant_id, user_id)
    return list(user.authenticators) if user else []


def enroll_verified_authenticator(
    tenant_id: str, user_id: str, request: EnrollRequest, *, settings: Settings, now: datetime
) -> Authenticator:
    validate_user_id(user_id)
    method = request.verification_method
    authenticator = Authenticator(verification_method=method, is_default=request.is_default, created_at=now, verified_at=now)
    if method in EMAIL_METHODS:
        if not request.email:
            raise InvalidRequest(f"email is required for {method.value}.", code="email_required")
        authenticator.email = validate_email(request.email)
    elif method in PHONE_METHODS:
        if not request.phone_number:
            raise InvalidRequest(f"phoneNumber is required for {method.value}.", code="phone_number_required")
        authenticator.phone_number = parse_phone_number(request.phone_number)
    elif method is VerificationMethod.AUTHENTICATOR_APP:
        if not request.otp_uri:
            raise InvalidRequest("otpUri is required for AUTHENTICATOR_APP.", code="otp_uri_required")
        seed = parse_otp_uri(request.otp_uri)
        authenticator.otp_secret_ciphertext = SecretBox(settings.encryption_keys).encrypt(json.dumps(asdict(seed)))
    else:
        raise InvalidRequest(
            f"{method.value} authenticators cannot be imported; users enrol them on the hosted pages.",
            code="unsupported_verification_method",
        )

    user = find_user(tenant_id, user_id)
    if user is None:
        user = EndUser(tenant_id=tenant_id, user_id=user_id, custom={}, created_at=now, updated_at=now)
        db.session.add(user)
        db.session.flush()
    elif request.is_default:
        db.session.execute(update(Authenticator).where(Authenticator.end_user_id == user.id).values(is_default=False))
    user.authenticators.append(authenticator)
    emit_authenticator_created(authenticator, now=now)
    db.session.commit()
    return authenticator


def delete_authenticator(tenant_id: str, user_id: str, authenticator_id: str) -> None:
    authenticator = db.session.execute(
        select(Authenticator)
        .join(EndUser)
        .where(EndUser.tenant_id == tenant_id, EndUser.user_id == user_id, Authenticator.id == authenticator_id)
    ).scalar_one_or_none()
    if authenticator is None:
        raise NotFound("The authenticator was not found.", code="authenticator_not_found")
    emit_authenticator_deleted(authenticator)
    _remove(authenticator, now=utcnow())
    db.session.commit()


def _remove(authenticator: Authenticator, *, now: datetime) -> None:
    """Delete it; with the user's last authenticator go the devices it let them trust."""
    user = authenticator.user
    db.session.delete(authenticator)
    db.session.flush()
    db.session.expire(user, ["authenticators"])
    if not user.authenticators:
        revoke_all_trusted_devices(user.id, now=now)


def find_authenticator(tenant_id: str, user_id: str, authenticator_id: str) -> Authenticator | None:
    """The user's authenticator, or None (also when it belongs to another user or tenant)."""
    return db.session.execute(
        select(Authenticator)
        .join(EndUser)
        .where(EndUser.tenant_id == tenant_id, EndUser.user_id == user_id, Authenticator.id == authenticator_id)
        .options(selectinload(Authenticator.passkey))
    ).scalar_one_or_none()


def describe_authenticator(authenticator: Authenticator) -> dict[str, Any]:
    """What the audit log keeps about an authenticator (never its secrets)."""
    described: dict[str, Any] = {
        "userId": authenticator.user.user_id,
        "verificationMethod": authenticator.verification_method.value,
        "name": authenticator.name,
        "createdAt": authenticator.created_at.isoformat() if authenticator.created_at else None,
        "lastVerifiedAt": authenticator.last_verified_at.isoformat() if authenticator.last_verified_at else None,
    }
    if authenticator.email:
        described["email"] = authenticator.email
    if authenticator.phone_number:
        described["phoneNumber"] = authenticator.phone_number
    if authenticator.passkey is not None:
        described["aaguid"] = authenticator.passkey.aaguid
    return described


def remove_authenticator(actor: ConsoleUser, user_id: str, authenticator_id: str, *, now: datetime) -> None:
    """A console admin removes an end user's authenticator; audited in the same transaction."""
    authenticator = find_authenticator(actor.tenant_id, user_id, authenticator_id)
    if authenticator is None:
        raise NotFound("The authenticator was not found.", code="authenticator_not_found")
    before = describe_authenticator(authenticator)
    emit_authenticator_deleted(authenticator, now=now)
    _remove(authenticator, now=now)
    record_change(actor, "authenticator.removed", authenticator_id, "authenticator", before=before, after=None, now=now)
    db.session.commit()
