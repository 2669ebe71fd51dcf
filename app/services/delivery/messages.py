"""The outbox of emails and text messages (SMS, WhatsApp): queue in the caller's transaction, send after it.

``queue_message`` adds the row to the caller's transaction and never commits, so a message exists
exactly when the challenge it carries does. The caller, once committed, hands the ids to
``send_now``; whatever that could not send (the server was down, the process died) the worker
(``flask webhooks work``) retries, a few times within a code's lifetime, then marks failed with the
server's error.

How a message leaves (``transport_for``): its channel's provider (SMTP for email, Twilio for text
messages) when one is configured; else, when an active webhook endpoint takes the channel's
delivery hook (``email.created``, ``sms.created``), as a signed event in the same transaction, for
the integrator to send; else, outside production, the *development outbox*: marked sent, never
leaving the database, shown in the console. In production with none of them the channel is refused.

Past our usual size because choosing a transport, the send limits, the send loop and its record all
move one row through its life (queued → sent or failed) under one lease; split, a status would have
two writers. The transports themselves (``smtp``, ``twilio``) are modules of their own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from app.config import Settings
from app.domain.errors import InvalidRequest, TooManyRequests
from app.domain.secretbox import SecretBox
from app.extensions import db
from app.models import CodeChallenge, OutboundMessage
from app.models.base import new_id, utcnow
from app.services.delivery.events import EMAIL_CREATED, SMS_CREATED, queue_event, subscribed_endpoints
from app.services.delivery.leases import SendReport, claim
from app.services.delivery.smtp import SmtpConnection, SmtpError, build_email
from app.services.delivery.twilio import TwilioClient, TwilioError
from app.services.limits import address_failures, slots
from app.services.limits.address_failures import CODE_SEND

QUEUED, SENT, FAILED = "queued", "sent", "failed"
SMTP, TWILIO, WEBHOOK, OUTBOX = "smtp", "twilio", "webhook", "outbox"
EMAIL, SMS, WHATSAPP = "email", "sms", "whatsapp"
CHANNELS = (EMAIL, SMS, WHATSAPP)
# The delivery hook that hands a channel's messages to the integrator.
HOOKS = {EMAIL: EMAIL_CREATED, SMS: SMS_CREATED, WHATSAPP: SMS_CREATED}
_UNCONFIGURED = {
    EMAIL: ("This server cannot send email: TOLLGATE_SMTP_URL is not set and no webhook takes email.created.",
            "email_not_configured"),
    SMS: ("This server cannot send text messages: no Twilio account (TOLLGATE_TWILIO_*) is set and no webhook "
          "takes sms.created.", "sms_not_configured"),
}

# Waits after each failed attempt: five attempts within about nine minutes, inside a code's lifetime.
RETRY_DELAYS = (timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Longer than a batch whose every message waits out the SMTP timeout.
LEASE = timedelta(minutes=3)
BATCH = 20
ERROR_TEXT_LIMIT = 500
# The windows of the send limits (Settings.sends_per_destination_per_hour, sends_per_tenant_per_minute).
SEND_HOUR, SEND_MINUTE = timedelta(hours=1), timedelta(minutes=1)


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str
    sender_name: str


@dataclass(frozen=True)
class TextContent:
    """An SMS or WhatsApp message."""

    body: str


@dataclass(frozen=True)
class Handoff:
    """What a delivery hook's event carries: ``data`` as stored (to, userId, actionCode...), and
    ``secret`` (the code, or a magic link's url), sealed until the event is sent."""

    data: dict[str, Any]
    secret: dict[str, str]


def transport_for(channel: str, tenant_id: str, settings: Settings, *, hooks: Collection[str] | None = None) -> str:
    """How a message on ``channel`` leaves this server for the tenant, or a clear refusal when it cannot.
    ``hooks``: the event types the tenant's active endpoints would take (a config file's), instead of
    the live ones."""
    if channel == EMAIL and settings.smtp is not None:
        return SMTP
    if channel != EMAIL and settings.twilio is not None:
        return TWILIO
    if (HOOKS[channel] in hooks) if hooks is not None else subscribed_endpoints(tenant_id, HOOKS[channel]):
        return WEBHOOK
    if settings.env != "production":
        return OUTBOX
    message, code = _UNCONFIGURED[EMAIL if channel == EMAIL else SMS]
    raise InvalidRequest(message, code=code)


def can_send(channel: str, tenant_id: str, settings: Settings, *, hooks: Collection[str] | None = None) -> bool:
    try:
        transport_for(channel, tenant_id, settings, hooks=hooks)
    except InvalidRequest:
        return False
    return True


def queue_message(tenant_id: str, channel: str, recipient: str, content: EmailContent | TextContent, *,
                  handoff: Handoff, code_challenge_id: str | None, settings: Settings, now: datetime,
                  end_user_id: int | None = None, client_ip: str | None = None) -> OutboundMessage:
    """Add the message to the caller's transaction; after its commit, pass the id to ``send_now``.
    Handed to a webhook, it is its event (in the same transaction) and counts as sent. ``end_user_id``
    and ``client_ip`` (a browser's, for the client API and the hosted pages) are limited too."""
    transport = transport_for(channel, tenant_id, settings)
    box = SecretBox(settings.encryption_keys)
    done = transport in (OUTBOX, WEBHOOK)
    message = OutboundMessage(
        id=new_id(), tenant_id=tenant_id, code_challenge_id=code_challenge_id, channel=channel, recipient=recipient,
        transport=transport, content_ciphertext=box.encrypt(json.dumps(asdict(content))),
        status=SENT if done else QUEUED, attempts=0, next_attempt_at=None if done else now,
        sent_at=now if done else None, created_at=now,
    )
    _take_send_places(message, end_user_id=end_user_id, client_ip=client_ip, settings=settings, now=now)
    if transport == WEBHOOK:
        queue_event(tenant_id, HOOKS[channel], handoff.data, subscribed_endpoints(tenant_id, HOOKS[channel]), now=now,
                    sealed_data=box.encrypt(json.dumps(handoff.secret)))
    return message


def _take_send_places(message: OutboundMessage, *, end_user_id: int | None, client_ip: str | None,
                      settings: Settings, now: datetime) -> None:
    """The message counts against its tenant's per-minute limit, its destination's hourly one, its
    user's and (asked for by a browser) its client address's, or the caller's whole transaction (the
    challenge with it) is rolled back and 429 raised: exact under concurrency, as slots.take_place is
    (one lock per tenant serialises its senders; the address's limit takes its own after it)."""
    sent = OutboundMessage.__table__.c
    slots.serialise(f"sends:{message.tenant_id}")
    per_tenant = (select(func.count()).select_from(OutboundMessage)
                  .where(sent.tenant_id == message.tenant_id, sent.created_at > now - SEND_MINUTE))
    if slots.take_place(message, per_tenant, limit=settings.sends_per_tenant_per_minute) is None:
        raise TooManyRequests("Too many messages are being sent for this account right now; try again in a minute.",
                              retry_after=int(SEND_MINUTE.total_seconds()))
    hourly = [(_same_destination(message), settings.sends_per_destination_per_hour,
               "Too many codes were sent to this address or number in the last hour; try again later.")]
    if end_user_id is not None:
        # SMS pumping through one user: number after number typed on the enrolment page.
        mine = sent.code_challenge_id.in_(select(CodeChallenge.id).where(CodeChallenge.end_user_id == end_user_id))
        hourly.append((mine, settings.sends_per_user_per_hour,
                       "Too many codes were sent for you in the last hour; try again later."))
    for same, limit, refusal in hourly:
        window = (select(func.count()).select_from(OutboundMessage)
                  .where(sent.tenant_id == message.tenant_id, same, sent.created_at > now - SEND_HOUR))
        if db.session.execute(window).scalar_one() > limit:
            db.session.rollback()
            raise TooManyRequests(refusal, retry_after=_retry_after_hour(message.tenant_id, same, now=now))
    address_failures.take_failure(CODE_SEND, client_ip, allowed=settings.sends_per_client_address_per_hour, now=now)


def _same_destination(message: OutboundMessage):
    # Mail servers treat an address's case as the same mailbox, so case is no way round the limit.
    return func.lower(OutboundMessage.__table__.c.recipient) == message.recipient.lower()


def _retry_after_hour(tenant_id: str, same: Any, *, now: datetime) -> int:
    """Seconds until the oldest send of the hour matching ``same`` leaves the window (read after the
    rollback, so it does not count the refused one)."""
    sent = OutboundMessage.__table__.c
    oldest = db.session.execute(
        select(func.min(sent.created_at)).where(sent.tenant_id == tenant_id, same, sent.created_at > now - SEND_HOUR)
    ).scalar_one()
    if oldest is None:
        return 1
    return max(1, math.ceil((oldest + SEND_HOUR - now).total_seconds()))


def send_now(message_ids: Sequence[str], *, settings: Settings) -> SendReport:
    """Right after the commit that queued them: try once; a failure is left to the worker."""
    due = (OutboundMessage.id.in_(list(message_ids)), OutboundMessage.status == QUEUED)
    token, ids = claim(OutboundMessage, due, order_by=OutboundMessage.created_at, now=utcnow(), limit=len(message_ids),
                       lease=LEASE)
    return _send(ids, token, settings=settings, clock=utcnow)


def send_due(*, settings: Settings, now: datetime | None = None, limit: int = BATCH) -> SendReport:
    """The worker's step: send what is due (``now`` fixes the clock for tests)."""
    clock = (lambda: now) if now is not None else utcnow
    due = (OutboundMessage.status == QUEUED, OutboundMessage.next_attempt_at <= clock())
    token, ids = claim(OutboundMessage, due, order_by=OutboundMessage.next_attempt_at, now=clock(), limit=limit,
                       lease=LEASE)
    return _send(ids, token, settings=settings, clock=clock)


@dataclass(frozen=True)
class _Job:
    id: str
    attempts: int
    channel: str
    transport: str
    recipient: str
    content: dict[str, Any]


def _send(ids: list[str], token: str, *, settings: Settings, clock: Callable[[], datetime]) -> SendReport:
    report = SendReport()
    if not ids:
        return report
    box = SecretBox(settings.encryption_keys)
    rows = db.session.execute(select(OutboundMessage).where(OutboundMessage.id.in_(ids))).scalars()
    jobs = [_Job(id=row.id, attempts=row.attempts, channel=row.channel, transport=row.transport,
                 recipient=row.recipient, content=json.loads(box.decrypt(row.content_ciphertext))) for row in rows]
    db.session.commit()  # no transaction stays open while we wait on the network

    def record(job: _Job, error: str | None, permanent: bool = False) -> None:
        _count(report, _record(job, token, error, now=clock(), permanent=permanent))

    for transport, send_batch in ((SMTP, _send_emails), (TWILIO, _send_texts)):
        batch = [job for job in jobs if job.transport == transport]
        if batch:
            send_batch(batch, record, settings=settings)
    return report


# Records one job's outcome: (job, error or None[, permanent]).
Record = Callable[..., None]


def _send_emails(jobs: list[_Job], record: Record, *, settings: Settings) -> None:
    if settings.smtp is None or settings.smtp_from is None:
        for job in jobs:
            record(job, "TOLLGATE_SMTP_URL is not set: nothing was sent.")
        return
    with SmtpConnection(settings.smtp, sender=settings.smtp_from) as smtp:
        for job in jobs:
            content = job.content
            email = build_email(sender=settings.smtp_from, sender_name=content["sender_name"], recipient=job.recipient,
                                subject=content["subject"], text=content["text"], html=content["html"])
            try:
                smtp.send(email)
                record(job, None)
            except SmtpError as exc:
                record(job, str(exc))


def _send_texts(jobs: list[_Job], record: Record, *, settings: Settings) -> None:
    if settings.twilio is None:
        for job in jobs:
            record(job, "No Twilio account (TOLLGATE_TWILIO_*) is set: nothing was sent.")
        return
    with TwilioClient(settings.twilio) as twilio:
        for job in jobs:
            try:
                twilio.send(to=job.recipient, body=job.content["body"], whatsapp=job.channel == WHATSAPP)
                record(job, None)
            except TwilioError as exc:
                record(job, str(exc), exc.permanent)


def _count(report: SendReport, status: str) -> None:
    report.count(sent=status == SENT, failed=status == FAILED)


def _record(job: _Job, token: str, error: str | None, *, now: datetime, permanent: bool = False) -> str:
    """``permanent``: the provider refused the message itself; no attempt is left to make."""
    attempts = job.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "locked_until": None, "claim_token": None}
    if error is None:
        values.update(status=SENT, sent_at=now, next_attempt_at=None, last_error=None)
    elif attempts >= MAX_ATTEMPTS or permanent:
        values.update(status=FAILED, next_attempt_at=None, last_error=error[:ERROR_TEXT_LIMIT])
    else:
        values.update(next_attempt_at=now + RETRY_DELAYS[attempts - 1], last_error=error[:ERROR_TEXT_LIMIT])
    # Only the claim's holder records: if our lease ran out and another worker took over, it decides.
    db.session.execute(
        update(OutboundMessage).where(OutboundMessage.id == job.id, OutboundMessage.claim_token == token)
        .values(**values).execution_options(synchronize_session=False)
    )
    db.session.commit()
    return values.get("status", QUEUED)


@dataclass(frozen=True)
class MessageView:
    message: OutboundMessage
    # Only for the development outbox, whose messages never left: what was "sent".
    content: dict[str, Any] | None


def recent_messages(tenant_id: str, *, settings: Settings, limit: int = 100) -> list[MessageView]:
    """The tenant's newest messages with their status, for the console."""
    box = SecretBox(settings.encryption_keys)
    rows = db.session.execute(
        select(OutboundMessage).where(OutboundMessage.tenant_id == tenant_id)
        .order_by(OutboundMessage.created_at.desc(), OutboundMessage.id).limit(limit)
    ).scalars()
    return [MessageView(message=row, content=json.loads(box.decrypt(row.content_ciphertext))
                        if row.transport == OUTBOX else None) for row in rows]


def prune(*, older_than: timedelta, now: datetime) -> int:
    """Delete messages finished (sent or failed) longer ago than ``older_than``: they name addresses."""
    deleted = db.session.execute(
        OutboundMessage.__table__.delete().where(OutboundMessage.status != QUEUED,
                                                 OutboundMessage.created_at < now - older_than)
    ).rowcount
    db.session.commit()
    return deleted
