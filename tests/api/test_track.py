"""POST /v1/users/{userId}/actions/{action}: the decision and what the caller gets back."""

import pytest

from tests.factories import enroll_authenticator_app, make_action, rule

AMOUNT_OVER_1000 = {">": [{"var": "custom.amount"}, 1000]}


def track(api, user_id="alice", action="withdraw-funds", **body):
    return api.post(f"/users/{user_id}/actions/{action}", json=body)


def test_unknown_action_is_created_and_allowed(api, app, tenant):
    response = track(api, action="sign-in")

    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.get_json()
    assert body["state"] == "ALLOW"
    assert body["idempotencyKey"]
    assert body["token"]
    assert "?" in body["url"] and body["url"].startswith("http://localhost:5000/challenge")
    assert body["isEnrolled"] is False
    assert body["enrolledVerificationMethods"] == []
    assert body["allowedVerificationMethods"] == ["PASSKEY", "AUTHENTICATOR_APP"]
    assert body["ruleIds"] == []
    with app.app_context():
        from app.services.rulesets.rules import get_action_configuration

        assert get_action_configuration(tenant.id, "sign-in").default_outcome == "ALLOW"


def test_empty_body_is_accepted(api):
    response = api.post("/users/alice/actions/sign-in", data=b"", content_type="application/json")
    assert response.status_code == 200
    assert response.get_json()["state"] == "ALLOW"


@pytest.mark.parametrize(
    ("outcome", "state"),
    [("ALLOW", "ALLOW"), ("REVIEW", "REVIEW_REQUIRED"), ("BLOCK", "BLOCK")],
)
def test_matching_rule_decides_for_everyone(api, app, tenant, outcome, state):
    [rule_id] = make_action(app, tenant.id, "withdraw-funds", rules=[rule("Big", 0, outcome, AMOUNT_OVER_1000)])

    body = track(api, custom={"amount": 5000}).get_json()

    assert body["state"] == state
    assert body["ruleIds"] == [rule_id]


def test_no_matching_rule_gives_the_default_outcome(api, app, tenant):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="REVIEW",
                rules=[rule("Big", 0, "BLOCK", AMOUNT_OVER_1000)])

    body = track(api, custom={"amount": 10}).get_json()

    assert body["state"] == "REVIEW_REQUIRED"
    assert body["ruleIds"] == []


def test_lowest_priority_matching_rule_wins_and_all_matches_are_listed(api, app, tenant):
    review_id, block_id = make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Review big", 5, "REVIEW", AMOUNT_OVER_1000),
        rule("Block huge", 1, "BLOCK", {">": [{"var": "custom.amount"}, 100000]}),
    ])

    body = track(api, custom={"amount": 200000}).get_json()

    assert body["state"] == "BLOCK"
    assert body["ruleIds"] == [block_id, review_id]


def test_inactive_rules_are_ignored(api, app, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[rule("Off", 0, "BLOCK", None, isActive=False)])
    assert track(api).get_json()["state"] == "ALLOW"


def test_challenge_for_an_enrolled_user(api, app, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Big", 0, "CHALLENGE", AMOUNT_OVER_1000, verificationMethods=["AUTHENTICATOR_APP"],
             defaultVerificationMethod="AUTHENTICATOR_APP"),
    ])
    enroll_authenticator_app(api, "alice")

    body = track(api, custom={"amount": 5000}).get_json()

    assert body["state"] == "CHALLENGE_REQUIRED"
    assert body["isEnrolled"] is True
    assert body["enrolledVerificationMethods"] == ["AUTHENTICATOR_APP"]
    assert body["allowedVerificationMethods"] == ["AUTHENTICATOR_APP"]
    assert body["defaultVerificationMethod"] == "AUTHENTICATOR_APP"


@pytest.mark.parametrize(
    ("policy", "state"),
    [("ALLOW", "ALLOW"), ("REQUIRE_ENROLLMENT", "CHALLENGE_REQUIRED"), ("BLOCK", "BLOCK")],
)
def test_challenge_for_an_unenrolled_user_follows_the_action_policy(api, app, tenant, policy, state):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", unenrolled_policy=policy)

    body = track(api).get_json()

    assert body["state"] == state
    assert body["isEnrolled"] is False


def test_enrolled_methods_outside_the_allowed_ones_cannot_be_challenged(api, app, tenant):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", verification_methods=["PASSKEY"])
    enroll_authenticator_app(api, "alice")

    body = track(api).get_json()

    assert body["state"] == "ALLOW"
    assert body["isEnrolled"] is True


def test_same_idempotency_key_returns_the_same_action_and_creates_nothing(api, app):
    first = track(api, idempotencyKey="k-1", custom={"amount": 1}).get_json()
    second = track(api, idempotencyKey="k-1", custom={"amount": 99999}).get_json()

    assert second["idempotencyKey"] == first["idempotencyKey"] == "k-1"
    assert second["state"] == first["state"]
    assert len(api.get("/users/alice/actions").get_json()) == 1


