"""A velocity rule through the official Python SDK: "more than 5 withdraw-funds in 10 minutes → REVIEW"."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import UserAction
from app.services.decisions.replay import explanation

pytestmark = pytest.mark.sdk

MORE_THAN_5_IN_10_MINUTES = {">": [{"var": "velocity.user.actionCodeCount.10m"}, 5]}


def test_more_than_five_withdrawals_in_ten_minutes_go_to_review(app, authsignal_client, configure_action):
    [rule_id] = configure_action("withdraw-funds", rules=[
        {"name": "Withdrawal burst", "outcome": "REVIEW", "conditions": MORE_THAN_5_IN_10_MINUTES},
    ])
    attributes = {"deviceId": "dev-1", "ipAddress": "8.8.8.8", "custom": {"amount": 50}}

    states = [authsignal_client.track("vel-user", "withdraw-funds", attributes)["state"] for _ in range(6)]
    other_action = authsignal_client.track("vel-user", "sign-in", attributes)
    other_user = authsignal_client.track("someone-else", "withdraw-funds", attributes)

    assert states == ["ALLOW"] * 5 + ["REVIEW_REQUIRED"]  # the 6th is more than 5
    assert other_action["state"] == "ALLOW" and other_user["state"] == "ALLOW"
    with app.app_context():
        sixth = db.session.execute(
            select(UserAction).where(UserAction.user_id == "vel-user", UserAction.action_code == "withdraw-funds")
            .order_by(UserAction.id.desc())).scalars().first()
        explained = explanation(sixth)
    [condition] = explained["rules"][0]["conditions"]
    assert (condition["field"], condition["observed"], sixth.priority_rule_id) == (
        "velocity.user.actionCodeCount.10m", 6, rule_id)
