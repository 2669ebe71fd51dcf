"""Codes the backend sends and checks itself (server API ``challenge``, ``verify``, ``claim``,
``challenges``): the limits and refusals behind the Node SDK tests (tests/sdk/test_node_sdk.py).

The code is read from the message a real SMTP server on 127.0.0.1 received. A wrong code is a 200
with ``isVerified: false``; the fifth ends the challenge, however many arrive at once; a code works
once; a claim works once and only for a verified challenge; bad input is a 400 naming the field.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import CodeChallenge, UserAction
from app.models.base import utcnow
from tests.concurrency import at_once
from tests.conftest import ApiClient
from tests.factories import add_tenant_with_key, make_action

ACTION = "sign-up"


def start(api, **body) -> dict:
    response = api.post("/challenge", json={"verificationMethod": "EMAIL_OTP", "action": ACTION,
                                            "email": "jo@example.com", **body})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def verify(api, challenge_id: str, code: str) -> dict:
    response = api.post("/verify", json={"challengeId": challenge_id, "verificationCode": code})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def claim(api, challenge_id: str, user_id: str = "jo"):
    return api.post("/claim", json={"challengeId": challenge_id, "userId": user_id})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def error_of(response) -> str:
    body = response.get_json()
    assert set(body) == {"error", "errorCode", "errorDescription"}, body
    return body["error"]


# -- a code from start to a validated token ---------------------------------------------------------


def test_a_challenge_sends_a_code_whose_claim_gives_a_token_validate_accepts_once(api, mail):
    before = utcnow()
    started = start(api)

    assert set(started) == {"challengeId", "idempotencyKey", "expiresAt"}
    assert 599 <= started["expiresAt"] - before.timestamp() <= 601  # Unix seconds, TOLLGATE_CODE_TTL ahead
    [received] = mail.wait_for(1)
    assert received.envelope_to == ["jo@example.com"]

    verified = verify(api, started["challengeId"], received.code)
    assert verified == {"isVerified": True, "email": "jo@example.com", "verificationMethod": "EMAIL_OTP"}

    claimed = claim(api, started["challengeId"])
    assert claimed.status_code == 200, claimed.get_json()
    assert claimed.get_json()["verificationMethod"] == "EMAIL_OTP"
    token = claimed.get_json()["token"]
    first = api.post("/validate", json={"token": token, "userId": "jo", "action": ACTION}).get_json()
    assert first["isValid"] is True
    assert (first["state"], first["idempotencyKey"]) == ("CHALLENGE_SUCCEEDED", started["idempotencyKey"])
    assert api.post("/validate", json={"token": token}).get_json()["isValid"] is False
    user = api.get("/users/jo").get_json()
    assert (user["email"], user["emailVerified"]) == ("jo@example.com", True)


def test_the_token_is_good_only_for_its_user_and_action(api, mail):
    started = start(api)
    verify(api, started["challengeId"], mail.wait_for(1)[0].code)
    token = claim(api, started["challengeId"]).get_json()["token"]

    assert api.post("/validate", json={"token": token, "action": "withdraw"}).get_json()["isValid"] is False
    assert api.post("/validate", json={"token": token, "userId": "someone-else"}).get_json()["isValid"] is False
    assert api.post("/validate", json={"token": token, "userId": "jo", "action": ACTION}).get_json()["isValid"] is True


def test_a_challenge_for_a_tracked_action_completes_that_action(app, api, mail, tenant):
    make_action(app, tenant.id, "withdraw", default_outcome="CHALLENGE", verification_methods=["EMAIL_OTP"])
    api.post("/users/kim/authenticators", json={"verificationMethod": "EMAIL_OTP", "email": "kim@example.com"})
    tracked = api.post("/users/kim/actions/withdraw", json={}).get_json()
    assert tracked["state"] == "CHALLENGE_REQUIRED"

    started = start(api, action="withdraw", userId="kim", idempotencyKey=tracked["idempotencyKey"],
                    email="kim@example.com")
    verify(api, started["challengeId"], mail.wait_for(1)[0].code)
    token = claim(api, started["challengeId"], "kim").get_json()["token"]

    assert started["idempotencyKey"] == tracked["idempotencyKey"]
    assert api.post("/validate", json={"token": token}).get_json()["isValid"] is True
    action = api.get(f"/users/kim/actions/withdraw/{tracked['idempotencyKey']}").get_json()
    assert (action["state"], action["verificationMethod"]) == ("CHALLENGE_SUCCEEDED", "EMAIL_OTP")


# -- wrong, expired and reused codes ------------------------------------------------------------------


def test_wrong_codes_are_refused_and_the_fifth_ends_the_challenge(api, mail):
    started = start(api)
    code = mail.wait_for(1)[0].code

    answers = [verify(api, started["challengeId"], wrong(code)) for _ in range(5)]

    assert [a["failureReason"] for a in answers] == ["CODE_INVALID_OR_EXPIRED"] * 4 + ["MAX_ATTEMPTS_EXCEEDED"]
    assert all(a["isVerified"] is False for a in answers)
    assert verify(api, started["challengeId"], code)["failureReason"] == "MAX_ATTEMPTS_EXCEEDED"
    assert error_of(claim(api, started["challengeId"])) == "challenge_not_verified"


def test_wrong_codes_sent_at_once_get_five_checks_between_them(app, tenant, mail):
    started = start(ApiClient(app.test_client(), tenant.api_key))
    code = mail.wait_for(1)[0].code

    def guess():
        return verify(ApiClient(app.test_client(), tenant.api_key), started["challengeId"], wrong(code))["failureReason"]

    reasons = at_once(*[guess for _ in range(9)])

    assert reasons.count("CODE_INVALID_OR_EXPIRED") == 4
    assert reasons.count("MAX_ATTEMPTS_EXCEEDED") == 5
    with app.app_context():
        assert db.session.execute(select(CodeChallenge.failed_attempts)).scalar_one() == 5


def test_a_code_works_once(api, mail):
    started = start(api)
    code = mail.wait_for(1)[0].code
    assert verify(api, started["challengeId"], code)["isVerified"] is True

    again = verify(api, started["challengeId"], code)

    assert (again["isVerified"], again["failureReason"]) == (False, "CODE_INVALID_OR_EXPIRED")


def test_an_expired_code_is_refused(app, api, mail):
    started = start(api)
    code = mail.wait_for(1)[0].code
    with app.app_context():
        db.session.execute(update(CodeChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()

    assert verify(api, started["challengeId"], code)["failureReason"] == "CODE_INVALID_OR_EXPIRED"


def test_a_code_is_good_only_for_its_own_challenge(api, mail):
    first = start(api)
    second = start(api, email="jo.other@example.com")
    codes = {m.envelope_to[0]: m.code for m in mail.wait_for(2)}

    answer = verify(api, second["challengeId"], codes["jo@example.com"])

    assert answer["isVerified"] is False
    assert verify(api, first["challengeId"], codes["jo@example.com"])["isVerified"] is True


# -- claims -------------------------------------------------------------------------------------------


def test_an_unverified_challenge_cannot_be_claimed(api, mail):
    started = start(api)

    response = claim(api, started["challengeId"])

    assert response.status_code == 409
    assert error_of(response) == "challenge_not_verified"
    assert api.get("/users/jo").get_json()["isEnrolled"] is False


def test_a_challenge_is_claimed_once_even_by_claims_at_once(app, tenant, mail):
    api = ApiClient(app.test_client(), tenant.api_key)
    started = start(api)
    verify(api, started["challengeId"], mail.wait_for(1)[0].code)

    def claim_it():
        return claim(ApiClient(app.test_client(), tenant.api_key), started["challengeId"]).status_code

    statuses = at_once(*[claim_it for _ in range(4)])

    assert sorted(statuses) == [200, 409, 409, 409]
    with app.app_context():
        assert len(db.session.execute(select(UserAction)).all()) == 1


def test_a_challenge_started_for_one_user_cannot_be_claimed_by_another(api, mail):
    started = start(api, userId="jo")
    verify(api, started["challengeId"], mail.wait_for(1)[0].code)

    response = claim(api, started["challengeId"], "mallory")

    assert response.status_code == 403
    assert error_of(response) == "user_mismatch"
    assert claim(api, started["challengeId"], "jo").status_code == 200


def test_claiming_without_verification_is_not_offered(api, mail):
    started = start(api)

    response = api.post("/claim", json={"challengeId": started["challengeId"], "userId": "jo",
                                        "skipVerificationCheck": True})

    assert response.status_code == 400
    assert error_of(response) == "unsupported_option"


def test_another_tenants_challenge_is_not_found(app, api, mail):
    other = ApiClient(app.test_client(), add_tenant_with_key(app, "Other")[1])
    started = start(api)
    code = mail.wait_for(1)[0].code

    for response in (other.post("/verify", json={"challengeId": started["challengeId"], "verificationCode": code}),
                     claim(other, started["challengeId"])):
        assert response.status_code == 404
        assert error_of(response) == "challenge_not_found"
    assert other.get(f"/challenges?challengeId={started['challengeId']}").get_json() == {}


def test_an_idempotency_key_must_name_a_pending_action_of_the_same_user_and_action(app, api, mail, tenant):
    make_action(app, tenant.id, "withdraw", default_outcome="BLOCK")
    blocked = api.post("/users/kim/actions/withdraw", json={}).get_json()
    assert blocked["state"] == "BLOCK"
    key = blocked["idempotencyKey"]

    cases = {
        "action_not_pending": {"action": "withdraw", "userId": "kim"},
        "action_mismatch": {"action": ACTION, "userId": "kim"},
    }
    for error, body in cases.items():
        response = api.post("/challenge", json={"verificationMethod": "EMAIL_OTP", "email": "kim@example.com",
                                                "idempotencyKey": key, **body})
        assert response.status_code == 409
        assert error_of(response) == error
    assert mail.received == []


# -- resends and lookups ------------------------------------------------------------------------------


def test_a_resend_replaces_the_code_after_the_cooldown(app, api, mail):
    started = start(api)
    first = mail.wait_for(1)[0].code

    too_soon = api.post("/challenge", json={"challengeId": started["challengeId"]})
    assert too_soon.status_code == 429
    assert int(too_soon.headers["Retry-After"]) > 0
    with app.app_context():
        db.session.execute(update(CodeChallenge).values(last_sent_at=utcnow() - timedelta(seconds=31)))
        db.session.commit()
    resent = start(api, challengeId=started["challengeId"])
    second = mail.wait_for(2)[1].code

    assert resent["challengeId"] == started["challengeId"]
    if first != second:
        assert verify(api, started["challengeId"], first)["isVerified"] is False
    assert verify(api, started["challengeId"], second)["isVerified"] is True


def test_get_challenge_finds_the_open_challenge_by_id_or_by_user_and_action(api, mail):
    started = start(api, userId="jo")

    by_id = api.get(f"/challenges?challengeId={started['challengeId']}").get_json()
    by_user = api.get(f"/challenges?userId=jo&action={ACTION}&verificationMethod=EMAIL_OTP").get_json()

    assert by_id == by_user == {"challengeId": started["challengeId"], "expiresAt": started["expiresAt"],
                                "verificationMethod": "EMAIL_OTP", "action": ACTION, "email": "jo@example.com"}
    assert api.get("/challenges?userId=jo&action=withdraw").get_json() == {}
    verify(api, started["challengeId"], mail.wait_for(1)[0].code)
    assert api.get(f"/challenges?challengeId={started['challengeId']}").get_json() == {}


# -- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "error"), [
    ({"email": "not an address"}, "invalid_email"),
    ({"email": None}, "invalid_email"),
    ({"verificationMethod": None}, "invalid_verification_method"),
    ({"verificationMethod": "PASSKEY"}, "invalid_verification_method"),
    ({"verificationMethod": "SMS"}, "invalid_phone_number"),
    ({"verificationMethod": "SMS", "phoneNumber": "021 123 4567"}, "invalid_phone_number"),  # not E.164
    ({"verificationMethod": "WHATSAPP", "phoneNumber": "+15551234567"}, "invalid_phone_number"),  # no such range
    ({"verificationMethod": "SMS", "phoneNumber": "+64211234567", "smsChannel": "PIGEON"}, "invalid_sms_channel"),
    ({"action": "not an action!"}, "invalid_action_code"),
    ({"action": None}, "invalid_action_code"),
    ({"userId": "x" * 300}, "invalid_request"),
    ({"email": 42}, "invalid_request"),
])
def test_bad_challenge_requests_are_400s_and_send_nothing(app, api, mail, body, error):
    response = api.post("/challenge", json={"verificationMethod": "EMAIL_OTP", "action": ACTION,
                                            "email": "jo@example.com", **body})

    assert response.status_code == 400, response.get_json()
    assert error_of(response) == error
    assert mail.received == []
    with app.app_context():
        assert db.session.execute(select(CodeChallenge)).first() is None


def test_an_unknown_challenge_is_a_404(api):
    for response in (api.post("/verify", json={"challengeId": "no-such-challenge", "verificationCode": "123456"}),
                     claim(api, "no-such-challenge"),
                     api.post("/challenge", json={"challengeId": "no-such-challenge"})):
        assert response.status_code == 404
        assert error_of(response) == "challenge_not_found"


@pytest.mark.parametrize(("path", "body"), [
    ("/verify", {"challengeId": "c"}),
    ("/verify", {"verificationCode": "123456"}),
    ("/verify", {"challengeId": "c", "verificationCode": 123456}),
    ("/claim", {"challengeId": "c"}),
    ("/claim", {"userId": "jo"}),
    ("/claim", {"challengeId": "c", "userId": "jo", "skipVerificationCheck": "yes"}),
])
def test_verify_and_claim_need_their_fields(api, path, body):
    response = api.post(path, json=body)

    assert response.status_code == 400
    assert error_of(response) == "invalid_request"


@pytest.mark.parametrize("query", ["", "?action=sign-up", "?userId=jo&verificationMethod=PASSKEY"])
def test_get_challenge_needs_an_id_or_a_user(api, query):
    response = api.get(f"/challenges{query}")

    assert response.status_code == 400


def test_in_production_without_smtp_email_challenges_are_refused(app, api, override_settings):
    override_settings(env="production")

    response = api.post("/challenge", json={"verificationMethod": "EMAIL_OTP", "action": ACTION,
                                            "email": "jo@example.com"})

    assert response.status_code == 400
    assert error_of(response) == "email_not_configured"


def test_a_code_sent_for_the_hosted_page_is_not_the_server_apis_to_check(app, api, client, tenant, mail):
    make_action(app, tenant.id, "withdraw", default_outcome="CHALLENGE", verification_methods=["EMAIL_OTP"])
    api.post("/users/kim/authenticators", json={"verificationMethod": "EMAIL_OTP", "email": "kim@example.com"})
    tracked = api.post("/users/kim/actions/withdraw", json={}).get_json()
    started = client.post("/v1/client/challenge/email-otp", headers={"Authorization": f"Bearer {tracked['token']}"})
    code = mail.wait_for(1)[0].code

    response = api.post("/verify", json={"challengeId": started.get_json()["challengeId"], "verificationCode": code})

    assert response.status_code == 404
    assert error_of(response) == "challenge_not_found"

