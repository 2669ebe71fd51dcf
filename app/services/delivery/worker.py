"""Delivering webhook events: the worker's claim, send and record loop (``flask webhooks work``).

It claims due deliveries with a lease (``leases``), so several workers never send the same delivery
at once, then POSTs each outside any transaction, signed like Authsignal, and records the outcome. A failure is retried with
exponential backoff and jitter; after the last attempt the delivery is marked failed.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from app.config import Settings
from app.domain.secretbox import SecretBox
from app.domain.webhook_signing import HEADER, sign
from app.extensions import db
from app.models import ApiKey, WebhookDelivery, WebhookEndpoint, WebhookEvent
from app.models.base import new_id, utcnow
from app.services.delivery.events import DELIVERED, FAILED, PENDING, envelope
from app.services.delivery.leases import SendReport, claim, release

# Waits after each failed attempt: 8 attempts over about a day (±10% jitter on each wait).
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
)

MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1
CONNECT_TIMEOUT, READ_TIMEOUT = 5.0, 10.0
CLAIM_BATCH = 10

# Longer than a whole batch of attempts that all time out; a crashed worker's claims come back after it.
LEASE = timedelta(minutes=5)
# How long a worker keeps trying to write its claim's outcome when the database fails it (PostgreSQL
# restarting): an unrecorded success would be sent again once the lease ran out, a claim not given
# back would wait for the lease. Well inside the lease, so the claim is still ours.
RECORD_PATIENCE = timedelta(seconds=60)
RECORD_RETRY_SECONDS = 1.0
T = TypeVar("T")
ERROR_TEXT_LIMIT = 500

def retry_delay(attempts: int, *, rand: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt; ``rand`` in [0, 1) spreads it by ±10%."""
    base = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    return base * (1 - JITTER + 2 * JITTER * rand)


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


Sender = Callable[[str, bytes, dict[str, str]], SendResult]


class HttpSender:
    """POST with timeouts, never following redirects, straight to the receiver (no proxy); one
    connection pool per worker (close it).

    ``allow_private_networks`` off (TOLLGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS), every connection must
    reach a public address, whatever DNS answered (``app.egress``); a refusal is a failed attempt,
    retried like any other: DNS answers change, and a refused attempt sends nothing.
    """

    def __init__(self, *, allow_private_networks: bool) -> None:
        import requests  # the worker's dependency; the web app never sends webhooks itself

        from app.egress import DestinationNotAllowed, PublicOnlyAdapter

        self._failures = (requests.RequestException, DestinationNotAllowed)
        self._http = requests.Session()
        # Nothing from the environment (proxies, ~/.netrc): through an HTTPS_PROXY the peer the address
        # check sees would be the proxy, which reaches internal hosts for us; .netrc would add
        # credentials to the requests. The CA bundle is harmless, and receivers behind a company CA
        # need it: keep requests' own variables for it.
        self._http.trust_env = False
        self._http.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        if not allow_private_networks:
            guard = PublicOnlyAdapter()
            self._http.mount("http://", guard)
            self._http.mount("https://", guard)

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        try:
            with self._http.post(url, data=body, headers=headers, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                                 allow_redirects=False, stream=True) as response:
                if 200 <= response.status_code < 300:
                    return SendResult(response.status_code)
                snippet = response.raw.read(ERROR_TEXT_LIMIT, decode_content=True).decode("utf-8", "replace")
                return SendResult(response.status_code, f"HTTP {response.status_code}: {snippet}".strip())
        except self._failures as exc:
            return SendResult(None, f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    attempts: int
    url: str
    tenant_id: str
    body: str


def claim_due(*, now: datetime, limit: int = CLAIM_BATCH, lease: timedelta = LEASE,
              token: str | None = None) -> tuple[str, list[int]]:
    """Take up to ``limit`` due deliveries for this worker; returns (claim token, delivery ids). Commits."""
    due = (WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
    return claim(WebhookDelivery, due, order_by=WebhookDelivery.next_attempt_at, now=now, limit=limit, lease=lease,
                 token=token)


def deliver_due(
    *,
    settings: Settings,
    now: datetime | None = None,
    limit: int = CLAIM_BATCH,
    send: Sender | None = None,
    rand: Callable[[], float] = random.random,
) -> SendReport:
    """Claim what is due, send it, record each outcome. ``now`` fixes the clock (tests and backfills)."""
    clock = (lambda: now) if now is not None else utcnow
    token = new_id()
    try:
        token, ids = claim_due(now=clock(), limit=limit, token=token)
        if not ids:
            return SendReport()
        jobs = _load_jobs(ids, source=settings.public_url, box=SecretBox(settings.encryption_keys))
        keys = _signing_keys({job.tenant_id for job in jobs}, settings=settings)
        db.session.commit()  # no transaction stays open while we wait on the network
    except OperationalError:
        # The database went away around the claim (its commit may have gone through): nothing was
        # sent, so give the rows back once it answers, rather than leaving them leased for minutes.
        db.session.rollback()
        _through_outage(lambda: release(WebhookDelivery, token))
        raise
    if send is None:
        with HttpSender(allow_private_networks=settings.webhook_allow_private_networks) as sender:
            return _send_all(jobs, keys, token, send=sender, clock=clock, rand=rand)
    return _send_all(jobs, keys, token, send=send, clock=clock, rand=rand)


def _send_all(jobs: list[_Job], keys: dict[str, list[str]], token: str, *, send: Sender,
              clock: Callable[[], datetime], rand: Callable[[], float]) -> SendReport:
    report = SendReport()
    for job in jobs:
        t = int(clock().timestamp())
        tenant_keys = keys.get(job.tenant_id)
        if tenant_keys:
            headers = {"Content-Type": "application/json", "User-Agent": "Tollgate-Webhooks/1",
                       HEADER: sign(job.body, tenant_keys, t)}
            result = send(job.url, job.body.encode(), headers)
        else:
            result = SendResult(None, "The tenant has no active API key to sign with.")
        outcome = _record_through_outage(job, token, result, now=clock(), rand=rand())
        report.count(sent=outcome == DELIVERED, failed=outcome == FAILED)
    return report


def _load_jobs(ids: list[int], *, source: str, box: SecretBox) -> list[_Job]:
    rows = db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempts, WebhookEndpoint.url, WebhookEvent)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.id)
    ).all()
    return [_Job(delivery_id=d_id, attempts=attempts, url=url, tenant_id=event.tenant_id,
                 body=envelope(event, source=source, unseal=box.decrypt)) for d_id, attempts, url, event in rows]


