"""Invalid API keys are limited per client address (TOLLGATE_API_KEY_FAILURES_PER_MINUTE), counted in
the database so the limit holds across workers and instances; valid keys are never refused or slowed."""

from __future__ import annotations

import base64
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app import create_app
from app.extensions import db
from app.models import AddressFailure
from app.models.base import utcnow
from app.services.tenancy.api_keys import find_api_key
from tests.api.test_client_api_passkeys import call, tenant_basic
from tests.concurrency import at_once
from tests.sql_statements import statements

ELSEWHERE = {"REMOTE_ADDR": "198.51.100.7"}
REFUSED = {"error": "too_many_requests", "errorCode": "too_many_requests",
           "errorDescription": "Too many requests with an invalid API key from this address. Try again in a minute."}


def secret_key(raw: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{raw}:".encode()).decode()}


WRONG = secret_key("tg_sk_" + "w" * 40)


def user(client, headers: dict, **kwargs):
    return client.get("/v1/users/alice", headers=headers, **kwargs)


@pytest.fixture
def three_a_minute(app, override_settings):
    """TOLLGATE_API_KEY_FAILURES_PER_MINUTE=3, for this test."""
    override_settings(api_key_failures_per_minute=3)


def failures(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(select(AddressFailure.kind, AddressFailure.client_ip))]


def test_wrong_secret_keys_past_the_limit_are_refused_with_429_and_retry_after(app, client, tenant, settings):
    assert settings.api_key_failures_per_minute == 100  # the default

    answers = [user(client, WRONG) for _ in range(200)]

    assert Counter(response.status_code for response in answers) == {401: 100, 429: 100}
    assert [response.status_code for response in answers[99:101]] == [401, 429]
    refused = answers[-1]
    assert (refused.content_type, refused.headers["Retry-After"], refused.get_json()) == (
        "application/json", "60", REFUSED)
    assert len(failures(app)) == 100  # refusals are not counted: a flood adds nothing more


def test_wrong_secret_keys_sent_at_once_get_exactly_the_limit_of_401s(app, tenant):
    answers = at_once(*[lambda: user(app.test_client(), WRONG).status_code] * 200)

    assert Counter(answers) == {401: 100, 429: 100}
    assert len(failures(app)) == 100


def test_a_valid_key_from_a_refused_address_is_served_as_usual(client, tenant, three_a_minute):
    for _ in range(4):
        user(client, WRONG)

    assert user(client, WRONG).status_code == 429
    assert user(client, secret_key(tenant.api_key)).status_code == 200


def test_the_limit_is_per_address_and_per_rolling_minute(app, client, tenant, three_a_minute):
    for _ in range(3):
        assert user(client, WRONG).status_code == 401
    assert user(client, WRONG).status_code == 429

    assert user(client, WRONG, environ_base=ELSEWHERE).status_code == 401
    with app.app_context():
        db.session.execute(update(AddressFailure).values(failed_at=utcnow() - timedelta(seconds=61)))
        db.session.commit()
    assert user(client, WRONG).status_code == 401


def test_an_ipv6_client_cannot_dodge_the_limit_by_changing_address_within_its_64(client, tenant, three_a_minute):
    addresses = [f"2001:db8:1:2::{n}" for n in range(1, 5)]
    answers = [user(client, WRONG, environ_base={"REMOTE_ADDR": a}).status_code for a in addresses]

    assert answers == [401, 401, 401, 429]
    assert user(client, WRONG, environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 401  # another /64


def test_revoked_keys_count_and_missing_keys_do_not(app, client, tenant, three_a_minute):
    with app.app_context():
        find_api_key(tenant.api_key).revoked_at = utcnow()
        db.session.commit()

    assert [user(client, {}).status_code for _ in range(5)] == [401] * 5
    assert [user(client, secret_key(tenant.api_key)).status_code for _ in range(4)] == [401, 401, 401, 429]
    assert failures(app) == [("api_key", "127.0.0.1")] * 3


def test_the_count_is_shared_by_every_instance_on_the_database(app, app_env, client, tenant, three_a_minute):
    other = create_app({**app_env, "TOLLGATE_API_KEY_FAILURES_PER_MINUTE": "3"})
    try:
        for _ in range(3):
            assert user(other.test_client(), WRONG).status_code == 401
    finally:
        with other.app_context():
            db.engine.dispose()  # its own pool: close it before psycopg's connections are collected

    assert user(client, WRONG).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(app, app_env, tenant):
    behind_proxy = create_app({**app_env, "TOLLGATE_TRUSTED_PROXY_HOPS": "1"})
    try:
        user(behind_proxy.test_client(), {**WRONG, "X-Forwarded-For": "203.0.113.9"})
    finally:
        with behind_proxy.app_context():
            db.engine.dispose()

    assert failures(app) == [("api_key", "203.0.113.9")]


def test_unknown_tenants_on_the_client_api_count_against_the_same_limit(app, client, tenant, three_a_minute):
    unknown = tenant_basic("no-such-tenant")
    user(client, WRONG)
    for _ in range(2):
        assert call(client, "/challenge", headers=unknown).status_code == 401

    refused = call(client, "/challenge", headers=unknown)

    assert (refused.status_code, refused.headers["Retry-After"], refused.get_json()) == (429, "60", REFUSED)
    assert call(client, "/challenge", headers=tenant_basic(tenant.id)).status_code == 200


def test_a_valid_key_costs_no_statement_about_failures(app, client, tenant):
    user(client, secret_key(tenant.api_key))  # last use recorded: the next request is a pure read

    with statements(app) as seen:
        assert user(client, secret_key(tenant.api_key)).status_code == 200
        assert call(client, "/challenge", headers=tenant_basic(tenant.id)).status_code == 200

    assert seen and not [statement for statement in seen if "address_failure" in statement]
