"""The hosted page with SMS and WhatsApp codes: the email code's page by another channel. Offered in
"Try another way", it says where the code went (the masked number), takes the code, resends it after
its cooldown, and enrols a number (E.164, with a form error otherwise) for a user with nothing
enrolled. Codes are read from what the fake Twilio on 127.0.0.1 received."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import CodeChallenge
from app.models.base import utcnow
from tests.factories import enroll_authenticator_app, make_action
from tests.html import alerts, parse, text_of

REDIRECT = "https://app.example/done?state=xyz"
NUMBER, MASKED = "+447400123456", "+44 ••• ••• 3456"


@pytest.fixture
def text_action(app, tenant):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                verification_methods=["AUTHENTICATOR_APP", "SMS", "WHATSAPP"])


def enrol_number(api, method: str = "SMS") -> None:
    response = api.post("/users/alice/authenticators", json={"verificationMethod": method, "phoneNumber": NUMBER})
    assert response.status_code == 200


def track(api) -> dict:
    return api.post("/users/alice/actions/withdraw-funds", json={"redirectUrl": REDIRECT}).get_json()


def page_path(url: str) -> str:
    return url.removeprefix("http://localhost:5000")


def test_text_messages_are_offered_under_try_another_way(api, client, text_action):
    enroll_authenticator_app(api, "alice")
    enrol_number(api)
    enrol_number(api, "WHATSAPP")

    page = parse(client.get(page_path(track(api)["url"])))

    ways = [text_of(a) for a in page.select(".another-way a")]
    assert {"Text message", "WhatsApp"} <= set(ways)


def test_the_page_names_the_masked_number_and_its_code_passes_the_challenge(api, client, twilio, text_action):
    enrol_number(api)
    token = track(api)["token"]

    first = parse(client.get(f"/challenge?token={token}&method=SMS"))
    assert text_of(first.find(id="send-to")) == f"We will send a code to {MASKED}."
    assert twilio.received == []
    sent = client.post("/challenge/sms/send", data={"token": token})

    assert sent.status_code == 200
    assert text_of(parse(sent).find(id="sent-to")) == f"We sent a code to {MASKED}."
    assert text_of(parse(sent).find("label", attrs={"for": "code"})) == "Enter the 6-digit code from the text message"
    [message] = twilio.wait_for(1)
    assert message.form["To"] == NUMBER
    finished = client.post("/challenge/sms", data={"token": token, "code": message.code})
    location = client.get(parse(finished).find("a", id="continue")["href"]).headers["Location"]
    result = api.post("/validate", json={"token": parse_qs(urlsplit(location).query)["token"][0]}).get_json()
    assert (result["isValid"], result["verificationMethod"]) == (True, "SMS")


def test_a_wrong_code_re_renders_the_page_with_a_message(api, client, twilio, text_action):
    enrol_number(api)
    token = track(api)["token"]
    client.post("/challenge/sms/send", data={"token": token})
    code = twilio.wait_for(1)[0].code

    refused = client.post("/challenge/sms", data={"token": token, "code": f"{(int(code) + 1) % 10**6:06d}"})

    assert refused.status_code == 400
    assert alerts(refused) == ["That code is not right, or it was already used. Try the newest code."]
    assert text_of(parse(refused).find(id="sent-to")) == f"We sent a code to {MASKED}."


def test_a_resend_waits_its_cooldown_then_sends_a_new_code(app, api, client, twilio, text_action):
    enrol_number(api)
    token = track(api)["token"]
    client.post("/challenge/sms/send", data={"token": token})

    too_soon = client.post("/challenge/sms/send", data={"token": token})

    assert too_soon.status_code == 429
    assert "You can ask for a new code in" in text_of(parse(too_soon).find(class_="hint"))
    with app.app_context():
        db.session.execute(update(CodeChallenge).values(last_sent_at=utcnow() - timedelta(seconds=31)))
        db.session.commit()
    assert client.post("/challenge/sms/send", data={"token": token}).status_code == 200
    assert len(twilio.wait_for(2)) == 2


def test_whatsapp_codes_go_by_whatsapp(api, client, twilio, text_action):
    enrol_number(api, "WHATSAPP")
    token = track(api)["token"]

    sent = client.post("/challenge/whatsapp/send", data={"token": token})

    assert text_of(parse(sent).find("label", attrs={"for": "code"})) == "Enter the 6-digit code from the WhatsApp message"
    [message] = twilio.wait_for(1)
    assert message.form["To"] == f"whatsapp:{NUMBER}"
    assert client.post("/challenge/whatsapp", data={"token": token, "code": message.code}).status_code == 200


def test_a_user_with_nothing_enrolled_can_enrol_a_number_on_the_page(api, client, twilio, text_action):
    token = track(api)["token"]
    enrol_page = parse(client.get(f"/challenge?token={token}"))
    field = enrol_page.find("input", id="phone")
    assert (field["name"], field["type"], field["autocomplete"]) == ("phone_number", "tel", "tel")

    sent = client.post("/challenge/sms/enrol", data={"token": token, "phone_number": "+44 7400 123456"})

    assert sent.status_code == 200
    assert text_of(parse(sent).find("h1")) == "Confirm your phone number"
    assert text_of(parse(sent).find(id="sent-to")) == f"We sent a code to {MASKED}."
    confirmed = client.post("/challenge/sms", data={"token": token, "code": twilio.wait_for(1)[0].code})
    assert confirmed.status_code == 200  # a first enrolment: the recovery codes, once
    user = api.get("/users/alice").get_json()
    assert (user["enrolledVerificationMethods"], user["phoneNumber"]) == (["SMS"], NUMBER)


@pytest.mark.parametrize(("typed", "message"), [
    ("07400 123456", "Enter the number with its country code, for example +44 7400 123456."),
    ("+64 21 123 4567", "Codes cannot be sent to numbers in that country. Choose another way."),
])
def test_a_refused_number_on_the_enrol_page_is_explained_on_its_form(app, api, client, twilio, text_action,
                                                                      override_settings, typed, message):
    override_settings(sms_allowed_countries=frozenset({"GB"}))
    token = track(api)["token"]

    refused = client.post("/challenge/sms/enrol", data={"token": token, "phone_number": typed})

    assert refused.status_code == 400
    page = parse(refused)
    assert text_of(page.find(id="phone-error")) == message
    field = page.find("input", id="phone")
    assert field["aria-invalid"] == "true" and field["value"] == typed
    assert twilio.received == []


def test_in_production_with_no_way_to_send_texts_the_page_does_not_offer_them(app, api, client, text_action,
                                                                               override_settings):
    override_settings(env="production")
    enroll_authenticator_app(api, "alice")
    enrol_number(api)

    page = parse(client.get(page_path(track(api)["url"])))

    assert "Text message" not in [text_of(a) for a in page.select(".another-way a")]
    assert client.post("/challenge/sms/send", data={"token": track(api)["token"]}).status_code == 409
