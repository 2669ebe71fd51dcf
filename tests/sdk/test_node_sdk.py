"""The official ``@authsignal/node`` SDK (2.21.0), unchanged, against Tollgate over real HTTP.

Each call goes through ``tests/sdk/node/bridge.mjs``: one long-lived ``node`` process reads a call
per line and answers with the SDK's result or its ``AuthsignalError``, so these tests read as SDK
calls. ``make test`` installs the SDK from the committed lock file (``npm ci``); run directly
without it, the module is skipped and says how to install it.

Node SDK behaviours the server has to meet (contract §1.3): it reads ``error`` (not ``errorCode``)
from error bodies, renames ``actionCode`` to ``action`` in validate (the server's ``action`` wins),
interpolates path segments without URL-encoding, and verifies webhooks with X-Signature-V2.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from app.domain.decision import Outcome
from app.services.delivery.worker import SendResult, deliver_due
from tests.factories import make_action, rule

pytestmark = pytest.mark.sdk

NODE_DIR = Path(__file__).parent / "node"
SDK_DIR = NODE_DIR / "node_modules" / "@authsignal" / "node"
BIG_AMOUNT = {">": [{"var": "custom.amount"}, 10000]}


class NodeSdkError(Exception):
    def __init__(self, error: dict[str, Any]):
        super().__init__(f"{error['statusCode']} {error['errorCode']}: {error['errorDescription']}")
        self.status_code = error["statusCode"]
        self.error_code = error["errorCode"]
        self.error_description = error["errorDescription"]


class NodeBridge:
    """The running bridge process: one SDK call in, its result (or AuthsignalError) out."""

    def __init__(self, process: subprocess.Popen):
        self.process = process

    def call(self, api_url: str, secret: str, method: str, request: dict[str, Any]) -> Any:
        self.process.stdin.write(json.dumps({"apiUrl": api_url, "secret": secret, "method": method,
                                             "request": request}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()  # pytest-timeout ends a hang
        if not line:
            raise RuntimeError(f"the node bridge exited: {self.process.stderr.read()}")
        answer = json.loads(line)
        if "error" in answer:
            raise NodeSdkError(answer["error"])
        return answer["result"]


class NodeSdk:
    """``new Authsignal({apiSecretKey, apiUrl})``: ``sdk.track({...})`` calls the SDK's ``track``."""

    def __init__(self, bridge: NodeBridge, api_url: str, secret: str):
        self._bridge, self._api_url, self._secret = bridge, api_url, secret

    def __getattr__(self, method: str):
        return lambda request: self._bridge.call(self._api_url, self._secret, method, request)

    def construct_event(self, payload: str, signature: str) -> dict[str, Any]:
        return self._bridge.call(self._api_url, self._secret, "webhook.constructEvent",
                                 {"payload": payload, "signature": signature})


