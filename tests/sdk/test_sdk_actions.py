"""track / get_action / update_action through the official Python SDK."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain.decision import Outcome
from app.extensions import db
from app.models import ShadowDecision

pytestmark = pytest.mark.sdk

BIG_AMOUNT = {">": [{"var": "custom.amount"}, 10000]}


def test_track_allows_a_fresh_user(authsignal_client):
    response = authsignal_client.track("fresh-user", "signIn", {"redirectUrl": "https://shop.example/done"})

    assert response["state"] == "ALLOW"
    assert response["idempotency_key"]
    assert response["token"]
    assert "?" in response["url"]  # the browser SDK appends "&mode=popup"
    assert response["is_enrolled"] is False


def test_track_without_attributes_still_returns_state_key_and_token(authsignal_client):
    response = authsignal_client.track("fresh-user", "signIn")

    assert response["state"] == "ALLOW"
    assert response["idempotency_key"]
    assert response["token"]


def test_track_requires_a_challenge_when_a_rule_says_challenge(authsignal_client, configure_action, enroll_totp):
    [rule_id] = configure_action("withdraw", rules=[{"name": "Always step up", "outcome": "CHALLENGE"}])
    enroll_totp("ann")

    response = authsignal_client.track("ann", "withdraw", {"redirectUrl": "https://shop.example/done"})

    assert response["state"] == "CHALLENGE_REQUIRED"
    assert response["idempotency_key"]
    assert response["token"]
    assert "?" in response["url"]
    assert response["is_enrolled"] is True
    assert "AUTHENTICATOR_APP" in response["enrolled_verification_methods"]
    assert response["allowed_verification_methods"]
    assert response["rule_ids"] == [rule_id]


def test_track_requires_a_challenge_when_the_default_outcome_is_challenge(
    authsignal_client, configure_action, enroll_totp
):
    configure_action("withdraw", default_outcome=Outcome.CHALLENGE)
    enroll_totp("ann")

    response = authsignal_client.track("ann", "withdraw")

    assert response["state"] == "CHALLENGE_REQUIRED"
    assert "AUTHENTICATOR_APP" in response["allowed_verification_methods"]
    assert response["rule_ids"] == []


def test_track_lets_an_unenrolled_user_through_a_challenge_outcome(authsignal_client, configure_action):
    configure_action("withdraw", default_outcome=Outcome.CHALLENGE)

    response = authsignal_client.track("bob", "withdraw")

    assert response["state"] == "ALLOW"
    assert response["is_enrolled"] is False


def test_track_requires_review_when_a_rule_on_custom_data_matches(authsignal_client, configure_action):
    [rule_id] = configure_action("payment", rules=[{"name": "Large payment", "outcome": "REVIEW", "conditions": BIG_AMOUNT}])

    response = authsignal_client.track("ann", "payment", {"custom": {"amount": 20000}})

    assert response["state"] == "REVIEW_REQUIRED"
    assert rule_id in response["rule_ids"]


def test_track_is_blocked_when_a_rule_on_custom_data_matches(authsignal_client, configure_action):
    [rule_id] = configure_action("payment", rules=[{"name": "Huge payment", "outcome": "BLOCK", "conditions": BIG_AMOUNT}])

    response = authsignal_client.track("ann", "payment", {"custom": {"amount": 20000}})

    assert response["state"] == "BLOCK"
    assert rule_id in response["rule_ids"]


def test_track_ignores_a_rule_whose_conditions_do_not_match(authsignal_client, configure_action):
    configure_action("payment", rules=[{"name": "Huge payment", "outcome": "BLOCK", "conditions": BIG_AMOUNT}])

    response = authsignal_client.track("ann", "payment", {"custom": {"amount": 5}})

    assert response["state"] == "ALLOW"
    assert response["rule_ids"] == []


def test_the_matching_rule_with_the_lowest_priority_decides(authsignal_client, configure_action):
    block_id, review_id = configure_action(
        "payment",
        rules=[
            {"name": "Huge payment", "outcome": "BLOCK", "priority": 1, "conditions": BIG_AMOUNT},
            {"name": "Any payment", "outcome": "REVIEW", "priority": 5},
        ],
    )

    response = authsignal_client.track("ann", "payment", {"custom": {"amount": 20000}})
    action = authsignal_client.get_action("ann", "payment", response["idempotency_key"])

    assert response["state"] == "BLOCK"
    assert set(response["rule_ids"]) == {block_id, review_id}
    assert action["priority_rule_id"] == block_id


def test_track_accepts_the_snake_case_attributes_the_sdk_tests_send(authsignal_client, configure_action, stored_action):
    # Rule conditions name the custom keys exactly as sent: they must not be re-cased on the way in.
    [rule_id] = configure_action(
        "python-sdk-test",
        rules=[{
            "name": "Keys as sent",
            "outcome": "REVIEW",
            "conditions": {"and": [{"==": [{"var": "custom.paymentAmount"}, 12]},
                                   {"==": [{"var": "custom.merchant_id"}, "m-1"]}]},
        }],
    )

    response = authsignal_client.track(
        "user123",
        "python-sdk-test",
        {
            "redirect_url": "http://localhost:3000",
            "redirect_to_settings": True,
            "email": "not-a-real-email@authsignal.com",
            "phone_number": "1234567890",
            "ip_address": "127.0.0.1",
            "user_agent": "Authsignal-Python-SDK-Tests/1.0",
            "device_id": "device123",
            "custom": {"paymentAmount": 12, "merchant_id": "m-1"},
        },
    )

    assert response["state"] == "REVIEW_REQUIRED"
    assert response["rule_ids"] == [rule_id]
    assert response["token"]
    assert "?" in response["url"]
    stored = stored_action(response["idempotency_key"])
    assert stored["redirect_url"] == "http://localhost:3000"
    assert stored["ip_address"] == "127.0.0.1"
    assert stored["user_agent"] == "Authsignal-Python-SDK-Tests/1.0"
    assert stored["device_id"] == "device123"
    assert stored["attributes"]["custom"] == {"paymentAmount": 12, "merchant_id": "m-1"}


def test_tracking_again_with_the_same_idempotency_key_returns_the_same_action(authsignal_client, configure_action):
    configure_action("payment", rules=[{"name": "Large payment", "outcome": "REVIEW", "conditions": BIG_AMOUNT}])
    attributes = {"idempotencyKey": "order-42", "custom": {"amount": 20000}}

    first = authsignal_client.track("ann", "payment", attributes)
    # The replay returns the stored decision, whatever the new attributes would have decided.
    second = authsignal_client.track("ann", "payment", {**attributes, "custom": {"amount": 1}})

    assert first["idempotency_key"] == second["idempotency_key"] == "order-42"
    assert first["state"] == second["state"] == "REVIEW_REQUIRED"
    assert second["token"]


def test_get_action_explains_the_decision(authsignal_client, configure_action):
    [rule_id] = configure_action("payment", rules=[{"name": "Large payment", "outcome": "REVIEW", "conditions": BIG_AMOUNT}])
    tracked = authsignal_client.track("ann", "payment", {"custom": {"amount": 20000}})

    action = authsignal_client.get_action("ann", "payment", tracked["idempotency_key"])

    assert action["state"] == "REVIEW_REQUIRED"
    assert action["output"] is not None
    assert action["rule_ids"] == [rule_id]
    assert action["priority_rule_id"] == rule_id
    assert action["rules"] == [{"rule_id": rule_id, "name": "Large payment"}]
    assert action["created_at"]
    assert action["state_updated_at"]


@pytest.mark.parametrize("new_state", ["REVIEW_SUCCEEDED", "REVIEW_FAILED", "BLOCK"])
def test_update_action_moves_the_state(authsignal_client, configure_action, new_state):
    configure_action("payment", rules=[{"name": "Large payment", "outcome": "REVIEW", "conditions": BIG_AMOUNT}])
    tracked = authsignal_client.track("ann", "payment", {"custom": {"amount": 20000}})
    key = tracked["idempotency_key"]

    updated = authsignal_client.update_action("ann", "payment", key, {"state": new_state})

    assert updated["state"] == new_state
    assert authsignal_client.get_action("ann", "payment", key)["state"] == new_state


def test_with_a_shadow_each_track_is_decided_twice_and_answered_once(app, authsignal_client, configure_action,
                                                                     rules_in_shadow):
    configure_action("transfer", rules=[{"name": "Big", "outcome": "REVIEW", "conditions": BIG_AMOUNT}])

    response = authsignal_client.track("ann", "transfer", {"custom": {"amount": 5}})

    assert response["state"] == "ALLOW"
    with app.app_context():
        verdicts = db.session.execute(select(ShadowDecision.live_state, ShadowDecision.shadow_state)).all()
    assert verdicts == ([("ALLOW", "BLOCK")] if rules_in_shadow else [])
