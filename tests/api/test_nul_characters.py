"""U+0000 is refused everywhere, the same on SQLite and PostgreSQL (whose text cannot hold it)."""

from __future__ import annotations

import pytest

from tests.html import parse, text_of


def assert_refused(response):
    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_request"
    assert "NUL character" in response.get_json()["errorDescription"]


def test_in_a_path(api):
    assert_refused(api.get("/users/ann%00/actions"))


def test_in_a_query_string(api):
    assert_refused(api.get("/users?email=ann%00@example.com"))


@pytest.mark.parametrize("body", [
    b'{"userAgent": "Mozilla\\u0000"}',
    b'{"custom": {"note\\u0000": 1}}',
    b'{"custom": {"note": "a\\\\\\u0000"}}',  # an escaped backslash, then the escape
])
def test_in_a_json_body(api, body):
    assert_refused(api.post("/users/ann/actions/sign-in", data=body, content_type="application/json"))


def test_the_text_backslash_u0000_is_not_a_nul(api):
    # JSON "\\u0000" is a backslash followed by "u0000": ordinary text.
    response = api.post("/users/ann/actions/sign-in", data=b'{"custom": {"note": "\\\\u0000"}}',
                        content_type="application/json")

    assert response.status_code == 200


def test_in_a_client_api_body(api, client):
    token = api.post("/users/ann/actions/sign-in", json={}).get_json()["token"]

    response = client.post("/v1/client/verify/totp", data=b'{"verificationCode": "12\\u00003"}',
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})

    assert_refused(response)


def test_in_a_form_field_the_page_says_why(api, client):
    token = api.post("/users/ann/actions/sign-in", json={}).get_json()["token"]

    response = client.post("/challenge/totp", data={"token": token, "code": "12\x003456"})

    assert response.status_code == 400
    assert "NUL character" in text_of(parse(response).find("main"))
