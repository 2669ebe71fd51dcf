"""Send limits on codes: an address gets at most TOLLGATE_SENDS_PER_DESTINATION_PER_HOUR messages an
hour and a tenant TOLLGATE_SENDS_PER_TENANT_PER_MINUTE a minute, whoever asks (the bound on mail
bombing and SMS pumping through a client flow). Past either the ask is 429 with Retry-After and
nothing of it is kept, exactly at the limit however many ask at once."""


import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CodeChallenge, OutboundMessage
from tests.api.test_client_api_email_otp import ACTION, bearer, track
from tests.concurrency import at_once
from tests.factories import make_action

SHARED = "shared@example.com"


@pytest.fixture(autouse=True)
def email_action(app, tenant):
    make_action(app, tenant.id, ACTION, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                verification_methods=["EMAIL_OTP"])


@pytest.fixture
def limits(override_settings):
    def set_limits(*, per_destination: int = 10, per_tenant: int = 600) -> None:
        override_settings(sends_per_destination_per_hour=per_destination, sends_per_tenant_per_minute=per_tenant)
    return set_limits


def enrolled_user(api, user_id: str, email: str) -> dict:
    """A user whose backend enrolled ``email``, tracked into a challenge: the track's answer."""
    enrolled = api.post(f"/users/{user_id}/authenticators", json={"verificationMethod": "EMAIL_OTP", "email": email})
    assert enrolled.status_code == 200, enrolled.get_json()
    return track(api, user_id)


def ask_for_code(client, tracked: dict):
    return client.post("/v1/client/challenge/email-otp", headers=bearer(tracked["token"]))


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.execute(select(func.count()).select_from(OutboundMessage)).scalar_one(),
                db.session.execute(select(func.count()).select_from(CodeChallenge)).scalar_one())


def test_an_address_gets_so_many_codes_an_hour_whoever_asks_then_429(app, api, client, limits):
    limits(per_destination=3)
    users = [enrolled_user(api, f"u{n}", SHARED if n % 2 else SHARED.upper()) for n in range(4)]  # case is no way round
    other = enrolled_user(api, "u9", "someone.else@example.com")

    answers = [ask_for_code(client, tracked) for tracked in users]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.get_json()["errorCode"] == "too_many_requests"
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600  # when the first of the hour leaves the window
    assert counts(app) == (3, 3)  # nothing of the refused ask was kept: no message, no challenge
    assert ask_for_code(client, other).status_code == 200  # another address is not held up


def test_a_tenant_sends_so_many_codes_a_minute_then_429(app, api, client, limits):
    limits(per_tenant=2)
    users = [enrolled_user(api, f"u{n}", f"user{n}@example.com") for n in range(3)]

    answers = [ask_for_code(client, tracked) for tracked in users]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[-1].headers["Retry-After"] == "60"
    assert counts(app) == (2, 2)


def test_asks_at_once_get_exactly_the_limit_between_them(app, api, limits):
    limits(per_destination=3)
    users = [enrolled_user(api, f"u{n}", SHARED) for n in range(8)]

    statuses = at_once(*[lambda tracked=tracked: ask_for_code(app.test_client(), tracked).status_code
                         for tracked in users])

    assert sorted(statuses) == [200] * 3 + [429] * 5
    assert counts(app) == (3, 3)