@pytest.fixture(scope="session")
def node_bridge() -> Iterator[NodeBridge]:
    node = shutil.which("node")
    if node is None or not SDK_DIR.is_dir():
        pytest.skip("needs node and the SDK: `make test` installs both (npm ci --prefix tests/sdk/node)")
    process = subprocess.Popen([node, str(NODE_DIR / "bridge.mjs")], cwd=NODE_DIR, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield NodeBridge(process)
    finally:
        process.stdin.close()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


@pytest.fixture
def sdk(node_bridge, live_server, tenant) -> NodeSdk:
    return NodeSdk(node_bridge, live_server.api_url, tenant.api_key)


def enroll_authenticator_app(sdk: NodeSdk, user_id: str) -> dict[str, Any]:
    otp_uri = pyotp.TOTP(pyotp.random_base32()).provisioning_uri(name=user_id, issuer_name="Tollgate")
    return sdk.enrollVerifiedAuthenticator({"userId": user_id, "attributes": {
        "verificationMethod": "AUTHENTICATOR_APP", "otpUri": otp_uri}})


# -- actions ---------------------------------------------------------------------------------------

def test_track_allows_a_fresh_user(sdk):
    response = sdk.track({"userId": "fresh-user", "action": "signIn",
                          "attributes": {"redirectUrl": "https://shop.example/done"}})

    assert response["state"] == "ALLOW"
    assert response["idempotencyKey"] and response["token"]
    assert "?" in response["url"]
    assert response["isEnrolled"] is False


def test_track_requires_a_challenge_from_an_enrolled_user(sdk, app, tenant):
    [rule_id] = make_action(app, tenant.id, "withdraw", rules=[rule("Always step up", 0, "CHALLENGE")])
    enroll_authenticator_app(sdk, "ann")

    response = sdk.track({"userId": "ann", "action": "withdraw"})

    assert response["state"] == "CHALLENGE_REQUIRED"
    assert response["isEnrolled"] is True
    assert "AUTHENTICATOR_APP" in response["enrolledVerificationMethods"]
    assert response["ruleIds"] == [rule_id]


@pytest.mark.parametrize(("outcome", "state"), [(Outcome.REVIEW, "REVIEW_REQUIRED"), (Outcome.BLOCK, "BLOCK")])
def test_track_applies_review_and_block_rules(sdk, app, tenant, outcome, state):
    make_action(app, tenant.id, "payout", rules=[rule("Large payout", 0, outcome, BIG_AMOUNT)])

    assert sdk.track({"userId": "bo", "action": "payout", "attributes": {"custom": {"amount": 50000}}})["state"] == state
    assert sdk.track({"userId": "bo", "action": "payout", "attributes": {"custom": {"amount": 5}}})["state"] == "ALLOW"


def test_get_action_and_a_review_decision_through_update_action(sdk, app, tenant):
    make_action(app, tenant.id, "payout", rules=[rule("Large payout", 0, "REVIEW", BIG_AMOUNT)])
    tracked = sdk.track({"userId": "cy", "action": "payout", "attributes": {"custom": {"amount": 50000}}})
    key = {"userId": "cy", "action": "payout", "idempotencyKey": tracked["idempotencyKey"]}

    assert sdk.getAction(key)["state"] == "REVIEW_REQUIRED"
    updated = sdk.updateAction({**key, "attributes": {"state": "REVIEW_SUCCEEDED"}})

    assert updated["state"] == "REVIEW_SUCCEEDED"
    assert sdk.getAction(key)["state"] == "REVIEW_SUCCEEDED"


def test_query_user_actions_filters_by_code_and_state(sdk, app, tenant):
    make_action(app, tenant.id, "payout", rules=[rule("Large payout", 0, "BLOCK", BIG_AMOUNT)])
    sdk.track({"userId": "di", "action": "signIn"})
    blocked = sdk.track({"userId": "di", "action": "payout", "attributes": {"custom": {"amount": 50000}}})

    everything = sdk.queryUserActions({"userId": "di"})
    payouts = sdk.queryUserActions({"userId": "di", "actionCodes": ["payout"], "state": "BLOCK"})

    assert {a["actionCode"] for a in everything} == {"signIn", "payout"}
    assert [a["idempotencyKey"] for a in payouts] == [blocked["idempotencyKey"]]


def test_validate_challenge_accepts_a_result_token_once(sdk, app, tenant, pass_challenge):
    make_action(app, tenant.id, "withdraw", rules=[rule("Always step up", 0, "CHALLENGE")])
    enroll_authenticator_app(sdk, "ed")
    tracked = sdk.track({"userId": "ed", "action": "withdraw"})
    result_token = pass_challenge("ed", "withdraw", tracked["idempotencyKey"])

    first = sdk.validateChallenge({"token": result_token})
    second = sdk.validateChallenge({"token": result_token})

    assert first["isValid"] is True
    assert first["state"] == "CHALLENGE_SUCCEEDED"
    assert first["userId"] == "ed" and first["action"] == "withdraw"
    assert second["isValid"] is False


def test_validate_challenge_refuses_the_pending_track_token(sdk, app, tenant):
    make_action(app, tenant.id, "withdraw", rules=[rule("Always step up", 0, "CHALLENGE")])
    enroll_authenticator_app(sdk, "fi")
    tracked = sdk.track({"userId": "fi", "action": "withdraw"})

    response = sdk.validateChallenge({"token": tracked["token"]})

    assert response["isValid"] is False
    assert response["state"] == "CHALLENGE_REQUIRED"


# -- users and authenticators ----------------------------------------------------------------------

def test_update_get_query_and_delete_a_user(sdk):
    sdk.updateUser({"userId": "gus", "attributes": {"email": "gus@example.com", "username": "gus",
                                                     "custom": {"tier": "gold"}}})

    user = sdk.getUser({"userId": "gus"})
    found = sdk.queryUsers({"email": "gus@example.com"})
    sdk.deleteUser({"userId": "gus"})

    assert user["email"] == "gus@example.com" and user["isEnrolled"] is False
    assert [u["userId"] for u in found["users"]] == ["gus"]
    assert sdk.queryUsers({"email": "gus@example.com"})["users"] == []


@pytest.mark.parametrize("user_id", ["ann.lee@example.com", "auth0|5f7c8ec7c33c6c004bbafe82", "user:42"])
def test_user_ids_reach_the_server_as_sent(sdk, user_id):
    """The Node SDK puts user ids into paths without URL-encoding them (contract §1.3)."""
    sdk.updateUser({"userId": user_id, "attributes": {"email": "someone@example.com"}})

    assert sdk.getUser({"userId": user_id})["email"] == "someone@example.com"
    assert sdk.track({"userId": user_id, "action": "signIn"})["state"] == "ALLOW"
    assert [a["actionCode"] for a in sdk.queryUserActions({"userId": user_id})] == ["signIn"]


def test_enroll_list_and_delete_authenticators(sdk):
    enrolled = enroll_authenticator_app(sdk, "hal")
    email = sdk.enrollVerifiedAuthenticator({"userId": "hal", "attributes": {
        "verificationMethod": "EMAIL_OTP", "email": "hal@example.com"}})

    listed = sdk.getAuthenticators({"userId": "hal"})
    assert {a["verificationMethod"] for a in listed} == {"AUTHENTICATOR_APP", "EMAIL_OTP"}
    assert sdk.getUser({"userId": "hal"})["isEnrolled"] is True

    sdk.deleteAuthenticator({"userId": "hal", "userAuthenticatorId": email["authenticator"]["userAuthenticatorId"]})

    remaining = sdk.getAuthenticators({"userId": "hal"})
    assert [a["userAuthenticatorId"] for a in remaining] == [enrolled["authenticator"]["userAuthenticatorId"]]


# -- codes the backend sends and checks itself: challenge, verify, claimChallenge, getChallenge ------

def email_challenge(sdk: NodeSdk, **request: Any) -> dict[str, Any]:
    return sdk.challenge({"verificationMethod": "EMAIL_OTP", "action": "signUp", "email": "jay@example.com",
                          **request})


def test_an_email_code_from_challenge_to_a_validated_token(sdk, mail):
    started = email_challenge(sdk)
    [received] = mail.wait_for(1)

    verified = sdk.verify({"challengeId": started["challengeId"], "verificationCode": received.code})
    claimed = sdk.claimChallenge({"challengeId": started["challengeId"], "userId": "jay"})
    validated = sdk.validateChallenge({"token": claimed["token"], "userId": "jay", "action": "signUp"})

    assert isinstance(started["expiresAt"], int) and started["idempotencyKey"]
    assert received.envelope_to == ["jay@example.com"]
    assert verified == {"isVerified": True, "email": "jay@example.com", "verificationMethod": "EMAIL_OTP"}
    assert claimed["verificationMethod"] == "EMAIL_OTP"
    assert validated["isValid"] is True
    assert (validated["state"], validated["idempotencyKey"]) == ("CHALLENGE_SUCCEEDED", started["idempotencyKey"])
    assert sdk.validateChallenge({"token": claimed["token"]})["isValid"] is False  # once
    assert sdk.getUser({"userId": "jay"})["emailVerified"] is True


def test_a_server_side_code_steps_up_a_tracked_action(sdk, app, tenant, mail):
    make_action(app, tenant.id, "withdraw", rules=[rule("Always step up", 0, "CHALLENGE")])
    enroll_authenticator_app(sdk, "kai")
    tracked = sdk.track({"userId": "kai", "action": "withdraw"})
    assert tracked["state"] == "CHALLENGE_REQUIRED"

    started = email_challenge(sdk, action="withdraw", userId="kai", idempotencyKey=tracked["idempotencyKey"],
                              email="kai@example.com")
    sdk.verify({"challengeId": started["challengeId"], "verificationCode": mail.wait_for(1)[0].code})
    claimed = sdk.claimChallenge({"challengeId": started["challengeId"], "userId": "kai"})

    assert sdk.validateChallenge({"token": claimed["token"]})["isValid"] is True
    action = sdk.getAction({"userId": "kai", "action": "withdraw", "idempotencyKey": tracked["idempotencyKey"]})
    assert (action["state"], action["verificationMethod"]) == ("CHALLENGE_SUCCEEDED", "EMAIL_OTP")


def test_wrong_codes_fail_and_the_fifth_ends_the_challenge(sdk, mail):
    started = email_challenge(sdk)
    code = mail.wait_for(1)[0].code
    guess = {"challengeId": started["challengeId"], "verificationCode": f"{(int(code) + 1) % 1_000_000:06d}"}

    answers = [sdk.verify(guess) for _ in range(5)]
    after = sdk.verify({"challengeId": started["challengeId"], "verificationCode": code})

    assert [a["isVerified"] for a in answers] == [False] * 5
    assert [a["failureReason"] for a in answers] == ["CODE_INVALID_OR_EXPIRED"] * 4 + ["MAX_ATTEMPTS_EXCEEDED"]
    assert (after["isVerified"], after["failureReason"]) == (False, "MAX_ATTEMPTS_EXCEEDED")


def test_a_used_code_is_refused(sdk, mail):
    started = email_challenge(sdk)
    code = {"challengeId": started["challengeId"], "verificationCode": mail.wait_for(1)[0].code}

    assert sdk.verify(code)["isVerified"] is True
    again = sdk.verify(code)

    assert (again["isVerified"], again["failureReason"]) == (False, "CODE_INVALID_OR_EXPIRED")


def test_claiming_an_unverified_challenge_is_an_authsignal_error(sdk, mail):
    started = email_challenge(sdk)

    with pytest.raises(NodeSdkError) as raised:
        sdk.claimChallenge({"challengeId": started["challengeId"], "userId": "jay"})

    assert (raised.value.status_code, raised.value.error_code) == (409, "challenge_not_verified")
    assert raised.value.error_description


def test_get_challenge_by_id_and_by_user_and_action(sdk, mail):
    started = email_challenge(sdk, userId="jay")

    by_id = sdk.getChallenge({"challengeId": started["challengeId"]})
    by_user = sdk.getChallenge({"userId": "jay", "action": "signUp", "verificationMethod": "EMAIL_OTP"})

    assert by_id == by_user == {"challengeId": started["challengeId"], "expiresAt": started["expiresAt"],
                                "verificationMethod": "EMAIL_OTP", "action": "signUp", "email": "jay@example.com"}


def test_an_sms_code_from_challenge_to_a_validated_token(sdk, twilio):
    started = sdk.challenge({"verificationMethod": "SMS", "action": "signIn", "phoneNumber": "+447400123456",
                             "userId": "lin"})
    [sent] = twilio.wait_for(1)

    found = sdk.getChallenge({"challengeId": started["challengeId"]})
    wrong = sdk.verify({"challengeId": started["challengeId"], "verificationCode": f"{(int(sent.code) + 1) % 10**6:06d}"})
    verified = sdk.verify({"challengeId": started["challengeId"], "verificationCode": sent.code})
    claimed = sdk.claimChallenge({"challengeId": started["challengeId"], "userId": "lin"})

    assert sent.form["To"] == "+447400123456"
    assert (found["phoneNumber"], found["smsChannel"], found["verificationMethod"]) == ("+447400123456", "DEFAULT", "SMS")
    assert (wrong["isVerified"], wrong["failureReason"]) == (False, "CODE_INVALID_OR_EXPIRED")
    assert (verified["isVerified"], verified["phoneNumber"], verified["verificationMethod"]) == (
        True, "+447400123456", "SMS")
    assert claimed["verificationMethod"] == "SMS"
    assert sdk.validateChallenge({"token": claimed["token"], "userId": "lin", "action": "signIn"})["isValid"] is True
    assert sdk.getUser({"userId": "lin"})["phoneNumberVerified"] is True


@pytest.mark.parametrize(("request_", "error_code"), [
    ({"email": "not-an-address"}, "invalid_email"),
    ({"verificationMethod": "SMS", "phoneNumber": "021 123 4567"}, "invalid_phone_number"),
    ({"action": "no spaces please"}, "invalid_action_code"),
])
def test_a_bad_challenge_is_a_400_and_sends_nothing(sdk, mail, request_, error_code):
    with pytest.raises(NodeSdkError) as raised:
        email_challenge(sdk, **request_)

    assert (raised.value.status_code, raised.value.error_code) == (400, error_code)
    assert mail.received == []


# -- errors ----------------------------------------------------------------------------------------

def test_a_wrong_secret_is_an_authsignal_error_401(node_bridge, live_server):
    with pytest.raises(NodeSdkError) as raised:
        NodeSdk(node_bridge, live_server.api_url, "not-a-key").getUser({"userId": "anyone"})

    assert raised.value.status_code == 401
    assert raised.value.error_code == "unauthorized"  # read from `error`, as the Node SDK does
    assert "unauthorized" in raised.value.error_description


def test_an_unknown_action_is_a_404_with_its_code(sdk):
    with pytest.raises(NodeSdkError) as raised:
        sdk.getAction({"userId": "nobody", "action": "signIn", "idempotencyKey": "nope"})

    assert (raised.value.status_code, raised.value.error_code) == (404, "action_not_found")


def test_node_only_endpoints_we_do_not_serve_answer_a_clear_404(sdk):
    """Sessions (contract §1.5 (17)-(21)) are not served."""
    with pytest.raises(NodeSdkError) as raised:
        sdk.createSession({"clientId": "web", "token": "a-token"})

    assert raised.value.status_code == 404
    assert raised.value.error_code == "not_found" and raised.value.error_description


# -- webhooks --------------------------------------------------------------------------------------

def test_the_sdk_verifies_a_tollgate_webhook(sdk, app, tenant):
    """What the worker sends, byte for byte, passes the SDK's own X-Signature-V2 check."""
    make_action(app, tenant.id, "payout", rules=[rule("Large payout", 0, "REVIEW", BIG_AMOUNT)])
    from tests.sdk.test_sdk_webhooks import subscribe

    subscribe(app, tenant.id, "https://hooks.example/in", ["action.created"])
    tracked = sdk.track({"userId": "ivy", "action": "payout", "attributes": {"custom": {"amount": 50000}}})
    sent: list[tuple[bytes, dict[str, str]]] = []
    with app.app_context():
        deliver_due(settings=app.config["TOLLGATE"],
                    send=lambda url, body, headers: sent.append((body, headers)) or SendResult(200))
    [(body, headers)] = sent

    event = sdk.construct_event(body.decode(), headers["X-Signature-V2"])

    assert event["type"] == "action.created"
    assert event["data"]["idempotencyKey"] == tracked["idempotencyKey"]
    with pytest.raises(NodeSdkError, match="Signature mismatch"):
        sdk.construct_event(body.decode().replace("payout", "refund"), headers["X-Signature-V2"])
