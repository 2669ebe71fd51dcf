"""GET /metrics: off unless the operator sets a token, then the numbers operators alert on, in
Prometheus' text format, read from the database on every scrape with a few fixed statements."""

from __future__ import annotations

import base64
from datetime import timedelta
from importlib.metadata import version

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from app import create_app
from app.domain.decision import ActionState
from app.extensions import db
from app.models import AddressFailure, Tenant, UserAction, WebhookDelivery
from app.models.base import utcnow
from app.services.delivery.worker import MAX_ATTEMPTS, SendResult, deliver_due
from app.services.reviews.sla import set_review_sla
from app.services.tenancy.api_keys import create_api_key
from tests.api.test_client_api_totp import bearer, enroll, wrong_code
from tests.api.test_webhooks_outbox import add_endpoint
from tests.conftest import ApiClient
from tests.factories import make_action, rule
from tests.sql_statements import statements

TOKEN = "scrape-" + "s" * 32
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}
STATEMENTS_PER_SCRAPE = 10


@pytest.fixture
def metrics_on(app, override_settings):
    """The app with TOLLGATE_METRICS_TOKEN set, for the duration of one test."""
    override_settings(metrics_token=TOKEN)


def scrape(client) -> dict[str, dict[tuple, float]]:
    """Every sample of one scrape: {metric name: {(label, value) pairs: value}}, parsed as Prometheus would."""
    response = client.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples[name][tuple(sorted(labels.items()))]


def track(api, action: str, user_id: str = "alice", **body) -> dict:
    response = api.post(f"/users/{user_id}/actions/{action}", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def make_review_action(app, tenant_id: str) -> None:
    make_action(app, tenant_id, "withdraw", rules=[rule("Big", 0, "REVIEW", {">": [{"var": "custom.amount"}, 1000]})])


# -- access -----------------------------------------------------------------------------------------


def test_metrics_are_off_unless_a_token_is_set(client):
    response = client.get("/metrics", headers=SCRAPE)

    assert response.status_code == 404
    assert response.get_data() == client.get("/no-such-page").get_data()  # nothing says it exists


@pytest.mark.parametrize("authorization", [
    None,
    "Bearer wrong-token-of-the-right-kind-xx",
    f"Bearer {TOKEN}x",
    f"Basic {TOKEN}",
    TOKEN,
    "Bearer",
])
def test_a_scrape_without_the_token_is_refused(client, metrics_on, authorization):
    response = client.get("/metrics", headers={"Authorization": authorization} if authorization else {})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert b"tollgate_" not in response.get_data()


def test_the_token_opens_the_exposition_which_no_cache_keeps(client, metrics_on):
    response = client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})  # the scheme is case-blind

    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert response.headers["Cache-Control"] == "no-store"


def test_any_token_the_setting_accepts_works_whole(app, client, override_settings):
    token = "base64ish=token/with+signs=="  # an inner "=" is where a generic header parser gives up
    override_settings(metrics_token=token)

    assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer base64ish"}).status_code == 401


# -- the numbers ------------------------------------------------------------------------------------


def test_an_empty_instance_reports_zeros_and_its_version(client, metrics_on):
    samples = scrape(client)

    assert value(samples, "tollgate_build_info", version=version("tollgate")) == 1
    assert {value(samples, "tollgate_actions_tracked_last_5m", state=s.value) for s in ActionState} == {0}
    for name in ("tollgate_reviews_waiting", "tollgate_reviews_overdue", "tollgate_review_oldest_waiting_age_seconds",
                 "tollgate_webhook_delivery_lag_seconds", "tollgate_verification_failures_last_5m",
                 "tollgate_api_key_failures_last_1m", "tollgate_api_key_refused_addresses"):
        assert value(samples, name) == 0, name
    assert value(samples, "tollgate_webhook_deliveries", status="pending") == 0
    assert value(samples, "tollgate_webhook_deliveries", status="failed") == 0


def test_recent_actions_are_counted_by_the_state_they_are_in_now(app, api, client, tenant, metrics_on):
    make_review_action(app, tenant.id)
    track(api, "withdraw", custom={"amount": 5})
    track(api, "withdraw", user_id="bob", custom={"amount": 5})
    decided = track(api, "withdraw", custom={"amount": 5000})
    track(api, "withdraw", user_id="bob", custom={"amount": 9000})
    api.patch(f"/users/alice/actions/withdraw/{decided['idempotencyKey']}", json={"state": "REVIEW_SUCCEEDED"})
    with app.app_context():  # tracked before the window: no longer recent
        old = track(api, "withdraw", user_id="carol", custom={"amount": 5})
        db.session.execute(update(UserAction).where(UserAction.idempotency_key == old["idempotencyKey"])
                           .values(created_at=utcnow() - timedelta(minutes=6)))
        db.session.commit()

    samples = scrape(client)

    counts = {s.value: value(samples, "tollgate_actions_tracked_last_5m", state=s.value) for s in ActionState}
    assert counts == {**dict.fromkeys(counts, 0), "ALLOW": 2, "REVIEW_REQUIRED": 1, "REVIEW_SUCCEEDED": 1}


