"""Where a sent code goes, by method: an email address (EMAIL_OTP, EMAIL_MAGIC_LINK) or a phone
number (SMS, WHATSAPP). One place says how each is checked, read from an authenticator, shown
masked, and recorded on the user once a code to it has passed, so every use case treats them alike.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from app.config import Settings
from app.domain.decision import VerificationMethod
from app.domain.errors import InvalidRequest
from app.domain.one_time_codes import mask_email
from app.domain.phone_numbers import check_destination, mask_phone, parse_phone_number
from app.models import Authenticator, EndUser
from app.services.delivery.messages import EMAIL, SMS, WHATSAPP, can_send
from app.services.end_users.users import validate_email

EMAIL_METHODS = (VerificationMethod.EMAIL_OTP, VerificationMethod.EMAIL_MAGIC_LINK)
PHONE_METHODS = (VerificationMethod.SMS, VerificationMethod.WHATSAPP)
SENT_METHODS = (*EMAIL_METHODS, *PHONE_METHODS)
# Authsignal's smsChannel: an SMS challenge may go by WhatsApp instead.
SMS_CHANNELS = {"DEFAULT": SMS, "SMS": SMS, "WHATSAPP": WHATSAPP}


def channel_for(method: VerificationMethod, sms_channel: str | None = None) -> str:
    """How a code by ``method`` travels: email, sms or whatsapp."""
    if method in EMAIL_METHODS:
        return EMAIL
    if method is VerificationMethod.WHATSAPP:
        return WHATSAPP
    if sms_channel is not None and sms_channel not in SMS_CHANNELS:
        raise InvalidRequest(f"smsChannel must be one of {', '.join(SMS_CHANNELS)}.", code="invalid_sms_channel")
    return SMS_CHANNELS[sms_channel or "DEFAULT"]


def unsendable_methods(names: list[str], tenant_id: str, settings: Settings, *,
                       hooks: Collection[str] | None = None) -> list[str]:
    """Of ``names`` (an action's allowed methods), the sent ones this server has no way to send for
    the tenant: in production, email with neither SMTP nor an email.created webhook, texts with
    neither Twilio nor an sms.created one. Elsewhere the development outbox sends everything.
    ``hooks``: the event types the tenant's endpoints would take, when not the live ones."""
    sent = {method.value: method for method in SENT_METHODS}
    return [name for name in names
            if name in sent and not can_send(channel_for(sent[name]), tenant_id, settings, hooks=hooks)]


def refuse_unsendable(names: list[str], tenant_id: str, settings: Settings) -> None:
    """400 verification_method_not_configured, naming what this server cannot send."""
    unsendable = unsendable_methods(names, tenant_id, settings)
    if unsendable:
        raise InvalidRequest(f"{', '.join(unsendable)} cannot be enabled: this server has no way to send them "
                             "(configure TOLLGATE_SMTP_URL for email and TOLLGATE_TWILIO_* for SMS and WhatsApp, or "
                             "subscribe a webhook to email.created / sms.created).",
                             code="verification_method_not_configured")


def checked_destination(method: VerificationMethod, value: str | None, *, settings: Settings) -> str:
    """The address or E.164 number a code by ``method`` may go to, or 400 saying what is wrong."""
    if method in EMAIL_METHODS:
        if not value:
            raise InvalidRequest(f"email is required for {method.value}.", code="invalid_email")
        return validate_email(value)
    number = parse_phone_number(value)
    check_destination(number, allowed_regions=settings.sms_allowed_countries)
    return number


def destination_of(authenticator: Authenticator) -> str | None:
    return authenticator.email if authenticator.verification_method in EMAIL_METHODS else authenticator.phone_number


def set_destination(authenticator: Authenticator, destination: str) -> None:
    if authenticator.verification_method in EMAIL_METHODS:
        authenticator.email = destination
    else:
        authenticator.phone_number = destination


def masked(method: VerificationMethod, destination: str) -> str:
    """As the page and the client API show where a code went."""
    return mask_email(destination) if method in EMAIL_METHODS else mask_phone(destination)


def record_verified_destination(user: EndUser, method: VerificationMethod, destination: str, *, now: datetime) -> None:
    """A passed code proves its destination: the user's email (or phone number), if they have none
    yet or it is this one. The caller commits."""
    if method in EMAIL_METHODS:
        if user.email in (None, destination):
            user.email, user.email_verified, user.updated_at = destination, True, now
    elif user.phone_number in (None, destination):
        user.phone_number, user.phone_number_verified, user.updated_at = destination, True, now
