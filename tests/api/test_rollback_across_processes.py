"""A rollback decides the very next track in every process: two Tollgate instances (gunicorn, each
holding its own copy of the tenant's configuration) and a rollback made by a third process."""

from __future__ import annotations

import pytest
import requests

from app.services.rulesets.rules import RuleDocument, create_rule
from app.services.rulesets.versions import publish, rollback
from tests.factories import make_action, rule
from tests.servers import tollgate_processes

CODE = "withdraw"


def track(url: str, api_key: str, user_id: str) -> str:
    response = requests.post(f"{url}/v1/users/{user_id}/actions/{CODE}", json={"custom": {"amount": 5000}},
                             auth=(api_key, ""), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["state"]


@pytest.fixture
def instances(app, app_env):
    with tollgate_processes(app_env, 2) as urls:
        yield urls


def test_rollback_and_publish_decide_the_next_track_on_both_instances(app, tenant, instances):
    make_action(app, tenant.id, CODE, rules=[rule("Block all", 0, "BLOCK")])  # version 2
    # Both instances have decided by version 2, so each holds it in its configuration.
    assert [track(url, tenant.api_key, "u1") for url in instances] == ["BLOCK", "BLOCK"]

    with app.app_context():  # the console or the CLI, in a process of its own
        rollback("cli", tenant.id, CODE, 1, note="Version 2 blocked everyone.")

    assert [track(url, tenant.api_key, "u2") for url in instances] == ["ALLOW", "ALLOW"]

    with app.app_context():
        create_rule(tenant.id, CODE, RuleDocument.model_validate(rule("Review big", 0, "REVIEW",
                                                                       {">": [{"var": "custom.amount"}, 1000]})))
        publish("cli", tenant.id, CODE, note="Review big withdrawals.")

    assert [track(url, tenant.api_key, "u3") for url in instances] == ["REVIEW_REQUIRED", "REVIEW_REQUIRED"]
