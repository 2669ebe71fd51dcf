"""POST /v1/validate: only a result token of a passed challenge is valid, and only once."""

import pytest

from app.domain.decision import VerificationMethod
from app.models.base import utcnow
from app.services.challenges.sessions import record_challenge_success
from tests.conftest import ApiClient
from tests.factories import add_tenant_with_key, enroll_authenticator_app, make_action


@pytest.fixture
def challenge(api, app, tenant):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE")
    enroll_authenticator_app(api, "alice")
    body = api.post("/users/alice/actions/withdraw-funds", json={}).get_json()
    assert body["state"] == "CHALLENGE_REQUIRED"
    return body


def pass_challenge(app, tenant, challenge) -> str:
    with app.app_context():
        return record_challenge_success(
            tenant.id, "alice", "withdraw-funds", challenge["idempotencyKey"],
            verification_method=VerificationMethod.AUTHENTICATOR_APP, authenticator_id=None,
            settings=app.config["TOLLGATE"], now=utcnow(),
        )


def test_track_token_of_a_pending_challenge_is_not_valid(api, challenge):
    body = api.post("/validate", json={"token": challenge["token"]}).get_json()

    assert body["isValid"] is False
    assert body["state"] == "CHALLENGE_REQUIRED"
    assert body["userId"] == "alice"
    assert body["action"] == body["actionCode"] == "withdraw-funds"
    assert body["idempotencyKey"] == challenge["idempotencyKey"]


def test_result_token_is_valid_exactly_once(api, app, tenant, challenge):
    result_token = pass_challenge(app, tenant, challenge)

    first = api.post("/validate", json={"token": result_token}).get_json()
    second = api.post("/validate", json={"token": result_token}).get_json()

    assert first["isValid"] is True
    assert first["state"] == "CHALLENGE_SUCCEEDED"
    assert first["verificationMethod"] == "AUTHENTICATOR_APP"
    assert second["isValid"] is False
    assert second["state"] == "CHALLENGE_SUCCEEDED"


def test_track_token_stays_invalid_after_success(api, app, tenant, challenge):
    pass_challenge(app, tenant, challenge)
    assert api.post("/validate", json={"token": challenge["token"]}).get_json()["isValid"] is False


@pytest.mark.parametrize("mismatch", [{"userId": "mallory"}, {"action": "sign-in"}])
def test_user_or_action_mismatch_is_not_valid(api, app, tenant, challenge, mismatch):
    result_token = pass_challenge(app, tenant, challenge)

    body = api.post("/validate", json={"token": result_token, **mismatch}).get_json()

    assert body["isValid"] is False
    # The mismatch did not use the token up.
    assert api.post("/validate", json={"token": result_token}).get_json()["isValid"] is True


def test_matching_user_and_action_are_valid(api, app, tenant, challenge):
    result_token = pass_challenge(app, tenant, challenge)
    body = api.post("/validate", json={"token": result_token, "userId": "alice", "action": "withdraw-funds"})
    assert body.get_json()["isValid"] is True


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c"])
def test_garbage_token_is_a_400(api, token):
    response = api.post("/validate", json={"token": token})

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_token"


def test_tampered_token_is_a_400(api, challenge):
    header, payload, signature = challenge["token"].split(".")
    tampered = ".".join([header, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])

    assert api.post("/validate", json={"token": tampered}).status_code == 400


def test_token_of_another_tenant_is_rejected(api, app, challenge):
    _, other_key = add_tenant_with_key(app, "Other")
    other_api = ApiClient(app.test_client(), other_key)

    assert other_api.post("/validate", json={"token": challenge["token"]}).status_code == 400


def test_missing_token_is_a_400(api):
    response = api.post("/validate", json={})

    assert response.status_code == 400
    assert "token" in response.get_json()["errorDescription"]
