"""Bad input, generated: whatever a caller sends, the answer is never a 500.

The hand-written tests pin each documented error; these throw generated bodies, query strings and
path segments at every JSON endpoint (server API and client API) and check the promise that holds
for all of them: a 2xx, or a 4xx with exactly ``application/json`` and the contract's
``{"error", "errorCode", "errorDescription"}`` body. Shapes are biased towards the fields each
endpoint knows, so values reach validation and the services instead of bouncing off unknown keys.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_action, rule

# Examples per endpoint: enough to find type confusions, cheap enough for every CI run.
EXAMPLES = 60
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False) | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
# Strings that often break parsers and services: empty, huge, control characters, lookalikes.
awkward_text = st.sampled_from(
    ["", " ", "\x00", "a" * 5000, "é", "../../etc/passwd", "%00", "null", "ALLOW", "2026-13-45", "::1", "999.1.1.1"]
) | st.text(max_size=80)
path_segments = awkward_text.filter(lambda s: s not in ("", ".", ".."))


def bodies(fields: list[str]) -> st.SearchStrategy[object]:
    """Objects keyed by the endpoint's own fields (any values), sometimes not objects at all."""
    known = st.fixed_dictionaries({}, optional={name: json_values | awkward_text for name in fields})
    return known | json_values


def assert_clean_answer(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert response.content_type == "application/json"
        body = response.get_json()
        assert set(body) >= {"error", "errorCode", "errorDescription"}
        assert body["error"] == body["errorCode"] and body["errorDescription"]


TRACK_FIELDS = ["idempotencyKey", "redirectUrl", "redirect_url", "redirectToSettings", "ipAddress", "ip_address",
                "userAgent", "deviceId", "email", "phoneNumber", "username", "scope", "locale", "challengeId",
                "custom"]
USER_FIELDS = ["email", "emailVerified", "phoneNumber", "phoneNumberVerified", "username", "displayName", "custom",
               "locale"]
AUTHENTICATOR_FIELDS = ["verificationMethod", "otpUri", "phoneNumber", "email", "isDefault", "isPasskey"]


@pytest.fixture
def risky_action(app, tenant):
    """Rules that read custom values, so generated ``custom`` objects reach the rules engine."""
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Big", 0, "REVIEW", {">": [{"var": "custom.amount"}, 1000]}),
        rule("Listed payee", 1, "BLOCK", {"in": [{"var": "custom.payee"}, ["acct_1", "acct_2"]]}),
        rule("Odd agent", 2, "BLOCK", {"in": ["curl/", {"var": "userAgent"}]}),
    ])


@PROPERTY
@given(body=bodies(TRACK_FIELDS))
def test_track_body(api, risky_action, body):
    assert_clean_answer(api.post("/users/alice/actions/withdraw-funds", json=body))


@PROPERTY
@given(user_id=path_segments, action_code=path_segments)
def test_track_path(api, user_id, action_code):
    assert_clean_answer(api.post(f"/users/{quote(user_id, safe='')}/actions/{quote(action_code, safe='')}",
                                 json={}))


@PROPERTY
@given(raw=st.binary(max_size=200) | st.sampled_from([b"{", b"[]", b'"x"', b"1e999999", b'{"custom": NaN}',
                                                       b'{"a":' * 2000, b"\xff\xfe",
                                                       # a refused number, then text that is not JSON
                                                       b'{"custom": {"a": NaN}', b"[Infinity]]", b'{"a": 1e400 x']))
def test_track_raw_bytes(api, raw):
    assert_clean_answer(api.post("/users/alice/actions/withdraw-funds", data=raw, content_type="application/json"))


@PROPERTY
@given(body=bodies(["state"]))
def test_update_action(api, body):
    tracked = api.post("/users/alice/actions/sign-in", json={}).get_json()
    assert_clean_answer(api.patch(f"/users/alice/actions/sign-in/{tracked['idempotencyKey']}", json=body))


@PROPERTY
@given(body=bodies(["token", "userId", "action"]))
def test_validate(api, body):
    assert_clean_answer(api.post("/validate", json=body))


@PROPERTY
@given(params=st.dictionaries(st.sampled_from(["fromDate", "codes", "state", "limit", "cursor", "x"]),
                              awkward_text, max_size=4))
def test_query_actions(api, params):
    assert_clean_answer(api.get(f"/users/alice/actions?{urlencode(params)}"))


@PROPERTY
@given(params=st.dictionaries(st.sampled_from(["email", "phoneNumber", "username", "limit", "lastEvaluatedUserId",
                                               "x"]), awkward_text, max_size=4))
def test_query_users(api, params):
    assert_clean_answer(api.get(f"/users?{urlencode(params)}"))


@PROPERTY
@given(body=bodies(USER_FIELDS))
def test_update_user(api, body):
    assert_clean_answer(api.patch("/users/alice", json=body))


@PROPERTY
@given(body=bodies(AUTHENTICATOR_FIELDS))
def test_enroll_authenticator(api, body):
    assert_clean_answer(api.post("/users/alice/authenticators", json=body))


CHALLENGE_FIELDS = ["verificationMethod", "action", "challengeId", "idempotencyKey", "userId", "email", "phoneNumber",
                    "smsChannel", "locale", "deviceId", "ipAddress", "userAgent", "custom", "scope"]


@PROPERTY
@given(body=bodies(CHALLENGE_FIELDS))
def test_server_challenge(api, body):
    assert_clean_answer(api.post("/challenge", json=body))


@PROPERTY
@given(path=st.sampled_from(["/verify", "/claim"]),
       body=bodies(["challengeId", "verificationCode", "userId", "skipVerificationCheck"]))
def test_server_verify_and_claim(api, path, body):
    assert_clean_answer(api.post(path, json=body))


@PROPERTY
@given(params=st.dictionaries(st.sampled_from(["challengeId", "userId", "action", "verificationMethod", "x"]),
                              awkward_text, max_size=4))
def test_get_challenge(api, params):
    assert_clean_answer(api.get(f"/challenges?{urlencode(params)}"))


@PROPERTY
@given(authenticator_id=path_segments)
def test_delete_authenticator(api, authenticator_id):
    assert_clean_answer(api.delete(f"/users/alice/authenticators/{quote(authenticator_id, safe='')}"))


# -- client API (Bearer client token, as @authsignal/browser sends it) ------------------------------

CLIENT_ENDPOINTS = [
    ("/user-authenticators/passkey/registration-options", ["username", "displayName", "authenticatorAttachment"]),
    ("/user-authenticators/passkey", ["registrationCredential", "challengeId", "conditionalCreate"]),
    ("/challenge", ["action"]),
    ("/user-authenticators/passkey/authentication-options", ["challengeId"]),
    ("/verify/passkey", ["authenticationCredential", "challengeId", "deviceId"]),
    ("/user-authenticators/totp", []),
    ("/verify/totp", ["verificationCode"]),
]


@pytest.fixture
def client_token(api):
    return api.post("/users/alice/actions/sign-in", json={}).get_json()["token"]


@pytest.mark.parametrize(("path", "fields"), CLIENT_ENDPOINTS, ids=[p for p, _ in CLIENT_ENDPOINTS])
def test_client_api(client, client_token, path, fields):
    @PROPERTY
    @given(body=bodies(fields))
    def property_holds(body):
        response = client.post(f"/v1/client{path}", data=json.dumps(body),
                               headers={"Authorization": f"Bearer {client_token}",
                                        "Content-Type": "application/json"})
        assert_clean_answer(response)

    property_holds()
