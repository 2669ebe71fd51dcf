"""/v1/openapi.json: one schema per route and one route per schema, and the answers of a real
integration (track, read, decide, validate, users, authenticators, codes) match what it documents."""

from __future__ import annotations

import base64

import pyotp
import pytest

from app.domain.decision import Outcome
from app.openapi.document import documented_endpoints
from tests import openapi_answers
from tests.factories import make_action, rule

UNDOCUMENTED = {"openapi.openapi_show"}  # the document itself


@pytest.fixture
def document(client) -> dict:
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def api_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/v1/")} - UNDOCUMENTED


def test_every_route_has_a_schema_and_every_schema_a_route(app, document):
    assert api_endpoints(app) == documented_endpoints()
    served = {(path, method) for path, methods in document["paths"].items() for method in methods}
    routes = {(rule.rule.replace("<", "{").replace(">", "}"), method.lower())
              for rule in app.url_map.iter_rules() if rule.endpoint in documented_endpoints()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == routes


def test_it_is_openapi_3_1_with_a_security_scheme_on_every_operation(document):
    assert document["openapi"] == "3.1.0"
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert operation["security"], f"{method} {path} names no credentials"
            assert set(operation["responses"]) >= {"200", "default"}


def test_request_bodies_are_the_models_the_views_validate_with(document):
    track = document["paths"]["/v1/users/{user_id}/actions/{action_code}"]["post"]["requestBody"]
    schema = document["components"]["schemas"]["TrackAttributes"]
    assert track["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TrackAttributes"}
    assert {"idempotencyKey", "redirectUrl", "ipAddress", "custom"} <= set(schema["properties"])


class Answers:
    """Checks each answer against the document the server served."""

    def __init__(self, served: dict):
        assert served == openapi_answers.document() | {"info": served["info"]}, "the served document is the built one"

    def check(self, path: str, method: str, response, status: int = 200) -> dict:
        return openapi_answers.check(method, path, response, status)


def test_a_whole_integration_answers_as_documented(app, client, api, tenant, document):
    answers = Answers(document)
    make_action(app, tenant.id, "withdraw", default_outcome=Outcome.ALLOW,
                rules=[rule("Large", 0, "CHALLENGE", {">": [{"var": "custom.amount"}, 100]})])
    user = "/v1/users/{user_id}"
    track_path = f"{user}/actions/{{action_code}}"
    secret = pyotp.random_base32()
    enrolled = api.post("/users/alice/authenticators", json={
        "verificationMethod": "AUTHENTICATOR_APP", "otpUri": pyotp.TOTP(secret).provisioning_uri(name="alice")})
    answers.check(f"{user}/authenticators", "post", enrolled)

    tracked = answers.check(track_path, "post", api.post("/users/alice/actions/withdraw",
                                                         json={"idempotencyKey": "k-1", "custom": {"amount": 500}}))
    assert tracked["state"] == "CHALLENGE_REQUIRED"
    bearer = {"Authorization": f"Bearer {tracked['token']}"}
    answers.check("/v1/client/user-authenticators", "get", client.get("/v1/client/user-authenticators", headers=bearer))
    wrong = answers.check("/v1/client/verify/totp", "post",
                          client.post("/v1/client/verify/totp", headers=bearer, json={"verificationCode": "000000"}))
    assert wrong["isVerified"] is False
    passed = answers.check("/v1/client/verify/totp", "post", client.post(
        "/v1/client/verify/totp", headers=bearer, json={"verificationCode": pyotp.TOTP(secret).now()}))
    validation = answers.check("/v1/validate", "post", api.post("/validate", json={"token": passed["accessToken"]}))
    assert validation["isValid"] is True

    newcomer = api.post("/users/erin/actions/withdraw", json={}).get_json()["token"]  # not enrolled: may add one
    totp = answers.check("/v1/client/user-authenticators/totp", "post", client.post(
        "/v1/client/user-authenticators/totp", headers={"Authorization": f"Bearer {newcomer}"}))
    assert totp["uri"].startswith("otpauth://")

    action_path = f"{track_path}/{{idempotency_key}}"
    answers.check(action_path, "get", api.get("/users/alice/actions/withdraw/k-1"))
    answers.check(f"{user}/actions", "get", api.get("/users/alice/actions"))
    answers.check(track_path, "post", api.post("/users/bob/actions/withdraw", json={"idempotencyKey": "k-2",
                                                                                   "custom": {"amount": 500}}))
    answers.check(action_path, "patch",
                  api.request("PATCH", "/users/bob/actions/withdraw/k-2", json={"state": "REVIEW_SUCCEEDED"}))
    answers.check(user, "patch",
                  api.request("PATCH", "/users/alice", json={"email": "alice@example.com", "custom": {"tier": "gold"}}))
    answers.check(user, "get", api.get("/users/alice"))
    answers.check(user, "get", api.get("/users/nobody"))
    answers.check("/v1/users", "get", api.get("/users?email=alice@example.com"))
    listed = answers.check(f"{user}/authenticators", "get", api.get("/users/alice/authenticators"))
    answers.check(f"{user}/authenticators/{{authenticator_id}}", "delete",
                  api.request("DELETE", f"/users/alice/authenticators/{listed[0]['userAuthenticatorId']}"))
    answers.check(f"{user}/erase", "post", api.post("/users/bob/erase"))
    answers.check(user, "delete", api.request("DELETE", "/users/alice"))

    refused = answers.check("/v1/validate", "post", api.post("/validate", json={}), status=400)
    assert refused["error"] == refused["errorCode"]


def test_server_codes_answer_as_documented(app, api, tenant, document, mail):
    answers = Answers(document)
    make_action(app, tenant.id, "sign-in")
    started = answers.check("/v1/challenge", "post", api.post("/challenge", json={
        "verificationMethod": "EMAIL_OTP", "action": "sign-in", "email": "carol@example.com"}))
    answers.check("/v1/challenges", "get", api.get(f"/challenges?challengeId={started['challengeId']}"))
    code = mail.wait_for(1)[0].code
    verified = answers.check("/v1/verify", "post", api.post("/verify", json={"challengeId": started["challengeId"],
                                                                          "verificationCode": code}))
    assert verified["isVerified"] is True
    answers.check("/v1/claim", "post", api.post("/claim", json={"challengeId": started["challengeId"], "userId": "carol"}))
    answers.check("/v1/challenges", "get", api.get("/challenges?userId=carol"))


def test_enrolling_an_email_through_the_client_api_answers_as_documented(app, client, api, tenant, document, mail):
    answers = Answers(document)
    make_action(app, tenant.id, "sign-in")
    token = api.post("/users/dave/actions/sign-in", json={}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    answers.check("/v1/client/user-authenticators/email-otp", "post", client.post(
        "/v1/client/user-authenticators/email-otp", headers=bearer, json={"email": "dave@example.com"}))
    # Enrolling sent a code already: asking again at once is the resend cooldown's documented refusal.
    answers.check("/v1/client/challenge/email-otp", "post", client.post("/v1/client/challenge/email-otp", headers=bearer),
                  status=429)
    answers.check("/v1/client/verify/email-otp", "post", client.post(
        "/v1/client/verify/email-otp", headers=bearer, json={"verificationCode": mail.wait_for(1)[0].code}))
    answers.check("/v1/client/user-authenticators/passkey", "get", client.get(
        "/v1/client/user-authenticators/passkey?credentialIds=nope",
        headers={"Authorization": "Basic " + base64.b64encode(tenant.id.encode()).decode()}), status=404)


def test_it_needs_no_key_and_names_the_version(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200 and response.get_json()["info"]["title"] == "Tollgate"