def test_the_review_queue_its_oldest_case_and_the_cases_past_their_deadline(app, api, client, tenant, metrics_on):
    make_review_action(app, tenant.id)
    with app.app_context():
        set_review_sla(tenant.id, "withdraw", deadline_minutes=60)
    waiting = [track(api, "withdraw", user_id=user, custom={"amount": 5000}) for user in ("alice", "bob", "carol")]
    with app.app_context():  # alice's case has waited two hours, bob's half an hour
        for tracked, waited in zip(waiting, (timedelta(hours=2), timedelta(minutes=30)), strict=False):
            db.session.execute(update(UserAction).where(UserAction.idempotency_key == tracked["idempotencyKey"])
                               .values(created_at=utcnow() - waited, state_updated_at=utcnow() - waited))
        db.session.commit()

    samples = scrape(client)

    assert value(samples, "tollgate_reviews_waiting") == 3
    assert value(samples, "tollgate_reviews_overdue") == 1
    assert 2 * 3600 <= value(samples, "tollgate_review_oldest_waiting_age_seconds") < 2 * 3600 + 60

    api.patch(f"/users/alice/actions/withdraw/{waiting[0]['idempotencyKey']}", json={"state": "REVIEW_FAILED"})
    samples = scrape(client)
    assert value(samples, "tollgate_reviews_waiting") == 2
    assert value(samples, "tollgate_reviews_overdue") == 0
    assert 1800 <= value(samples, "tollgate_review_oldest_waiting_age_seconds") < 1800 + 60


def test_webhook_deliveries_left_to_send_given_up_on_and_the_lag_a_stuck_worker_leaves(
    app, api, client, tenant, settings, metrics_on,
):
    add_endpoint(app, tenant.id, events=["action.created"])
    track(api, "login")
    with app.app_context():  # a receiver that never accepts: the worker gives up after its last attempt
        for attempt in range(1, MAX_ATTEMPTS + 1):
            report = deliver_due(settings=settings, now=utcnow() + timedelta(days=attempt),
                                 send=lambda url, body, headers: SendResult(500, "HTTP 500"))
            assert report.attempted == 1
    track(api, "login", user_id="bob")

    samples = scrape(client)

    assert value(samples, "tollgate_webhook_deliveries", status="failed") == 1
    assert value(samples, "tollgate_webhook_deliveries", status="pending") == 1
    assert value(samples, "tollgate_webhook_delivery_lag_seconds") < 60  # due just now

    with app.app_context():  # no worker has run for ten minutes
        db.session.execute(update(WebhookDelivery).where(WebhookDelivery.status == "pending")
                           .values(next_attempt_at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
    assert 600 <= value(scrape(client), "tollgate_webhook_delivery_lag_seconds") < 660


def test_wrong_codes_entered_recently(app, api, client, tenant, metrics_on):
    make_action(app, tenant.id, "withdraw", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")
    token = track(api, "withdraw")["token"]
    secret = enroll(client, token).get_json()["secret"]
    for _ in range(2):
        response = client.post("/v1/client/verify/totp", headers=bearer(token), json={"verificationCode": wrong_code(secret)})
        assert response.get_json()["isVerified"] is False

    assert value(scrape(client), "tollgate_verification_failures_last_5m") == 2


def test_invalid_api_keys_of_the_last_minute_and_the_addresses_refused_now(app, client, tenant, metrics_on,
                                                                           override_settings):
    override_settings(api_key_failures_per_minute=3)
    wrong = {"Authorization": "Basic " + base64.b64encode(b"tg_sk_wrong:").decode()}
    for address, attempts in (("203.0.113.9", 5), ("198.51.100.7", 1)):
        for _ in range(attempts):
            client.get("/v1/users/alice", headers=wrong, environ_base={"REMOTE_ADDR": address})
    client.get("/v1/users/alice", headers=wrong, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    with app.app_context():  # that one a little over a minute ago: the limit no longer counts it
        db.session.execute(update(AddressFailure).where(AddressFailure.client_ip == "192.0.2.1")
                           .values(failed_at=utcnow() - timedelta(seconds=61)))
        db.session.commit()

    samples = scrape(client)

    assert value(samples, "tollgate_api_key_failures_last_1m") == 3 + 1  # the refused two are not failures
    assert value(samples, "tollgate_api_key_refused_addresses") == 1


def test_another_instance_on_the_same_database_answers_the_same(app, app_env, api, client, tenant, metrics_on):
    make_review_action(app, tenant.id)
    track(api, "withdraw", custom={"amount": 5000})
    other = create_app({**app_env, "TOLLGATE_METRICS_TOKEN": TOKEN})
    try:
        mine, theirs = scrape(client), scrape(other.test_client())
    finally:
        with other.app_context():
            db.engine.dispose()

    age = "tollgate_review_oldest_waiting_age_seconds"  # read a moment later
    assert theirs.pop(age)[()] == pytest.approx(mine.pop(age)[()], abs=5)
    assert theirs == mine


# -- cost -------------------------------------------------------------------------------------------


def statements_of_one_scrape(app, client) -> list[str]:
    with statements(app) as seen:
        scrape(client)
    return seen


def test_a_scrape_is_the_same_few_statements_however_much_there_is(app, api, client, tenant, settings, metrics_on):
    empty = statements_of_one_scrape(app, client)

    make_review_action(app, tenant.id)
    make_action(app, tenant.id, "pay", rules=[rule("Big", 0, "REVIEW", {">": [{"var": "custom.amount"}, 1000]})])
    with app.app_context():
        set_review_sla(tenant.id, "withdraw", deadline_minutes=60)
        set_review_sla(tenant.id, "pay", deadline_minutes=5)
        other = Tenant(name="Other tenant")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
        _, other_key = create_api_key(other_id, name="other", settings=settings)
    make_review_action(app, other_id)
    add_endpoint(app, tenant.id)
    for api_client in (api, ApiClient(client, other_key)):
        for amount in (5, 5000):
            track(api_client, "withdraw", custom={"amount": amount})

    busy = statements_of_one_scrape(app, client)

    assert len(empty) == STATEMENTS_PER_SCRAPE - 1, empty  # no review deadline to check yet
    assert len(busy) == STATEMENTS_PER_SCRAPE, busy
    assert all(s.lstrip().upper().startswith("SELECT") for s in busy)
