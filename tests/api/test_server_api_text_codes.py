"""SMS and WhatsApp codes from the backend (server API ``challenge``, ``verify``, ``claim``,
``challenges``): the same contract as email codes (tests/api/test_server_api_challenges.py), with
``phoneNumber`` and ``smsChannel`` where email has ``email``. The code is read from the message the
fake Twilio on 127.0.0.1 received."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.extensions import db
from app.models import CodeChallenge
from app.models.base import utcnow

ACTION = "sign-in"
NUMBER = "+447400123456"


def start(api, **body) -> dict:
    response = api.post("/challenge", json={"verificationMethod": "SMS", "action": ACTION, "phoneNumber": NUMBER,
                                            **body})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def verify(api, challenge_id: str, code: str) -> dict:
    response = api.post("/verify", json={"challengeId": challenge_id, "verificationCode": code})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_an_sms_code_verifies_claims_and_validates_once_and_proves_the_number(api, twilio):
    started = start(api, phoneNumber="+44 7400 123-456")  # kept in its E.164 form
    code = twilio.wait_for(1)[0].code

    assert verify(api, started["challengeId"], code) == {
        "isVerified": True, "phoneNumber": NUMBER, "smsChannel": "DEFAULT", "verificationMethod": "SMS"}
    claimed = api.post("/claim", json={"challengeId": started["challengeId"], "userId": "jo"}).get_json()
    assert claimed["verificationMethod"] == "SMS"
    validated = api.post("/validate", json={"token": claimed["token"], "userId": "jo", "action": ACTION}).get_json()
    assert (validated["isValid"], validated["verificationMethod"]) == (True, "SMS")
    assert api.post("/validate", json={"token": claimed["token"]}).get_json()["isValid"] is False
    user = api.get("/users/jo").get_json()
    assert (user["phoneNumber"], user["phoneNumberVerified"]) == (NUMBER, True)


def test_a_wrong_code_fails_and_the_fifth_ends_the_challenge_even_for_the_right_code(api, twilio):
    started = start(api)
    code = twilio.wait_for(1)[0].code

    answers = [verify(api, started["challengeId"], wrong(code)) for _ in range(5)]
    after = verify(api, started["challengeId"], code)

    assert {a["phoneNumber"] for a in answers} == {NUMBER}
    assert [a["failureReason"] for a in answers] == ["CODE_INVALID_OR_EXPIRED"] * 4 + ["MAX_ATTEMPTS_EXCEEDED"]
    assert (after["isVerified"], after["failureReason"]) == (False, "MAX_ATTEMPTS_EXCEEDED")


def test_a_used_code_is_refused(api, twilio):
    started = start(api)
    code = twilio.wait_for(1)[0].code
    verify(api, started["challengeId"], code)

    again = verify(api, started["challengeId"], code)

    assert (again["isVerified"], again["failureReason"]) == (False, "CODE_INVALID_OR_EXPIRED")


def test_an_unverified_sms_challenge_cannot_be_claimed(api, twilio):
    started = start(api)

    response = api.post("/claim", json={"challengeId": started["challengeId"], "userId": "jo"})

    assert response.status_code == 409 and response.get_json()["error"] == "challenge_not_verified"


def test_a_whatsapp_resend_goes_by_whatsapp_again_and_only_its_newest_code_works(app, api, twilio):
    started = start(api, smsChannel="WHATSAPP", userId="jo")
    first = twilio.wait_for(1)[0].code
    with app.app_context():
        db.session.execute(update(CodeChallenge).values(last_sent_at=utcnow() - timedelta(seconds=31)))
        db.session.commit()

    start(api, challengeId=started["challengeId"])
    resent = twilio.wait_for(2)[1]

    assert resent.form["To"] == f"whatsapp:{NUMBER}"
    if first != resent.code:
        assert verify(api, started["challengeId"], first)["isVerified"] is False
    assert verify(api, started["challengeId"], resent.code)["isVerified"] is True


def test_get_challenge_names_the_number_and_its_channel(api, twilio):
    started = start(api, smsChannel="WHATSAPP", userId="jo")

    by_id = api.get(f"/challenges?challengeId={started['challengeId']}").get_json()
    by_user = api.get(f"/challenges?userId=jo&action={ACTION}&verificationMethod=SMS").get_json()

    assert by_id == by_user == {"challengeId": started["challengeId"], "expiresAt": started["expiresAt"],
                                "verificationMethod": "SMS", "action": ACTION, "phoneNumber": NUMBER,
                                "smsChannel": "WHATSAPP"}
    assert api.get("/challenges?userId=jo&verificationMethod=EMAIL_OTP").get_json() == {}


def test_an_sms_code_is_no_good_for_another_challenge(api, twilio):
    first = start(api)
    second = start(api, phoneNumber="+4915112345678")
    [to_first, to_second] = twilio.wait_for(2)

    if to_first.code != to_second.code:  # one in a million they are the same
        assert verify(api, second["challengeId"], to_first.code)["isVerified"] is False
    assert verify(api, first["challengeId"], to_first.code)["isVerified"] is True


def test_the_message_speaks_the_challenges_locale_and_english_when_it_is_not_ours(api, twilio):
    start(api, locale="de-AT")
    start(api, phoneNumber="+447400123457", locale="tlh")  # Klingon: not shipped

    german, other = twilio.wait_for(2)

    assert "ist Ihr Bestätigungscode für Test tenant" in german.form["Body"]
    assert "is your Test tenant verification code" in other.form["Body"]
