"""The hosted page with magic links: offered in "Try another way", says where the link went (masked),
waits for it with an htmx poll that stops when the link is confirmed or over, carries on to the
integrator with a result token, and enrols an address for a user with nothing enrolled.
Links are read from the message a real SMTP server on 127.0.0.1 received."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import CodeChallenge
from app.models.base import utcnow
from tests.factories import enroll_authenticator_app, make_action
from tests.html import alerts, parse, text_of
from tests.magic_links import confirm

REDIRECT = "https://app.example/done?state=xyz"


@pytest.fixture
def link_action(app, tenant):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                verification_methods=["AUTHENTICATOR_APP", "EMAIL_MAGIC_LINK"])


@pytest.fixture
def link_enrolled(api, link_action):
    response = api.post("/users/alice/authenticators",
                        json={"verificationMethod": "EMAIL_MAGIC_LINK", "email": "jane@example.com"})
    assert response.status_code == 200


def track(api) -> dict:
    return api.post("/users/alice/actions/withdraw-funds", json={"redirectUrl": REDIRECT}).get_json()


def page_path(url: str) -> str:
    return url.removeprefix("http://localhost:5000")


def poll(client, page) -> tuple:
    """The page's poller: what it asks for and how often, or None when the page does not poll."""
    status = parse(page).find(id="link-status")
    return (status["hx-get"], status["hx-trigger"]) if status is not None and status.get("hx-get") else None


def on_to_the_integrator(api, client, response) -> dict:
    """Past the recovery codes (a first pass) to the redirect, whose token is validated."""
    if response.status_code == 200:
        response = client.get(parse(response).find("a", id="continue")["href"])
    location = response.headers["Location"]
    assert location.startswith("https://app.example/done?state=xyz&token=")
    return api.post("/validate", json={"token": parse_qs(urlsplit(location).query)["token"][0]}).get_json()


def test_email_link_is_offered_under_try_another_way(api, client, link_enrolled):
    enroll_authenticator_app(api, "alice")

    page = parse(client.get(page_path(track(api)["url"])))

    assert "Email link" in [text_of(a) for a in page.select(".another-way a")]


def test_the_page_says_where_the_link_went_polls_and_continues_once_it_is_confirmed(api, client, mail, link_enrolled):
    token = track(api)["token"]
    first = client.get(f"/challenge?token={token}&method=EMAIL_MAGIC_LINK")
    assert text_of(parse(first).find(id="send-to")) == "We will send a link to j***@example.com."
    assert poll(client, first) is None
    assert mail.received == []

    sent = client.post("/challenge/email-magic-link/send", data={"token": token})

    assert sent.status_code == 200
    assert text_of(parse(sent).find(id="sent-to")) == "We sent a link to j***@example.com."
    poll_url, trigger = poll(client, sent)
    assert trigger == "every 2s"
    assert parse(sent).find("script", src="/static/vendor/htmx-2.0.11.min.js") is not None
    waiting = client.get(poll_url, headers={"HX-Request": "true"})
    assert "HX-Redirect" not in waiting.headers
    assert poll(client, waiting) == (poll_url, trigger)  # still waiting: it polls again

    confirm(client, mail.wait_for(1)[0].link)  # on the phone, say

    passed = client.get(poll_url, headers={"HX-Request": "true"})
    assert poll(client, passed) is None  # the poll stops
    onward = passed.headers["HX-Redirect"]
    assert onward.startswith("/challenge/email-magic-link/continue?")
    result = on_to_the_integrator(api, client, client.get(onward))
    assert (result["isValid"], result["state"], result["verificationMethod"]) == (
        True, "CHALLENGE_SUCCEEDED", "EMAIL_MAGIC_LINK")


def test_continuing_before_the_link_is_confirmed_says_so(api, client, mail, link_enrolled):
    token = track(api)["token"]
    client.post("/challenge/email-magic-link/send", data={"token": token})

    early = client.get(f"/challenge/email-magic-link/continue?token={token}")

    assert early.status_code == 409
    assert alerts(early) == ["The link has not been confirmed yet."]
    assert parse(early).find(id="sent-to") is not None


