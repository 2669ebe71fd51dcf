"""The review flow's webhooks over real HTTP: the official SDK tracks an action a REVIEW rule holds,
a reviewer approves it (the review service), the worker POSTs to a receiver on 127.0.0.1, and the
receiver checks X-Signature-V2 with its own HMAC code. update_action through the SDK does the same."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain.decision import ActionState
from app.extensions import db
from app.models import UserAction, WebhookEndpoint
from app.models.base import new_id, utcnow
from app.services.console.console_users import create_console_user
from app.services.delivery.worker import deliver_due
from tests.factories import make_action, rule
from tests.webhook_receiver import running_receiver

pytestmark = pytest.mark.sdk
ACTION = "payout"


@pytest.fixture
def receiver(tenant, private_networks_allowed):
    """On 127.0.0.1, which the worker may reach only with private networks allowed (as in development)."""
    with running_receiver(tenant.api_key) as running:
        yield running


@pytest.fixture
def review_action(app, tenant):
    make_action(app, tenant.id, ACTION, rules=[rule("Large payout", 0, "REVIEW", {">": [{"var": "custom.amount"}, 1000]})])


def subscribe(app, tenant_id: str, url: str, events: list[str]) -> None:
    with app.app_context():
        db.session.add(WebhookEndpoint(id=new_id(), tenant_id=tenant_id, url=url, description="", event_types=events,
                                       is_active=True, created_at=utcnow(), updated_at=utcnow()))
        db.session.commit()


def deliver(app) -> None:
    with app.app_context():
        report = deliver_due(settings=app.config["TOLLGATE"])
    assert report.failed == report.retrying == 0


def test_a_reviewer_approval_reaches_the_receiver_correctly_signed(app, tenant, authsignal_client, receiver,
                                                                     review_action):
    from app.services.reviews.decisions import decide_case

    url, received = receiver
    subscribe(app, tenant.id, url, ["action.review_decided"])
    tracked = authsignal_client.track("rev-1", ACTION, {"custom": {"amount": 25000}})
    assert tracked["state"] == "REVIEW_REQUIRED"
    with app.app_context():
        reviewer = create_console_user(tenant.id, email="rita@example.com", password="correct horse battery staple",
                                       role="reviewer", settings=app.config["TOLLGATE"])
        action_id = db.session.execute(
            select(UserAction.id).where(UserAction.idempotency_key == tracked["idempotency_key"])).scalar_one()
        decide_case(reviewer, action_id, ActionState.REVIEW_SUCCEEDED, "Known payee.", now=utcnow())

    deliver(app)

    [event] = received
    assert event["type"] == "action.review_decided" and event["tenantId"] == tenant.id
    assert event["data"]["idempotencyKey"] == tracked["idempotency_key"]
    assert (event["data"]["previousState"], event["data"]["state"]) == ("REVIEW_REQUIRED", "REVIEW_SUCCEEDED")
    assert authsignal_client.get_action("rev-1", ACTION, tracked["idempotency_key"])["state"] == "REVIEW_SUCCEEDED"


def test_update_action_through_the_sdk_sends_state_changed_and_review_decided(app, tenant, authsignal_client, receiver,
                                                                               review_action):
    url, received = receiver
    subscribe(app, tenant.id, url, ["action.created", "action.state_changed", "action.review_decided"])
    tracked = authsignal_client.track("rev-2", ACTION, {"custom": {"amount": 5000}})

    authsignal_client.update_action("rev-2", ACTION, tracked["idempotency_key"], {"state": "REVIEW_FAILED"})
    deliver(app)

    assert sorted(e["type"] for e in received) == ["action.created", "action.review_decided", "action.state_changed"]
    assert len({e["id"] for e in received}) == 3
    decided = next(e for e in received if e["type"] == "action.review_decided")
    assert (decided["data"]["state"], decided["data"]["source"]) == ("REVIEW_FAILED", "api")
