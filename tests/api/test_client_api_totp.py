"""Authenticator apps (TOTP) and recovery codes, as @authsignal/browser's ``totp`` module uses them.

A code is accepted once (RFC 6238 §5.2), and wrong codes of any kind share one budget per user:
ten within five minutes lock the user out and fail a pending challenge.
"""

import time
from collections import Counter
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, text, update

from app.domain.totp import parse_otp_uri
from app.extensions import db
from app.models import Authenticator, EndUser, RecoveryCode, VerificationAttempt
from app.models.base import utcnow
from app.services.challenges.codes import issue_recovery_codes, verify_recovery_code, verify_totp
from app.services.challenges.sessions import open_session
from tests.concurrency import at_once
from tests.factories import make_action
from tests.rows import count

ACTION = "withdraw-funds"


def bearer(token: str) -> dict:
    # The SDK sends Content-Type: application/json even with no body.
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def track(api, user_id: str = "alice", **attributes) -> dict:
    response = api.post(f"/users/{user_id}/actions/{ACTION}", json=attributes)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def action_state(api, tracked: dict, user_id: str = "alice") -> str:
    return api.get(f"/users/{user_id}/actions/{ACTION}/{tracked['idempotencyKey']}").get_json()["state"]


def validate(api, token: str) -> dict:
    return api.post("/validate", json={"token": token}).get_json()


def enroll(client, token: str):
    response = client.post("/v1/client/user-authenticators/totp", headers=bearer(token))  # no body, as the SDK
    assert response.is_json
    return response


def verify(client, token: str, code) -> dict:
    response = client.post("/v1/client/verify/totp", headers=bearer(token), json={"verificationCode": code})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert "error" not in body
    return body


