"""``GET /metrics``: the operational numbers in Prometheus' text format, for a scraper.

Off unless ``TOLLGATE_METRICS_TOKEN`` is set: then it answers 404 like any unknown path, so it
tells nobody it exists. On, only ``Authorization: Bearer <token>`` (what Prometheus'
``authorization: credentials`` sends) gets the numbers. Every value comes from the database at
scrape time (services.operations.metrics), so any worker of any instance answers the same.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from importlib.metadata import version

from flask import Blueprint, Response, abort, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.config import current_settings
from app.models.base import utcnow
from app.services.limits.address_failures import API_KEY
from app.services.operations.metrics import WINDOW, MetricsSnapshot, take_snapshot

bp = Blueprint("metrics", __name__)

VERSION = version("tollgate")  # package metadata; fixed for the life of the process
_WINDOW_MINUTES = int(WINDOW.total_seconds()) // 60
RECENT, RECENT_TEXT = f"last_{_WINDOW_MINUTES}m", f"in the last {_WINDOW_MINUTES} minutes"
# Invalid API keys are kept only as long as their limit counts them, so they are shown over that window.
_KEY_WINDOW_MINUTES = int(API_KEY.window.total_seconds()) // 60
KEY_RECENT, KEY_RECENT_TEXT = (f"last_{_KEY_WINDOW_MINUTES}m", "in the last minute" if _KEY_WINDOW_MINUTES == 1
                               else f"in the last {_KEY_WINDOW_MINUTES} minutes")


@bp.get("/metrics")
def metrics_show():
    token = current_settings().metrics_token
    if token is None:
        abort(404)
    if not _bearer_matches(token):
        return Response("A valid Bearer token is required.\n", 401, mimetype="text/plain",
                        headers={"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"})
    # A fresh registry per scrape: it holds nothing between requests, the database holds it all.
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(take_snapshot(settings=current_settings(), now=utcnow())))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def _bearer_matches(expected: str) -> bool:
    # Parsed by hand: werkzeug reads a token with an inner "=" as auth parameters and drops it.
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


class SnapshotCollector(Collector):
    """One snapshot as metric families."""

    def __init__(self, snapshot: MetricsSnapshot):
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        build = GaugeMetricFamily("tollgate_build_info", "The running Tollgate version; always 1.", labels=["version"])
        build.add_metric([VERSION], 1)
        yield build

        actions = GaugeMetricFamily(f"tollgate_actions_tracked_{RECENT}",
                                    f"Actions tracked {RECENT_TEXT}, by the state they are in now.", labels=["state"])
        for state, count in s.recent_actions.items():
            actions.add_metric([state.value], count)
        yield actions

        yield GaugeMetricFamily("tollgate_reviews_waiting", "Cases in the review queue (REVIEW_REQUIRED).",
                                value=s.reviews_waiting)
        yield GaugeMetricFamily("tollgate_reviews_overdue", "Waiting cases past their action's review deadline.",
                                value=s.reviews_overdue)
        yield GaugeMetricFamily("tollgate_review_oldest_waiting_age_seconds",
                                "How long the oldest waiting case has waited; 0 when the queue is empty.",
                                value=s.oldest_review_age.total_seconds())

        deliveries = GaugeMetricFamily("tollgate_webhook_deliveries",
                                       "Webhook deliveries still to send (pending) or given up on (failed).",
                                       labels=["status"])
        for status, count in s.webhook_deliveries.items():
            deliveries.add_metric([status], count)
        yield deliveries
        yield GaugeMetricFamily("tollgate_webhook_delivery_lag_seconds",
                                "How long the most overdue pending delivery has been due; grows when no worker runs.",
                                value=s.webhook_delivery_lag.total_seconds())

        yield GaugeMetricFamily(f"tollgate_verification_failures_{RECENT}", f"Wrong codes entered {RECENT_TEXT}.",
                                value=s.recent_failed_verifications)

        yield GaugeMetricFamily(f"tollgate_api_key_failures_{KEY_RECENT}",
                                f"Invalid API keys answered 401 {KEY_RECENT_TEXT}; an address stops adding to it "
                                "once it is refused.",
                                value=s.api_key_failures.failures)
        yield GaugeMetricFamily("tollgate_api_key_refused_addresses",
                                "Client addresses whose invalid API keys are refused now (429): they reached "
                                "TOLLGATE_API_KEY_FAILURES_PER_MINUTE.",
                                value=s.api_key_failures.refused_addresses)

        sent = GaugeMetricFamily(f"tollgate_messages_{RECENT}",
                                 f"Codes and links queued {RECENT_TEXT}, by channel (email, sms, whatsapp) and the "
                                 "status they are in now (queued, sent, failed).", labels=["channel", "status"])
        for (channel, status), count in s.recent_messages.items():
            sent.add_metric([channel, status], count)
        yield sent
        limited = GaugeMetricFamily("tollgate_message_destinations_at_limit",
                                    "Addresses and numbers sent TOLLGATE_SENDS_PER_DESTINATION_PER_HOUR messages "
                                    "within the hour: further codes to them are refused (429). Many at once, on "
                                    "sms, is what SMS pumping looks like.", labels=["channel"])
        for channel, count in s.destinations_at_limit.items():
            limited.add_metric([channel], count)
        yield limited
        yield GaugeMetricFamily("tollgate_code_send_refused_addresses",
                                "Client addresses whose asks for codes are refused now (429): they reached "
                                "TOLLGATE_SENDS_PER_CLIENT_ADDRESS_PER_HOUR on the client API and hosted pages.",
                                value=s.code_sends.refused_addresses)