def test_idempotency_key_reused_for_another_user_is_a_conflict(api):
    track(api, idempotencyKey="k-1")
    response = track(api, user_id="bob", idempotencyKey="k-1")

    assert response.status_code == 409
    assert response.get_json()["errorCode"] == "idempotency_key_conflict"


def test_snake_case_attributes_are_accepted_and_custom_keys_kept_verbatim(api, app, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Known IP", 0, "REVIEW", {"==": [{"var": "ip.address"}, "203.0.113.7"]}),
    ])

    body = track(api, redirect_url="https://app.example/done", ip_address="203.0.113.7", user_agent="UA",
                 device_id="dev-1", custom={"payment_amount": 5, "paymentMethod": "card"}).get_json()
    action = api.get(f"/users/alice/actions/withdraw-funds/{body['idempotencyKey']}").get_json()

    assert body["state"] == "REVIEW_REQUIRED"
    summary = api.get("/users/alice/actions").get_json()[0]
    assert summary["ipAddress"] == "203.0.113.7" and summary["userAgent"] == "UA"
    with app.app_context():
        from app.services.decisions.action_state import get_action

        stored = get_action(tenant.id, "alice", "withdraw-funds", body["idempotencyKey"])
        assert stored.attributes["custom"] == {"payment_amount": 5, "paymentMethod": "card"}
        assert stored.redirect_url == "https://app.example/done" and stored.device_id == "dev-1"
    assert action["state"] == "REVIEW_REQUIRED"


def test_scope_is_validated(api):
    response = track(api, scope="read:authenticators launch:missiles")

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_scope"


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/users/alice/actions/bad code!", {}, "action code"),
        ("/users/alice/actions/" + "a" * 65, {}, "action code"),
        ("/users/alice/actions/sign-in", {"ipAddress": "not-an-ip"}, "ipAddress"),
        ("/users/alice/actions/sign-in", {"custom": "not an object"}, "custom"),
        ("/users/alice/actions/sign-in", {"custom": {"nested": {"too": "deep"}}}, "custom"),
        ("/users/alice/actions/sign-in", {"redirectToSettings": "yes"}, "redirectToSettings"),
        ("/users/alice/actions/sign-in", {"idempotencyKey": 123}, "idempotencyKey"),
        ("/users/alice/actions/sign-in", {"idempotencyKey": "k" * 256}, "idempotencyKey"),
        ("/users/alice/actions/sign-in", {"userAgent": "u" * 2000}, "userAgent"),
        ("/users/alice/actions/sign-in", [1, 2], "JSON object"),
        ("/users/" + "u" * 256 + "/actions/sign-in", {}, "user id"),
    ],
)
def test_bad_input_is_a_400_with_the_error_body(api, path, body, fragment):
    response = api.post(path, json=body)

    assert response.status_code == 400
    error = response.get_json()
    assert error["error"] == error["errorCode"]
    assert fragment in error["errorDescription"]


def test_malformed_json_is_a_400(api):
    response = api.post("/users/alice/actions/sign-in", data=b"{nope", content_type="application/json")

    assert response.status_code == 400
    assert response.get_json()["errorDescription"] == "The request body is not valid JSON."


def test_oversized_body_is_a_413_with_the_error_body(api):
    response = api.post("/users/alice/actions/sign-in", data=b"{" + b" " * 70000 + b"}",
                        content_type="application/json")

    assert response.status_code == 413
    assert response.get_json()["errorCode"] == "request_too_large"


def test_a_rejected_track_writes_nothing(api):
    track(api, ipAddress="bad")
    assert api.get("/users/alice/actions").get_json() == []


@pytest.mark.parametrize("url", ["https://evil.example/done", "https://app.example.evil.io/", "javascript:alert(1)"])
def test_redirect_url_outside_the_allow_list_is_refused(api, url):
    response = track(api, redirectUrl=url)

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "redirect_url_not_allowed"
    assert api.get("/users/alice/actions").get_json() == []


def test_identifiers_sent_with_a_track_fill_gaps_but_never_overwrite(api):
    assert api.patch("/users/alice", json={"email": "alice@example.com"}).status_code == 200

    track = api.post("/users/alice/actions/sign-in",
                     json={"email": "other@example.com", "phoneNumber": "+6421000000", "username": "alice1"})
    assert track.status_code == 200
    first_seen = api.post("/users/bob/actions/sign-in", json={"email": "bob@example.com", "username": "bob"})
    assert first_seen.status_code == 200

    alice = api.get("/users/alice").get_json()
    assert (alice["email"], alice["phoneNumber"], alice["username"]) == ("alice@example.com", "+6421000000", "alice1")
    bob = api.get("/users/bob").get_json()
    assert (bob["email"], bob["username"]) == ("bob@example.com", "bob")