def next_code(secret: str) -> str:
    """A code newer than the one used at enrolment, still inside the ±1 step window."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def wrong_code(secret: str) -> str:
    right = {pyotp.TOTP(secret).at(time.time() + offset) for offset in (-60, -30, 0, 30, 60)}
    return next(code for code in ("000000", "111111", "222222", "333333", "444444", "555555") if code not in right)


@pytest.fixture
def challenge_action(app, tenant):
    make_action(app, tenant.id, ACTION, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")


@pytest.fixture
def secret(api, client, challenge_action) -> str:
    """Alice has enrolled an authenticator app with this secret (using the current code)."""
    token = track(api)["token"]
    enrolled = enroll(client, token).get_json()
    assert verify(client, token, pyotp.TOTP(enrolled["secret"]).now())["isVerified"] is True
    return enrolled["secret"]


@pytest.fixture
def challenge(api, secret) -> dict:
    """A new action that challenges alice, who has an authenticator app."""
    tracked = track(api)
    assert tracked["state"] == "CHALLENGE_REQUIRED"
    return tracked


# -- enrolment ------------------------------------------------------------------------------------


def test_enrolment_returns_a_secret_and_the_first_code_confirms_it(api, client, challenge_action):
    tracked = track(api)
    assert tracked["state"] == "CHALLENGE_REQUIRED"

    response = enroll(client, tracked["token"])

    assert response.status_code == 200
    enrolled = response.get_json()
    assert set(enrolled) == {"userAuthenticatorId", "userId", "uri", "secret"}
    assert enrolled["userId"] == "alice"
    assert enrolled["uri"].startswith("otpauth://totp/Test%20tenant:alice?")
    assert parse_otp_uri(enrolled["uri"]).secret == enrolled["secret"]
    assert client.get("/v1/client/user-authenticators", headers=bearer(tracked["token"])).get_json() == []

    verified = verify(client, tracked["token"], pyotp.TOTP(enrolled["secret"]).now())

    assert verified["isVerified"] is True
    assert "failureReason" not in verified
    authenticator = verified["userAuthenticator"]
    assert authenticator["userAuthenticatorId"] == enrolled["userAuthenticatorId"]
    assert authenticator["verificationMethod"] == "AUTHENTICATOR_APP"
    assert authenticator["verifiedAt"]
    assert action_state(api, tracked) == "CHALLENGE_SUCCEEDED"
    result = validate(api, verified["accessToken"])
    assert result["isValid"] is True
    assert result["verificationMethod"] == "AUTHENTICATOR_APP"
    assert api.get("/users/alice").get_json()["enrolledVerificationMethods"] == ["AUTHENTICATOR_APP"]


def test_the_secret_is_not_stored_in_plaintext(app, api, client, challenge_action):
    secret = enroll(client, track(api)["token"]).get_json()["secret"]

    with app.app_context():
        rows = db.session.execute(text("SELECT * FROM user_authenticator")).all()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0])
    assert secret not in stored
    assert secret.lower() not in stored.lower()


def test_enrolling_again_replaces_an_unconfirmed_secret(app, api, client, challenge_action):
    token = track(api)["token"]
    first = enroll(client, token).get_json()
    second = enroll(client, token).get_json()

    assert first["secret"] != second["secret"]
    assert verify(client, token, pyotp.TOTP(first["secret"]).now())["isVerified"] is False
    assert verify(client, token, pyotp.TOTP(second["secret"]).now())["isVerified"] is True
    with app.app_context():
        assert db.session.execute(select(Authenticator.id)).scalars().all() == [second["userAuthenticatorId"]]


def test_an_enrolled_user_cannot_add_an_app_with_a_plain_token(api, client, challenge):
    response = enroll(client, challenge["token"])

    assert response.status_code == 403
    assert response.get_json()["errorCode"] == "insufficient_scope"


def test_listing_shows_verified_authenticators_only(api, client, challenge, secret):
    listed = client.get("/v1/client/user-authenticators", headers=bearer(challenge["token"]))

    assert listed.status_code == 200
    assert [(a["verificationMethod"], a["userId"]) for a in listed.get_json()] == [("AUTHENTICATOR_APP", "alice")]


def test_listing_needs_a_token(client):
    response = client.get("/v1/client/user-authenticators")

    assert response.status_code == 401
    assert response.get_json()["error"]


# -- verification ---------------------------------------------------------------------------------


def test_a_later_code_passes_a_challenge_without_re_enrolling(api, client, challenge, secret):
    verified = verify(client, challenge["token"], next_code(secret))

    assert verified["isVerified"] is True
    assert "userAuthenticator" not in verified  # only the first verification is an enrolment
    assert action_state(api, challenge) == "CHALLENGE_SUCCEEDED"
    assert validate(api, verified["accessToken"])["isValid"] is True


def test_a_code_is_accepted_once(api, client, challenge, secret):
    code = next_code(secret)
    assert verify(client, challenge["token"], code)["isVerified"] is True

    replayed = verify(client, challenge["token"], code)

    assert replayed == {"isVerified": False, "failureReason": "CODE_INVALID_OR_EXPIRED"}


def test_the_enrolment_code_cannot_be_replayed_for_the_next_challenge(api, client, challenge_action):
    token = track(api)["token"]
    code = pyotp.TOTP(enroll(client, token).get_json()["secret"]).now()
    assert verify(client, token, code)["isVerified"] is True
    later = track(api)

    assert verify(client, later["token"], code)["isVerified"] is False
    assert action_state(api, later) == "CHALLENGE_REQUIRED"


def test_a_wrong_code_is_refused(api, client, challenge, secret):
    answer = verify(client, challenge["token"], wrong_code(secret))

    assert answer == {"isVerified": False, "failureReason": "CODE_INVALID_OR_EXPIRED"}
    assert action_state(api, challenge) == "CHALLENGE_REQUIRED"


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "１２３４５６", "²²²²²²"])
def test_a_malformed_code_is_a_wrong_code(api, client, challenge, code):
    assert verify(client, challenge["token"], code) == {"isVerified": False, "failureReason": "CODE_INVALID_OR_EXPIRED"}


@pytest.mark.parametrize("body", [{}, {"verificationCode": 123456}, {"verificationCode": "1" * 33}])
def test_a_malformed_body_is_400(client, challenge, body):
    response = client.post("/v1/client/verify/totp", headers=bearer(challenge["token"]), json=body)

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_request"


def test_ten_wrong_codes_lock_the_user_out_and_fail_the_challenge(api, client, challenge, secret):
    answers = [verify(client, challenge["token"], wrong_code(secret))["failureReason"] for _ in range(10)]

    assert answers == ["CODE_INVALID_OR_EXPIRED"] * 9 + ["MAX_ATTEMPTS_EXCEEDED"]
    assert action_state(api, challenge) == "CHALLENGE_FAILED"
    assert verify(client, challenge["token"], next_code(secret)) == {
        "isVerified": False, "failureReason": "MAX_ATTEMPTS_EXCEEDED"
    }
    assert action_state(api, challenge) == "CHALLENGE_FAILED"
    assert validate(api, challenge["token"])["isValid"] is False


def test_a_right_code_takes_no_place_in_the_budget(app, api, client, challenge, secret):
    for _ in range(9):
        verify(client, challenge["token"], wrong_code(secret))
    assert verify(client, challenge["token"], next_code(secret))["isVerified"] is True
    assert count(app, VerificationAttempt) == 9

    later = track(api)

    # The tenth failure, not an eleventh refused unchecked: it is checked, and fails the challenge.
    assert verify(client, later["token"], wrong_code(secret))["failureReason"] == "MAX_ATTEMPTS_EXCEEDED"
    assert action_state(api, later) == "CHALLENGE_FAILED"


def test_the_lock_holds_across_actions_and_ends_after_five_minutes(app, api, client, challenge, secret):
    for _ in range(10):
        verify(client, challenge["token"], wrong_code(secret))
    later = track(api)
    assert verify(client, later["token"], next_code(secret))["failureReason"] == "MAX_ATTEMPTS_EXCEEDED"

    with app.app_context():
        db.session.execute(update(VerificationAttempt).values(attempted_at=utcnow() - timedelta(minutes=5, seconds=1)))
        db.session.commit()

    assert verify(client, later["token"], next_code(secret))["isVerified"] is True


def test_wrong_codes_sent_at_once_are_checked_only_while_the_budget_lasts(app, api, client, challenge, secret):
    """Sixty wrong codes in parallel on one token: ten are checked (the tenth locks), fifty are refused unchecked."""
    code = wrong_code(secret)

    answers = at_once(*[lambda: verify(app.test_client(), challenge["token"], code)["failureReason"]] * 60)

    assert count(app, VerificationAttempt) == 10
    assert Counter(answers) == {"CODE_INVALID_OR_EXPIRED": 9, "MAX_ATTEMPTS_EXCEEDED": 51}
    assert action_state(api, challenge) == "CHALLENGE_FAILED"
    assert verify(client, challenge["token"], next_code(secret))["failureReason"] == "MAX_ATTEMPTS_EXCEEDED"



def test_a_last_wrong_code_read_before_a_right_one_passed_does_not_fail_the_passed_challenge(
    app, api, client, settings, challenge, secret
):
    for _ in range(9):
        verify(client, challenge["token"], wrong_code(secret))
    with app.app_context():
        late = open_session(challenge["token"], settings=settings, now=utcnow())  # sees CHALLENGE_REQUIRED
        [passed] = at_once(lambda: verify(app.test_client(), challenge["token"], next_code(secret)))

        tenth = verify_totp(late, wrong_code(secret), settings=settings, now=utcnow())

    assert passed["isVerified"] is True
    assert tenth.failure_reason == "MAX_ATTEMPTS_EXCEEDED"
    assert action_state(api, challenge) == "CHALLENGE_SUCCEEDED"
    assert validate(api, passed["accessToken"])["isValid"] is True

# -- recovery codes (through the service the hosted pages use) ------------------------------------


def issue_codes(app, settings, token: str) -> list[str]:
    with app.app_context():
        session = open_session(token, settings=settings, now=utcnow())
        return issue_recovery_codes(session, settings=settings, now=utcnow())


def use_code(app, settings, token: str, code: str):
    with app.app_context():
        session = open_session(token, settings=settings, now=utcnow())
        return verify_recovery_code(session, code, settings=settings, now=utcnow())


def test_a_recovery_code_passes_a_challenge_once(app, api, settings, challenge):
    codes = issue_codes(app, settings, challenge["token"])
    assert len(codes) == len(set(codes)) == 10

    first = use_code(app, settings, challenge["token"], codes[0])

    assert first.is_verified is True
    assert action_state(api, challenge) == "CHALLENGE_SUCCEEDED"
    result = validate(api, first.access_token)
    assert result["isValid"] is True
    assert result["verificationMethod"] == "RECOVERY_CODE"
    later = track(api)
    again = use_code(app, settings, later["token"], codes[0])
    assert again.is_verified is False and again.failure_reason == "CODE_INVALID_OR_EXPIRED"
    assert action_state(api, later) == "CHALLENGE_REQUIRED"


def test_a_recovery_code_may_be_typed_as_displayed(app, api, settings, challenge):
    code = issue_codes(app, settings, challenge["token"])[3]

    assert use_code(app, settings, challenge["token"], f" {code[:5].lower()}-{code[5:]} ").is_verified is True


def test_recovery_codes_are_stored_as_digests_and_replaced_on_reissue(app, api, settings, challenge):
    old = issue_codes(app, settings, challenge["token"])
    new = issue_codes(app, settings, challenge["token"])

    with app.app_context():
        digests = db.session.execute(select(RecoveryCode.code_digest).join(EndUser)).scalars().all()
    assert len(digests) == 10
    assert not {*old, *new} & set(digests)
    assert use_code(app, settings, challenge["token"], old[0]).is_verified is False
    assert use_code(app, settings, challenge["token"], new[0]).is_verified is True


def test_wrong_recovery_codes_and_wrong_totp_codes_share_one_budget(app, api, client, settings, challenge, secret):
    codes = issue_codes(app, settings, challenge["token"])
    for _ in range(9):
        assert verify(client, challenge["token"], wrong_code(secret))["failureReason"] == "CODE_INVALID_OR_EXPIRED"

    tenth = use_code(app, settings, challenge["token"], "WRONG-CODE1")

    assert tenth.is_verified is False and tenth.failure_reason == "MAX_ATTEMPTS_EXCEEDED"
    assert action_state(api, challenge) == "CHALLENGE_FAILED"
    refused = use_code(app, settings, challenge["token"], codes[0])
    assert refused.is_verified is False and refused.failure_reason == "MAX_ATTEMPTS_EXCEEDED"
    assert verify(client, challenge["token"], next_code(secret))["failureReason"] == "MAX_ATTEMPTS_EXCEEDED"
    # The refused code was not used up.
    with app.app_context():
        assert db.session.execute(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None))).first() is None
