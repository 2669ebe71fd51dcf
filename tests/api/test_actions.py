"""Reading, updating and querying tracked actions."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_action, rule


def tracked(api, user_id="alice", action="withdraw-funds", **body):
    return api.post(f"/users/{user_id}/actions/{action}", json=body).get_json()["idempotencyKey"]


def test_get_action_returns_state_rules_and_the_decision_trace(api, app, tenant):
    [rule_id] = make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Big", 0, "REVIEW", {"and": [{">": [{"var": "custom.amount"}, 1000]}]}),
    ])
    key = tracked(api, custom={"amount": 5000})

    body = api.get(f"/users/alice/actions/withdraw-funds/{key}").get_json()

    assert body["state"] == "REVIEW_REQUIRED"
    assert body["createdAt"].endswith("Z") and body["stateUpdatedAt"].endswith("Z")
    assert body["ruleIds"] == [rule_id]
    assert body["priorityRuleId"] == rule_id
    assert body["rules"] == [{"ruleId": rule_id, "name": "Big"}]
    [trace] = body["output"]["rules"]
    assert trace["matched"] is True
    assert trace["conditions"] == [
        {"path": "and[0]", "operator": ">", "field": "custom.amount", "observed": 5000, "expected": 1000,
         "result": True},
    ]


@pytest.mark.parametrize("path", [
    "/users/alice/actions/withdraw-funds/unknown-key",
    "/users/bob/actions/withdraw-funds/{key}",
    "/users/alice/actions/sign-in/{key}",
])
def test_get_action_for_an_unknown_or_mismatched_action_is_404(api, path):
    key = tracked(api)
    response = api.get(path.format(key=key))

    assert response.status_code == 404
    assert response.get_json()["errorCode"] == "action_not_found"


@pytest.mark.parametrize("state", ["REVIEW_SUCCEEDED", "REVIEW_FAILED", "BLOCK", "CHALLENGE_SUCCEEDED", "ALLOW"])
def test_update_action_accepts_any_valid_state(api, state):
    key = tracked(api)

    body = api.patch(f"/users/alice/actions/withdraw-funds/{key}", json={"state": state}).get_json()

    assert body["state"] == state
    assert api.get(f"/users/alice/actions/withdraw-funds/{key}").get_json()["state"] == state


def test_update_action_records_the_state_history(api, app, tenant):
    key = tracked(api)
    api.patch(f"/users/alice/actions/withdraw-funds/{key}", json={"state": "REVIEW_REQUIRED"})
    api.patch(f"/users/alice/actions/withdraw-funds/{key}", json={"state": "REVIEW_SUCCEEDED"})

    with app.app_context():
        from app.services.decisions.action_state import get_action, history

        steps = [(c.from_state, c.to_state, c.source) for c in history(get_action(tenant.id, "alice", "withdraw-funds", key))]
    assert steps == [(None, "ALLOW", "track"), ("ALLOW", "REVIEW_REQUIRED", "api"),
                       ("REVIEW_REQUIRED", "REVIEW_SUCCEEDED", "api")]


@pytest.mark.parametrize("body", [{"state": "REVIEW"}, {"state": None}, {}, {"state": 3}])
def test_update_action_rejects_invalid_states(api, body):
    key = tracked(api)
    response = api.patch(f"/users/alice/actions/withdraw-funds/{key}", json=body)

    assert response.status_code == 400
    assert "state" in response.get_json()["errorDescription"]


def test_query_user_actions_is_newest_first_and_filterable(api):
    first = tracked(api, action="sign-in")
    second = tracked(api, action="withdraw-funds")
    tracked(api, user_id="bob")
    api.patch(f"/users/alice/actions/withdraw-funds/{second}", json={"state": "BLOCK"})

    everything = api.get("/users/alice/actions").get_json()
    by_code = api.get("/users/alice/actions?codes=sign-in").get_json()
    by_state = api.get("/users/alice/actions?state=BLOCK").get_json()

    assert [a["idempotencyKey"] for a in everything] == [second, first]
    assert [a["idempotencyKey"] for a in by_code] == [first]
    assert [a["idempotencyKey"] for a in by_state] == [second]
    assert set(everything[0]) >= {"actionCode", "idempotencyKey", "createdAt", "state", "stateUpdatedAt"}


def test_query_user_actions_from_date(api):
    tracked(api)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()

    assert api.get("/users/alice/actions", query_string={"fromDate": tomorrow}).get_json() == []
    assert len(api.get("/users/alice/actions?fromDate=2020-01-01").get_json()) == 1


@pytest.mark.parametrize("query", ["fromDate=yesterday", "state=REVIEW"])
def test_query_user_actions_rejects_bad_filters(api, query):
    response = api.get(f"/users/alice/actions?{query}")

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_request"