def _signing_keys(tenant_ids: set[str], *, settings: Settings) -> dict[str, list[str]]:
    """Every active API key of each tenant, decrypted: one ``v2=`` each, oldest first."""
    box = SecretBox(settings.encryption_keys)
    keys: dict[str, list[str]] = {}
    rows = db.session.execute(
        select(ApiKey.tenant_id, ApiKey.secret_ciphertext)
        .where(ApiKey.tenant_id.in_(tenant_ids), ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at, ApiKey.id)
    )
    for tenant_id, ciphertext in rows:
        keys.setdefault(tenant_id, []).append(box.decrypt(ciphertext))
    return keys


def _record_through_outage(job: _Job, token: str, result: SendResult, *, now: datetime, rand: float) -> str:
    return _through_outage(lambda: _record(job, token, result, now=now, rand=rand))


def _through_outage(write: Callable[[], T]) -> T:
    """``write`` (one transaction of this worker's claim), tried again while the database does not
    answer, for up to RECORD_PATIENCE; then the error is the caller's (the lease takes over)."""
    give_up = time.monotonic() + RECORD_PATIENCE.total_seconds()
    while True:
        try:
            return write()
        except OperationalError:
            db.session.rollback()
            if time.monotonic() >= give_up:
                raise
            time.sleep(RECORD_RETRY_SECONDS)


def _record(job: _Job, token: str, result: SendResult, *, now: datetime, rand: float) -> str:
    attempts = job.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts, "last_attempt_at": now, "last_response_code": result.status_code,
        "locked_until": None, "claim_token": None,
    }
    if result.ok:
        values.update(status=DELIVERED, delivered_at=now, next_attempt_at=None, last_error=None)
    elif attempts >= MAX_ATTEMPTS:
        values.update(status=FAILED, next_attempt_at=None, last_error=(result.error or "")[:ERROR_TEXT_LIMIT])
    else:
        values.update(next_attempt_at=now + retry_delay(attempts, rand=rand),
                      last_error=(result.error or "")[:ERROR_TEXT_LIMIT])
    # Only the claim's holder records: if our lease ran out and another worker took over, it decides.
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == job.delivery_id, WebhookDelivery.claim_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return values.get("status", PENDING)


def prune(*, older_than: timedelta, now: datetime) -> int:
    """Delete events (and their deliveries) whose deliveries are all finished and older than ``older_than``."""
    cutoff = now - older_than
    unfinished = select(WebhookDelivery.event_id).where(WebhookDelivery.status == PENDING)
    old = select(WebhookEvent.id).where(WebhookEvent.created_at < cutoff, WebhookEvent.id.not_in(unfinished))
    ids = list(db.session.execute(old).scalars())
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(WebhookDelivery.__table__.delete().where(WebhookDelivery.event_id.in_(chunk)))
        db.session.execute(WebhookEvent.__table__.delete().where(WebhookEvent.id.in_(chunk)))
    db.session.commit()
    return len(ids)
