"""validate_challenge through the official Python SDK."""

from __future__ import annotations

import pytest

from app.domain.decision import Outcome

pytestmark = pytest.mark.sdk


@pytest.fixture
def pending_challenge(authsignal_client, configure_action, enroll_totp) -> dict:
    """A CHALLENGE_REQUIRED action for user ann on "withdraw" (its track response)."""
    configure_action("withdraw", default_outcome=Outcome.CHALLENGE)
    enroll_totp("ann")
    tracked = authsignal_client.track("ann", "withdraw", {"redirectUrl": "https://shop.example/done"})
    assert tracked["state"] == "CHALLENGE_REQUIRED"
    return tracked


def test_the_track_token_of_a_pending_challenge_is_not_valid(authsignal_client, pending_challenge):
    response = authsignal_client.validate_challenge({"token": pending_challenge["token"]})

    assert response["is_valid"] is False
    assert response["state"] == "CHALLENGE_REQUIRED"
    assert response["action"] == "withdraw"
    assert response["user_id"] == "ann"
    assert response["idempotency_key"] == pending_challenge["idempotency_key"]


def test_a_result_token_is_valid_exactly_once(authsignal_client, pending_challenge, pass_challenge):
    result_token = pass_challenge("ann", "withdraw", pending_challenge["idempotency_key"])

    first = authsignal_client.validate_challenge({"token": result_token, "userId": "ann", "action": "withdraw"})
    second = authsignal_client.validate_challenge({"token": result_token})

    assert first["is_valid"] is True
    assert first["state"] == "CHALLENGE_SUCCEEDED"
    assert first["user_id"] == "ann"
    assert first["action"] == "withdraw"
    assert first["idempotency_key"] == pending_challenge["idempotency_key"]
    assert first["verification_method"] == "AUTHENTICATOR_APP"
    assert second["is_valid"] is False
    assert second["state"] == "CHALLENGE_SUCCEEDED"


def test_a_result_token_is_not_valid_for_another_user(authsignal_client, pending_challenge, pass_challenge):
    result_token = pass_challenge("ann", "withdraw", pending_challenge["idempotency_key"])

    response = authsignal_client.validate_challenge({"token": result_token, "userId": "mallory"})

    assert response["is_valid"] is False


def test_after_a_passed_challenge_get_action_reports_success(authsignal_client, pending_challenge, pass_challenge):
    pass_challenge("ann", "withdraw", pending_challenge["idempotency_key"])

    action = authsignal_client.get_action("ann", "withdraw", pending_challenge["idempotency_key"])

    assert action["state"] == "CHALLENGE_SUCCEEDED"
    assert action["verification_method"] == "AUTHENTICATOR_APP"
