"""Send limits against SMS pumping: the email codes' limits (tests/api/test_send_limits.py), the same
code path, for numbers; a user's hourly sends (number after number typed on the enrolment page);
and a client address's on the client API and the hosted pages, never on the server API (all of its
calls come from the integrator's backend). Past any, 429 with Retry-After and nothing kept; /metrics
shows the sends and who is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CodeChallenge, OutboundMessage
from tests.api.test_client_api_email_otp import bearer, track
from tests.api.test_metrics import TOKEN, scrape, value
from tests.factories import make_action
from tests.html import parse, text_of

ACTION = "change-email"  # the email tests' helpers track it
NUMBER = "+447400123456"


@pytest.fixture(autouse=True)
def text_action(app, tenant):
    make_action(app, tenant.id, ACTION, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                verification_methods=["SMS", "WHATSAPP"])


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.execute(select(func.count()).select_from(OutboundMessage)).scalar_one(),
                db.session.execute(select(func.count()).select_from(CodeChallenge)).scalar_one())


def ask(client, tracked: dict, method: str = "sms"):
    return client.post(f"/v1/client/challenge/{method}", headers=bearer(tracked["token"]))


def enrol(client, tracked: dict, number: str):
    return client.post("/v1/client/user-authenticators/sms", headers=bearer(tracked["token"]),
                       json={"phoneNumber": number})


def test_a_number_gets_so_many_codes_an_hour_over_sms_and_whatsapp_then_429(app, api, client, override_settings):
    override_settings(sends_per_destination_per_hour=3)
    for n, method in enumerate(("SMS", "WHATSAPP", "SMS", "WHATSAPP")):
        api.post(f"/users/u{n}/authenticators", json={"verificationMethod": method, "phoneNumber": NUMBER})
    users = [track(api, f"u{n}") for n in range(4)]

    methods = ("sms", "whatsapp", "sms", "whatsapp")
    answers = [ask(client, tracked, method) for tracked, method in zip(users, methods, strict=True)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 3500 <= int(answers[-1].headers["Retry-After"]) <= 3600
    assert answers[-1].get_json()["errorCode"] == "too_many_requests"
    assert counts(app) == (3, 3)  # nothing of the refused ask was kept


def test_one_user_typing_number_after_number_is_stopped_at_the_users_limit(app, api, client, override_settings):
    override_settings(sends_per_user_per_hour=3)
    tracked = track(api)

    answers = [enrol(client, tracked, f"+4474001234{n:02d}") for n in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["Retry-After"]) > 3500
    assert "for you" in answers[-1].get_json()["errorDescription"]
    assert counts(app) == (3, 3)


def test_one_client_address_asking_for_many_users_is_stopped_but_the_server_api_is_not(app, api, client, override_settings):
    override_settings(sends_per_client_address_per_hour=2)
    users = [track(api, f"u{n}") for n in range(3)]

    answers = [enrol(client, tracked, f"+4474001234{n:02d}") for n, tracked in enumerate(users)]
    from_backend = [api.post("/challenge", json={"verificationMethod": "SMS", "action": "sign-in",
                                                 "phoneNumber": f"+4915112345{n:03d}"}).status_code for n in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[-1].headers["Retry-After"] == "3600"
    assert from_backend == [200, 200, 200]


def test_the_hosted_page_counts_against_the_client_address_too(app, api, client, override_settings):
    override_settings(sends_per_client_address_per_hour=1)
    first, second = track(api, "u1"), track(api, "u2")
    client.post("/challenge/sms/enrol", data={"token": first["token"], "phone_number": "+447400123401"})

    refused = client.post("/challenge/sms/enrol", data={"token": second["token"], "phone_number": "+447400123402"})

    assert refused.status_code == 429
    assert "Too many codes were asked for from your network" in text_of(parse(refused).find(id="phone-error"))


def test_metrics_show_the_sends_and_who_is_refused(app, api, client, override_settings):
    override_settings(sends_per_destination_per_hour=1, sends_per_client_address_per_hour=1, metrics_token=TOKEN)
    for n in range(2):
        api.post(f"/users/u{n}/authenticators", json={"verificationMethod": "SMS", "phoneNumber": NUMBER})
    assert ask(client, track(api, "u0")).status_code == 200
    assert ask(client, track(api, "u1")).status_code == 429

    samples = scrape(client)

    assert value(samples, "tollgate_messages_last_5m", channel="sms", status="sent") == 1  # the development outbox
    assert value(samples, "tollgate_messages_last_5m", channel="email", status="queued") == 0
    assert value(samples, "tollgate_message_destinations_at_limit", channel="sms") == 1
    assert value(samples, "tollgate_code_send_refused_addresses") == 1
