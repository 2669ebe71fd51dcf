"""What a JSON body may hold: finite numbers only (RFC 8259), nested at most 64 deep; on every API."""

from __future__ import annotations

import pytest

from app.models.base import utcnow
from app.services.decisions.action_state import query_user_actions
from app.services.end_users.users import find_user
from tests.factories import make_action, rule

TRACK = "/users/alice/actions/withdraw-funds"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def big_amounts_reviewed(app, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Big", 0, "REVIEW", {">": [{"var": "custom.amount"}, 10000]}),
    ])


def error_of(response, status=400) -> str:
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == body["errorCode"] == "invalid_request"
    return body["errorDescription"]


@pytest.mark.parametrize(("amount", "problem"), [
    ("1e400", "number out of range"),
    ("-1e400", "number out of range"),
    ("1" + "0" * 400, "number out of range"),
    ("NaN", "not a finite number"),
    ("Infinity", "not a finite number"),
    ("-Infinity", "not a finite number"),
])
def test_a_number_that_is_not_a_finite_double_is_refused_by_name(api, app, tenant, big_amounts_reviewed,
                                                                  amount, problem):
    body = b'{"custom": {"currency": "EUR", "amount": %s}}' % amount.encode()

    assert error_of(api.post(TRACK, data=body, headers=JSON)) == f"custom.amount: {problem}"
    with app.app_context():  # not decided (it used to be REVIEW), not stored
        assert query_user_actions(tenant.id, "alice", from_date=None, codes=None, state=None, now=utcnow()) == []


def test_large_and_tiny_finite_numbers_are_still_numbers(api, big_amounts_reviewed):
    response = api.post(TRACK, data=b'{"custom": {"amount": 1.5e308, "rate": 1e-400}}', headers=JSON)

    assert response.status_code == 200
    assert response.get_json()["state"] == "REVIEW_REQUIRED"


def test_a_user_is_not_stored_with_one(api, app, tenant):
    response = api.patch("/users/alice", data=b'{"email": "a@example.com", "custom": {"score": NaN}}', headers=JSON)

    assert error_of(response) == "custom.score: not a finite number"
    with app.app_context():
        assert find_user(tenant.id, "alice") is None


def test_the_client_api_names_the_field_too(api, client):
    token = api.post("/users/alice/actions/sign-in", json={}).get_json()["token"]
    body = b'{"authenticationCredential": {"id": "x", "response": {"counter": [1, Infinity]}}}'

    response = client.post("/v1/client/verify/passkey", data=body,
                           headers={**JSON, "Authorization": f"Bearer {token}"})

    assert error_of(response) == "authenticationCredential.response.counter[1]: not a finite number"


@pytest.mark.parametrize("body", [
    b'{"custom": {"list": ' + b"[" * 10_000 + b"]" * 10_000 + b"}}",
    b'{"custom": ' * 5_000 + b"1" + b"}" * 5_000,
    b"[" * 65 + b"]" * 65,
])
def test_deep_nesting_is_refused_with_the_limit(api, body):
    assert error_of(api.post(TRACK, data=body, headers=JSON)) == "JSON nested too deeply (limit 64)."


def test_the_client_api_refuses_deep_nesting_too(api, client):
    token = api.post("/users/alice/actions/sign-in", json={}).get_json()["token"]
    body = b'{"registrationCredential": ' + b'{"a": ' * 100 + b"1" + b"}" * 101

    response = client.post("/v1/client/user-authenticators/passkey", data=body,
                           headers={**JSON, "Authorization": f"Bearer {token}"})

    assert error_of(response) == "JSON nested too deeply (limit 64)."


def test_brackets_inside_strings_do_not_nest(api):
    body = b'{"custom": {"note": "' + b"[{" * 500 + b'"}}'

    assert api.post("/users/alice/actions/sign-in", data=body, headers=JSON).status_code == 200
