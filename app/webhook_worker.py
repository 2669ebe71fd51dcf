"""The webhook worker loop behind ``flask webhooks work``: webhook deliveries, then queued messages.

Run as many as you like, on one machine or several: they share the queues through the database
(leased claims), so no delivery or message is sent by two of them at once. Messages are normally
sent by the request that queued them, right after its commit; the worker sends what that missed.
SIGTERM/SIGINT finish the delivery in hand and stop.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from app.config import Settings
from app.extensions import db
from app.models.base import utcnow
from app.services.challenges import passkeys, sent_codes
from app.services.delivery import messages, worker

log = logging.getLogger("tollgate.webhooks")
PRUNE_EVERY = timedelta(hours=1)


def run_worker(
    *,
    settings: Settings,
    interval: float = 2.0,
    batch: int = worker.CLAIM_BATCH,
    keep_days: int = 30,
    stop: threading.Event | None = None,
    echo: Callable[[str], None] = log.info,
) -> None:
    """Deliver until ``stop`` is set: straight on while there is work, ``interval`` seconds apart when idle."""
    stop = stop or stop_on_signals()
    last_prune = 0.0
    with worker.HttpSender(allow_private_networks=settings.webhook_allow_private_networks) as sender:
        while not stop.is_set():
            try:
                report = worker.deliver_due(settings=settings, limit=batch, send=sender)
                sent = messages.send_due(settings=settings, limit=batch)
                if time.monotonic() - last_prune > PRUNE_EVERY.total_seconds():
                    pruned = worker.prune(older_than=timedelta(days=keep_days), now=utcnow())
                    pruned += messages.prune(older_than=timedelta(days=keep_days), now=utcnow())
                    # The one background process every deployment runs also sweeps stale challenges.
                    purged = passkeys.purge_challenges(now=utcnow()) + sent_codes.purge_challenges(now=utcnow())
                    last_prune = time.monotonic()
                    if pruned:
                        echo(f"webhooks: pruned {pruned} finished event(s) and message(s) older than {keep_days} days")
                    if purged:
                        echo(f"challenges: deleted {purged} expired WebAuthn and code challenge(s)")
            except SQLAlchemyError as exc:  # the database restarting must not end the worker
                db.session.rollback()
                echo(f"webhooks: database error, retrying in {interval}s: {exc}")
                stop.wait(interval)
                continue
            if report.attempted:
                echo(f"webhooks: {report.sent} delivered, {report.retrying} to retry, {report.failed} failed")
            if sent.attempted:
                echo(f"messages: {sent.sent} sent, {sent.retrying} to retry, {sent.failed} failed")
            if not (report.attempted or sent.attempted):
                stop.wait(interval)


def stop_on_signals() -> threading.Event:
    """An event SIGTERM and SIGINT set: workers finish what they hold, then stop."""
    stop = threading.Event()

    def handle(signum, _frame):
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)
    return stop
