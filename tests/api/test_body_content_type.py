"""A /v1 body is JSON or nothing: any other content type is a 415, never a body read as empty."""

from __future__ import annotations

import io

import pytest

from app.models.base import utcnow
from app.services.decisions.action_state import query_user_actions
from tests.factories import make_action, rule

TRACK = "/users/alice/actions/withdraw-funds"
CUSTOM = b'{"custom": {"amount": 20000}}'


@pytest.fixture
def big_amounts_blocked(app, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Big", 0, "BLOCK", {">": [{"var": "custom.amount"}, 10000]}),
    ])


def assert_unsupported(response):
    assert response.status_code == 415
    assert response.content_type == "application/json"
    body = response.get_json()
    assert body["error"] == body["errorCode"] == "unsupported_media_type"
    assert "Content-Type: application/json" in body["errorDescription"]


@pytest.mark.parametrize("content_type", [
    "application/x-www-form-urlencoded",  # what `curl -d` sends
    "multipart/form-data; boundary=x",
    "text/plain",
    "application/xml",
    None,
])
def test_a_body_that_is_not_declared_json_is_refused(api, app, tenant, big_amounts_blocked, content_type):
    headers = {"Content-Type": content_type} if content_type else {}

    assert_unsupported(api.post(TRACK, data=CUSTOM, headers=headers))
    with app.app_context():  # nothing was decided on the body's behalf
        assert query_user_actions(tenant.id, "alice", from_date=None, codes=None, state=None, now=utcnow()) == []


def test_a_form_body_is_refused_on_every_method(api):
    tracked = api.post("/users/alice/actions/sign-in", json={}).get_json()
    form = {"data": b"state=REVIEW_SUCCEEDED", "content_type": "application/x-www-form-urlencoded"}

    assert_unsupported(api.patch(f"/users/alice/actions/sign-in/{tracked['idempotencyKey']}", **form))
    assert_unsupported(api.patch("/users/alice", **form))
    assert_unsupported(api.delete("/users/alice", **form))
    assert_unsupported(api.post("/validate", **form))


def test_the_client_api_refuses_it_too(api, client):
    token = api.post("/users/alice/actions/sign-in", json={}).get_json()["token"]

    response = client.post("/v1/client/verify/totp", data={"verificationCode": "123456"},
                           headers={"Authorization": f"Bearer {token}"})

    assert_unsupported(response)


@pytest.mark.parametrize("content_type", [
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON",
    "application/vnd.tollgate+json",
])
def test_json_under_any_of_its_names_is_read(api, big_amounts_blocked, content_type):
    response = api.post(TRACK, data=CUSTOM, headers={"Content-Type": content_type})

    assert response.status_code == 200
    assert response.get_json()["state"] == "BLOCK"


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_no_body_needs_no_json_content_type(api, content_type):
    headers = {"Content-Type": content_type} if content_type else {}

    response = api.post("/users/alice/actions/sign-in", data=b"", headers=headers)

    assert response.status_code == 200
    assert response.get_json()["state"] == "ALLOW"


def test_a_chunked_body_has_no_length_but_is_a_body(api):
    response = api.post(TRACK, input_stream=io.BytesIO(CUSTOM),
                        headers={"Transfer-Encoding": "chunked", "Content-Type": "text/plain"})

    assert_unsupported(response)
