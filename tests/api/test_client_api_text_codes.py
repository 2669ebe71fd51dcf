"""SMS and WhatsApp codes through the client API, as @authsignal/browser's ``sms`` and ``whatsapp``
modules call them, sent through the fake Twilio on 127.0.0.1 and read from the received message.
They are email codes by another channel (tests/api/test_client_api_email_otp.py): good once, the
fifth wrong code ends the challenge, a resend waits 30 seconds, the number is enrolled by its first code.
"""

from __future__ import annotations

import pytest

from tests.api.test_client_api_email_otp import bearer, state_of, track, wrong
from tests.factories import make_action

ACTION = "change-email"  # the email tests' action name, so their helpers read it
NUMBER = "+447400123456"


def post(client, path: str, token: str, **body):
    return client.post(f"/v1/client/{path}", headers=bearer(token), json=body or None)


def verify(client, token: str, code: str, channel: str = "sms") -> dict:
    response = post(client, f"verify/{channel}", token, verificationCode=code)
    assert response.status_code == 200, response.get_json()
    assert "error" not in response.get_json()
    return response.get_json()


@pytest.fixture(autouse=True)
def text_action(app, tenant):
    make_action(app, tenant.id, ACTION, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                verification_methods=["SMS", "WHATSAPP", "AUTHENTICATOR_APP"])


def test_enrolling_a_number_sends_a_code_whose_first_use_enrols_it_and_passes_the_challenge(api, client, twilio):
    tracked = track(api)

    enrolled = post(client, "user-authenticators/sms", tracked["token"], phoneNumber="+44 7400 123456")

    assert enrolled.status_code == 200, enrolled.get_json()
    assert set(enrolled.get_json()) == {"userAuthenticatorId", "userId"}
    [sent] = twilio.wait_for(1)
    assert sent.form["To"] == NUMBER and "Test tenant" in sent.form["Body"]
    assert api.get("/users/alice").get_json()["enrolledVerificationMethods"] == []  # not before its code

    verified = verify(client, tracked["token"], sent.code)

    assert verified["isVerified"] is True
    assert verified["userAuthenticator"]["verificationMethod"] == "SMS"
    assert verified["userAuthenticator"]["phoneNumber"] == NUMBER
    assert state_of(api, tracked) == "CHALLENGE_SUCCEEDED"
    assert api.post("/validate", json={"token": verified["accessToken"]}).get_json()["isValid"] is True
    user = api.get("/users/alice").get_json()
    assert (user["phoneNumber"], user["phoneNumberVerified"], user["enrolledVerificationMethods"]) == (
        NUMBER, True, ["SMS"])


@pytest.mark.parametrize(("number", "error"), [
    ("07400 123456", "invalid_phone_number"), ("+15551234567", "invalid_phone_number"),
    ("+64211234567", "unsupported_country"),
])
def test_a_bad_or_unallowed_number_is_a_400_and_sends_nothing(app, api, client, twilio, override_settings, number, error):
    override_settings(sms_allowed_countries=frozenset({"GB"}))

    response = post(client, "user-authenticators/sms", track(api)["token"], phoneNumber=number)

    assert response.status_code == 400
    assert response.get_json()["error"] == error
    assert twilio.received == []


def test_an_enrolled_number_gets_a_code_that_works_once(api, client, twilio):
    api.post("/users/alice/authenticators", json={"verificationMethod": "SMS", "phoneNumber": NUMBER})
    tracked = track(api)

    started = post(client, "challenge/sms", tracked["token"])  # no body, as the SDK sends it

    assert started.status_code == 200 and set(started.get_json()) == {"challengeId"}
    code = twilio.wait_for(1)[0].code
    assert verify(client, tracked["token"], code)["isVerified"] is True
    assert verify(client, track(api)["token"], code)["isVerified"] is False  # a code is for its own action


def test_the_fifth_wrong_code_ends_the_challenge_and_only_a_new_code_helps(api, client, twilio):
    api.post("/users/alice/authenticators", json={"verificationMethod": "SMS", "phoneNumber": NUMBER})
    tracked = track(api)
    post(client, "challenge/sms", tracked["token"])
    code = twilio.wait_for(1)[0].code

    answers = [verify(client, tracked["token"], wrong(code)) for _ in range(5)]

    assert [a["failureReason"] for a in answers] == ["CODE_INVALID_OR_EXPIRED"] * 4 + ["MAX_ATTEMPTS_EXCEEDED"]
    assert verify(client, tracked["token"], code)["isVerified"] is False
    assert post(client, "challenge/sms", tracked["token"]).status_code == 200  # a new challenge, a new code
    assert verify(client, tracked["token"], twilio.wait_for(2)[1].code)["isVerified"] is True


def test_a_resend_within_thirty_seconds_is_a_429(api, client, twilio):
    api.post("/users/alice/authenticators", json={"verificationMethod": "SMS", "phoneNumber": NUMBER})
    tracked = track(api)
    post(client, "challenge/sms", tracked["token"])

    again = post(client, "challenge/sms", tracked["token"])

    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0
    assert len(twilio.received) == 1


def test_whatsapp_codes_go_to_the_users_whatsapp_number(api, client, twilio):
    api.post("/users/alice/authenticators", json={"verificationMethod": "WHATSAPP", "phoneNumber": NUMBER})
    tracked = track(api)

    assert post(client, "challenge/whatsapp", tracked["token"]).status_code == 200
    [sent] = twilio.wait_for(1)

    assert sent.form["To"] == f"whatsapp:{NUMBER}"
    assert verify(client, tracked["token"], sent.code, "whatsapp")["isVerified"] is True


def test_a_user_without_a_number_is_told_so(api, client, twilio):
    response = post(client, "challenge/sms", track(api)["token"])

    assert response.status_code == 400
    assert response.get_json()["error"] == "authenticator_not_found"


def test_the_sdks_messages_speak_the_track_locale_else_the_browsers_language(api, client, twilio):
    tracked = api.post("/users/alice/actions/change-email", json={"locale": "de-DE"}).get_json()
    post(client, "user-authenticators/sms", tracked["token"], phoneNumber=NUMBER)
    untagged = track(api, user_id="bob")
    client.post("/v1/client/user-authenticators/sms", headers={**bearer(untagged["token"]), "Accept-Language": "ar,en;q=0.5"},
                json={"phoneNumber": "+447400123457"})

    german, arabic = twilio.wait_for(2)

    assert "ist Ihr Bestätigungscode" in german.form["Body"]
    assert "is your" not in arabic.form["Body"] and arabic.code in arabic.form["Body"]
