"""The hosted page of an action in review: waits (reloading itself), continues once approved, says no once rejected."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import make_action
from tests.html import inline_scripts, parse, text_of

REDIRECT = "https://app.example/done?state=xyz"


@pytest.fixture
def in_review(app, tenant, api):
    make_action(app, tenant.id, "withdraw", default_outcome="REVIEW")
    body = api.post("/users/alice/actions/withdraw", json={"redirectUrl": REDIRECT}).get_json()
    assert body["state"] == "REVIEW_REQUIRED"
    return body


def page(url: str, mode: str | None = None) -> str:
    return url.removeprefix("http://localhost:5000") + (f"&mode={mode}" if mode else "")


def decide(api, body, state):
    response = api.patch(f"/users/alice/actions/withdraw/{body['idempotencyKey']}", json={"state": state})
    assert response.status_code == 200


def test_while_in_review_the_page_says_so_and_reloads_itself(client, in_review):
    response = client.get(page(in_review["url"]))

    assert response.status_code == 200
    shown = parse(response)
    assert "Your request is being reviewed" in text_of(shown.find("main"))
    assert response.headers["Refresh"] == "5"
    assert inline_scripts(shown) == [] and shown.find("meta", attrs={"http-equiv": True}) is None  # the header reloads it


def test_once_approved_it_continues_with_a_result_token_that_validates_once(client, api, in_review):
    decide(api, in_review, "REVIEW_SUCCEEDED")

    to_finish = client.get(page(in_review["url"]))
    to_app = client.get(to_finish.headers["Location"])

    assert to_finish.status_code == 302 and "/challenge/finish?token=" in to_finish.headers["Location"]
    assert to_app.status_code == 302 and to_app.headers["Location"].startswith("https://app.example/done?")
    query = parse_qs(urlsplit(to_app.headers["Location"]).query)
    assert query["state"] == ["xyz"]
    token = query["token"][0]
    first = api.post("/validate", json={"token": token}).get_json()
    second = api.post("/validate", json={"token": token}).get_json()
    assert first["isValid"] is True and first["state"] == "REVIEW_SUCCEEDED"
    assert first["userId"] == "alice" and first["action"] == "withdraw"
    assert second["isValid"] is False
    # Afterwards the page no longer hands out tokens.
    again = client.get(page(in_review["url"]))
    assert again.status_code == 409 and "already approved" in text_of(parse(again).find("main"))


def test_the_client_token_itself_never_validates(api, in_review):
    decide(api, in_review, "REVIEW_SUCCEEDED")

    assert api.post("/validate", json={"token": in_review["token"]}).get_json()["isValid"] is False


def test_popup_mode_hands_the_token_over_like_a_passed_challenge(client, api, in_review):
    decide(api, in_review, "REVIEW_SUCCEEDED")

    finish = client.get(page(in_review["url"], "popup"))
    done = client.get(finish.headers["Location"])

    assert "mode=popup" in finish.headers["Location"]
    assert done.status_code == 200
    assert json.loads(parse(done).find(id="popup-result")["data-message"])["event"] == "AUTHSIGNAL_CLOSE_POPUP"


def test_once_rejected_it_says_so(client, api, in_review):
    decide(api, in_review, "REVIEW_FAILED")

    response = client.get(page(in_review["url"]))

    assert response.status_code == 409 and "Your request was declined" in text_of(parse(response).find("main"))

    assert "Refresh" not in response.headers
