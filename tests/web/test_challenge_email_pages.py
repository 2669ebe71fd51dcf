"""The hosted page with email codes: offered in "Try another way", says where the code went
(masked), takes the code, resends it, and enrols an address for a user with nothing enrolled.
Codes are read from the message a real SMTP server on 127.0.0.1 received."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CodeChallenge
from tests.factories import enroll_authenticator_app, make_action
from tests.html import alerts, parse, text_of

REDIRECT = "https://app.example/done?state=xyz"


@pytest.fixture
def email_action(app, tenant):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                verification_methods=["AUTHENTICATOR_APP", "EMAIL_OTP"])


@pytest.fixture
def email_enrolled(api, email_action):
    response = api.post("/users/alice/authenticators", json={"verificationMethod": "EMAIL_OTP", "email": "jane@example.com"})
    assert response.status_code == 200


def track(api) -> dict:
    return api.post("/users/alice/actions/withdraw-funds", json={"redirectUrl": REDIRECT}).get_json()


def page_path(url: str) -> str:
    return url.removeprefix("http://localhost:5000")


def validate(api, location: str) -> dict:
    token = parse_qs(urlsplit(location).query)["token"][0]
    return api.post("/validate", json={"token": token}).get_json()


def test_email_is_offered_under_try_another_way(api, client, email_enrolled):
    enroll_authenticator_app(api, "alice")

    page = parse(client.get(page_path(track(api)["url"])))

    ways = [text_of(a) for a in page.select(".another-way a")]
    assert "Email code" in ways


def test_the_page_says_where_the_code_goes_then_where_it_went_and_the_code_passes(api, client, mail, email_enrolled):
    token = track(api)["token"]
    first = parse(client.get(f"/challenge?token={token}&method=EMAIL_OTP"))
    assert text_of(first.find(id="send-to")) == "We will send a code to j***@example.com."
    assert mail.received == []

    sent = client.post("/challenge/email-otp/send", data={"token": token})

    assert sent.status_code == 200
    assert text_of(parse(sent).find(id="sent-to")) == "We sent a code to j***@example.com."
    [message] = mail.wait_for(1)
    assert message.envelope_to == ["jane@example.com"]
    finished = client.post("/challenge/email-otp", data={"token": token, "code": message.code})
    assert finished.status_code == 200  # recovery codes, shown once, then on to the integrator
    location = client.get(parse(finished).find("a", id="continue")["href"]).headers["Location"]
    assert location.startswith("https://app.example/done?state=xyz&token=")
    result = validate(api, location)
    assert (result["isValid"], result["state"], result["verificationMethod"]) == (True, "CHALLENGE_SUCCEEDED", "EMAIL_OTP")


def test_a_wrong_code_re_renders_the_page_with_a_message(api, client, mail, email_enrolled):
    token = track(api)["token"]
    client.post("/challenge/email-otp/send", data={"token": token})
    code = mail.wait_for(1)[0].code

    refused = client.post("/challenge/email-otp", data={"token": token, "code": f"{(int(code) + 1) % 10**6:06d}"})

    assert refused.status_code == 400
    assert alerts(refused) == ["That code is not right, or it was already used. Try the newest code."]
    assert parse(refused).find(id="sent-to") is not None


def test_after_five_wrong_codes_the_page_offers_a_new_code(api, client, mail, email_enrolled):
    token = track(api)["token"]
    client.post("/challenge/email-otp/send", data={"token": token})
    wrong = f"{(int(mail.wait_for(1)[0].code) + 1) % 10**6:06d}"
    for _ in range(4):
        client.post("/challenge/email-otp", data={"token": token, "code": wrong})

    fifth = client.post("/challenge/email-otp", data={"token": token, "code": wrong})

    assert alerts(fifth) == ["Too many wrong codes for that code. Send a new code and try again."]
    assert parse(fifth).find(id="send-to") is not None  # no code on its way: the page offers to send one


def test_resending_too_soon_says_so_and_later_sends_a_new_code(app, api, client, mail, email_enrolled):
    token = track(api)["token"]
    client.post("/challenge/email-otp/send", data={"token": token})

    too_soon = client.post("/challenge/email-otp/send", data={"token": token})

    assert too_soon.status_code == 429
    assert alerts(too_soon) == ["A code was sent moments ago; wait before asking for another."]
    assert "You can ask for a new code in" in text_of(parse(too_soon).find(class_="hint"))
    with app.app_context():
        challenge = db.session.execute(select(CodeChallenge)).scalar_one()
        challenge.last_sent_at -= timedelta(seconds=31)
        db.session.commit()
    assert client.post("/challenge/email-otp/send", data={"token": token}).status_code == 200
    assert len(mail.wait_for(2)) == 2


def test_a_user_with_nothing_enrolled_can_enrol_an_address_on_the_page(api, client, mail, email_action):
    token = track(api)["token"]
    enrol_page = parse(client.get(f"/challenge?token={token}"))
    assert enrol_page.find("input", attrs={"name": "email"}) is not None

    sent = client.post("/challenge/email-otp/enrol", data={"token": token, "email": "jane@example.com"})

    assert sent.status_code == 200
    assert text_of(parse(sent).find(id="sent-to")) == "We sent a code to j***@example.com."
    confirmed = client.post("/challenge/email-otp", data={"token": token, "code": mail.wait_for(1)[0].code})
    assert confirmed.status_code == 200  # a first enrolment: the recovery codes, once
    assert api.get("/users/alice").get_json()["enrolledVerificationMethods"] == ["EMAIL_OTP"]


def test_a_bad_address_on_the_enrol_page_is_explained(api, client, mail, email_action):
    token = track(api)["token"]

    refused = client.post("/challenge/email-otp/enrol", data={"token": token, "email": "not-an-address"})

    assert refused.status_code == 400
    assert alerts(refused) == ["email must be an email address."]
    assert mail.received == []