def test_the_poll_stops_when_the_link_expires(app, api, client, mail, link_enrolled):
    token = track(api)["token"]
    poll_url, _ = poll(client, client.post("/challenge/email-magic-link/send", data={"token": token}))
    with app.app_context():
        db.session.execute(update(CodeChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()

    over = client.get(poll_url, headers={"HX-Request": "true"})

    assert poll(client, over) is None
    assert parse(over).find(id="link-status")["data-state"] == "over"


def test_reloading_the_page_after_the_link_was_confirmed_continues(api, client, mail, link_enrolled):
    tracked = track(api)
    client.post("/challenge/email-magic-link/send", data={"token": tracked["token"]})
    confirm(client, mail.wait_for(1)[0].link)

    reloaded = client.get(page_path(tracked["url"]))

    assert reloaded.status_code == 302
    result = on_to_the_integrator(api, client, client.get(reloaded.headers["Location"]))
    assert result["isValid"] is True


def test_a_resend_too_soon_says_so(api, client, mail, link_enrolled):
    token = track(api)["token"]
    client.post("/challenge/email-magic-link/send", data={"token": token})

    too_soon = client.post("/challenge/email-magic-link/send", data={"token": token})

    assert too_soon.status_code == 429
    assert alerts(too_soon) == ["A code was sent moments ago; wait before asking for another."]
    assert "You can ask for a new link in" in text_of(parse(too_soon).find(class_="hint"))


def test_a_user_with_nothing_enrolled_can_enrol_an_address_by_link(api, client, mail, link_action):
    token = track(api)["token"]
    enrol_page = parse(client.get(f"/challenge?token={token}"))
    assert enrol_page.find("input", id="link-email") is not None

    sent = client.post("/challenge/email-magic-link/enrol", data={"token": token, "email": "jane@example.com"})

    assert sent.status_code == 200
    assert text_of(parse(sent).find(id="sent-to")) == "We sent a link to j***@example.com."
    poll_url, _ = poll(client, sent)
    confirm(client, mail.wait_for(1)[0].link)
    onward = client.get(poll_url, headers={"HX-Request": "true"}).headers["HX-Redirect"]
    assert on_to_the_integrator(api, client, client.get(onward))["isValid"] is True
    assert api.get("/users/alice").get_json()["enrolledVerificationMethods"] == ["EMAIL_MAGIC_LINK"]


def test_a_bad_address_on_the_enrol_page_is_explained(api, client, mail, link_action):
    token = track(api)["token"]

    refused = client.post("/challenge/email-magic-link/enrol", data={"token": token, "email": "not-an-address"})

    assert refused.status_code == 400
    assert alerts(refused) == ["email must be an email address."]
    assert mail.received == []


def test_an_action_that_does_not_allow_links_sends_none(app, api, client, tenant, mail):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", verification_methods=["AUTHENTICATOR_APP"])
    api.post("/users/alice/authenticators", json={"verificationMethod": "EMAIL_MAGIC_LINK", "email": "jane@example.com"})
    enroll_authenticator_app(api, "alice")
    token = track(api)["token"]

    refused = client.post("/challenge/email-magic-link/send", data={"token": token})

    assert refused.status_code == 409
    assert mail.received == []


def test_the_link_page_speaks_the_challenge_language(api, client, mail, link_enrolled):
    tracked = api.post("/users/alice/actions/withdraw-funds", json={"redirectUrl": REDIRECT, "locale": "de"}).get_json()
    client.post("/challenge/email-magic-link/send", data={"token": tracked["token"]})
    [message] = mail.wait_for(1)
    assert message.message["Subject"] == "Ihr Anmeldelink für Test tenant"

    page = client.get(message.link.removeprefix("http://localhost:5000"))

    assert text_of(parse(page).find("h1")) == "Bestätigen Sie, dass Sie es sind"


def test_in_popup_mode_the_page_carries_on_to_the_popup_hand_off(api, client, mail, link_enrolled):
    token = track(api)["token"]
    sent = client.post("/challenge/email-magic-link/send", data={"token": token, "mode": "popup"})
    poll_url, _ = poll(client, sent)
    assert parse_qs(urlsplit(poll_url).query)["mode"] == ["popup"]
    confirm(client, mail.wait_for(1)[0].link)

    onward = client.get(poll_url, headers={"HX-Request": "true"}).headers["HX-Redirect"]
    codes = client.get(onward)  # a first pass: the recovery codes, then the hand-off
    finish = client.get(parse(codes).find("a", id="continue")["href"])

    message = json.loads(parse(finish).find(id="popup-result")["data-message"])
    assert message["event"] == "AUTHSIGNAL_CLOSE_POPUP"
    assert api.post("/validate", json={"token": message["token"]}).get_json()["isValid"] is True
