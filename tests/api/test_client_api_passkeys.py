"""Passkeys through the client API (/v1/client), as @authsignal/browser 1.16.0 drives it.

A software authenticator stands in for the browser's WebAuthn: it signs what our options ask for,
so these tests run the real ceremonies end to end (track → options → credential → validate).
"""

import base64
from collections import Counter
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select, update

from app.domain.tokens import ActionRef, TokenKind, derive_signing_key, issue_token
from app.extensions import db
from app.models import Authenticator, EndUser, PasskeyCredential, Tenant, WebAuthnChallenge
from app.models.base import utcnow
from tests.concurrency import at_once
from tests.factories import make_action
from tests.soft_authenticator import SoftAuthenticator

ACTION = "withdraw-funds"
ORIGIN = "http://localhost:5000"


# -- how a browser calls us -----------------------------------------------------------------------


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def tenant_basic(tenant_id: str, *, colon: bool = False) -> dict:
    """The SDK sends base64(encodeURIComponent(tenantId)); the docs say ``-u TENANT_ID:``."""
    raw = f"{tenant_id}:" if colon else quote(tenant_id, safe="")
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


def call(client, path: str, *, headers: dict, json: dict | None = None, method: str = "POST"):
    """A client API call; every answer must be JSON (the SDK calls response.json() on all of them)."""
    response = client.open("/v1/client" + path, method=method, headers=headers, json={} if json is None else json)
    assert response.is_json, response.data
    body = response.get_json()
    if response.status_code < 400:
        assert "error" not in body, body  # the SDK treats any `error` key as a failure
    else:
        assert {"error", "errorCode", "errorDescription"} <= set(body), body
    return response


def track(api, user_id: str, action: str = ACTION, **attributes) -> dict:
    response = api.post(f"/users/{user_id}/actions/{action}", json=attributes)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def action_state(api, user_id: str, tracked: dict, action: str = ACTION) -> dict:
    return api.get(f"/users/{user_id}/actions/{action}/{tracked['idempotencyKey']}").get_json()


def validate(api, token: str, **extra) -> dict:
    return api.post("/validate", json={"token": token, **extra}).get_json()


def registration_options(client, token: str, **body):
    return call(client, "/user-authenticators/passkey/registration-options", headers=bearer(token), json=body)


def register(client, token: str, options_body: dict, credential: dict, **extra):
    return call(
        client,
        "/user-authenticators/passkey",
        headers=bearer(token),
        json={"registrationCredential": credential, "conditionalCreate": False,
              "challengeId": options_body["challengeId"], **extra},
    )


def enroll_passkey(client, token: str, device: SoftAuthenticator) -> dict:
    options = registration_options(client, token, username="alice@example.com").get_json()
    response = register(client, token, options, device.register(options["options"]))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def authentication_options(client, headers: dict, challenge_id: str | None = None):
    body = {} if challenge_id is None else {"challengeId": challenge_id}
    return call(client, "/user-authenticators/passkey/authentication-options", headers=headers, json=body)


def verify(client, headers: dict, options_body: dict, credential: dict):
    return call(
        client,
        "/verify/passkey",
        headers=headers,
        json={"authenticationCredential": credential, "deviceId": "device-1", "challengeId": options_body["challengeId"]},
    )


def stored_passkeys(app, user_id: str) -> list[PasskeyCredential]:
    with app.app_context():
        rows = db.session.execute(
            select(PasskeyCredential).join(Authenticator).join(EndUser).where(EndUser.user_id == user_id)
        ).scalars().all()
        db.session.expunge_all()
        return rows


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def challenge_action(app, tenant):
    """Every track challenges; a user with nothing enrolled must enrol first."""
    make_action(app, tenant.id, ACTION, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")


@pytest.fixture
def device() -> SoftAuthenticator:
    return SoftAuthenticator()


@pytest.fixture
def enrolled(api, client, challenge_action, device) -> dict:
    """Alice has enrolled one passkey on ``device`` (and that first action is spent)."""
    first = track(api, "alice")
    registered = enroll_passkey(client, first["token"], device)
    assert validate(api, registered["accessToken"])["isValid"] is True
    return registered


# -- registration ---------------------------------------------------------------------------------


def test_first_passkey_registration_completes_the_challenge(api, client, challenge_action, device):
    tracked = track(api, "alice")
    assert tracked["state"] == "CHALLENGE_REQUIRED"

    options = registration_options(client, tracked["token"], username="alice@example.com")
    assert options.status_code == 200
    body = options.get_json()
    assert set(body) == {"challengeId", "options"}
    creation = body["options"]
    assert creation["rp"] == {"id": "localhost", "name": "Tollgate"}
    assert creation["user"]["name"] == "alice@example.com"
    assert creation["authenticatorSelection"]["residentKey"] == "required"
    assert creation["authenticatorSelection"]["userVerification"] == "required"
    assert creation.get("excludeCredentials", []) == []

    response = register(client, tracked["token"], body, device.register(creation))

    assert response.status_code == 200
    registered = response.get_json()
    assert registered["isVerified"] is True
    assert registered["userId"] == "alice"
    assert registered["userAuthenticatorId"] == registered["userAuthenticator"]["userAuthenticatorId"]
    assert registered["userAuthenticator"]["verificationMethod"] == "PASSKEY"
    assert registered["userAuthenticator"]["webauthnCredential"]["credentialId"] == device.credentials[0].id
    state = action_state(api, "alice", tracked)
    assert state["state"] == "CHALLENGE_SUCCEEDED"
    assert state["verificationMethod"] == "PASSKEY"
    first = validate(api, registered["accessToken"])
    assert first["isValid"] is True and first["userId"] == "alice" and first["action"] == ACTION
    assert validate(api, registered["accessToken"])["isValid"] is False
    assert api.get("/users/alice").get_json()["enrolledVerificationMethods"] == ["PASSKEY"]


def test_registration_options_exclude_the_users_existing_passkeys(api, client, enrolled, device):
    tracked = track(api, "alice", scope="add:authenticators")
    signed_in = pass_with_passkey(client, tracked["token"], device)

    options = registration_options(client, signed_in["accessToken"]).get_json()["options"]

    assert [c["id"] for c in options["excludeCredentials"]] == [device.credentials[0].id]


def test_a_challenge_registers_only_once(api, client, challenge_action, device):
    token = track(api, "alice")["token"]
    options = registration_options(client, token).get_json()
    assert register(client, token, options, device.register(options["options"])).status_code == 200

    again = register(client, token, options, device.register(options["options"]))

    assert again.status_code == 400
    assert again.get_json()["errorCode"] == "invalid_challenge"
    assert len(stored_passkeys(client.application, "alice")) == 1


def test_an_expired_challenge_is_refused(api, client, app, challenge_action, device):
    token = track(api, "alice")["token"]
    options = registration_options(client, token).get_json()
    with app.app_context():
        db.session.execute(
            update(WebAuthnChallenge)
            .where(WebAuthnChallenge.id == options["challengeId"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()

    response = register(client, token, options, device.register(options["options"]))

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_challenge"
    assert stored_passkeys(app, "alice") == []


@pytest.mark.parametrize("challenge_id", [None, "", "no-such-challenge"])
def test_registration_needs_a_challenge_we_issued(api, client, challenge_action, device, challenge_id):
    token = track(api, "alice")["token"]
    options = registration_options(client, token).get_json()

    response = register(client, token, {"challengeId": challenge_id}, device.register(options["options"]))

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_challenge"


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param({"origin": "https://evil.example"}, id="wrong origin"),
        pytest.param({"rp_id": "evil.example"}, id="wrong rp id"),
        pytest.param({"user_verified": False}, id="no user verification"),
    ],
)
def test_a_bad_credential_is_refused_and_not_stored(api, client, app, challenge_action, device, variant):
    tracked = track(api, "alice")
    options = registration_options(client, tracked["token"]).get_json()

    response = register(client, tracked["token"], options, device.register(options["options"], **variant))

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_credential"
    assert stored_passkeys(app, "alice") == []
    assert action_state(api, "alice", tracked)["state"] == "CHALLENGE_REQUIRED"


def test_a_challenge_issued_to_another_user_is_refused(api, client, challenge_action, device):
    alice, bob = track(api, "alice")["token"], track(api, "bob")["token"]
    options = registration_options(client, alice).get_json()

    response = register(client, bob, options, device.register(options["options"]))

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_challenge"
    assert stored_passkeys(client.application, "bob") == []


def test_a_credential_id_registered_by_someone_else_is_a_conflict(api, client, app, enrolled, device):
    bob = track(api, "bob")
    options = registration_options(client, bob["token"]).get_json()
    clone = SoftAuthenticator().register(options["options"], credential_id=device.credentials[0].credential_id)

    response = register(client, bob["token"], options, clone)

    assert response.status_code == 409
    assert response.get_json()["errorCode"] == "credential_exists"
    assert stored_passkeys(app, "bob") == []
    assert [p.authenticator_id for p in stored_passkeys(app, "alice")] == [enrolled["userAuthenticatorId"]]
    assert action_state(api, "bob", bob)["state"] == "CHALLENGE_REQUIRED"


def test_an_enrolled_user_needs_a_passed_challenge_and_the_scope_to_add_a_passkey(api, client, enrolled, device):
    plain = track(api, "alice")
    scoped = track(api, "alice", scope="add:authenticators")

    for token in (plain["token"], scoped["token"]):  # neither has passed a challenge yet
        response = registration_options(client, token)
        assert response.status_code == 403
        assert response.get_json()["errorCode"] == "insufficient_scope"
    # Passing the challenge is not enough without the scope.
    passed_plain = pass_with_passkey(client, plain["token"], device)
    assert registration_options(client, passed_plain["accessToken"]).status_code == 403

    passed_scoped = pass_with_passkey(client, scoped["token"], device)
    second = enroll_passkey(client, passed_scoped["accessToken"], SoftAuthenticator())

    assert second["isVerified"] is True
    assert len(stored_passkeys(client.application, "alice")) == 2


def test_a_blocked_action_cannot_enrol_a_passkey(api, client, app, tenant, device):
    make_action(app, tenant.id, ACTION, default_outcome="BLOCK")
    tracked = track(api, "alice")
    assert tracked["state"] == "BLOCK"

    options = registration_options(client, tracked["token"])
    if options.status_code == 200:
        options = register(client, tracked["token"], options.get_json(), device.register(options.get_json()["options"]))

    assert options.status_code in (403, 409)
    assert stored_passkeys(app, "alice") == []
    assert action_state(api, "alice", tracked)["state"] == "BLOCK"


# -- authentication with the user's token (MFA) ---------------------------------------------------


def pass_with_passkey(client, token: str, device: SoftAuthenticator) -> dict:
    options = authentication_options(client, bearer(token)).get_json()
    response = verify(client, bearer(token), options, device.authenticate(options["options"]))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_authentication_with_the_users_token(api, client, app, enrolled, device):
    tracked = track(api, "alice")
    assert tracked["state"] == "CHALLENGE_REQUIRED"
    count_before = stored_passkeys(app, "alice")[0].sign_count

    options = authentication_options(client, bearer(tracked["token"]))
    assert options.status_code == 200
    body = options.get_json()
    assert body["challengeId"]
    assert body["options"]["rpId"] == "localhost"
    assert body["options"]["userVerification"] == "required"
    assert [c["id"] for c in body["options"]["allowCredentials"]] == [device.credentials[0].id]

    response = verify(client, bearer(tracked["token"]), body, device.authenticate(body["options"]))

    assert response.status_code == 200
    verified = response.get_json()
    assert verified["isVerified"] is True
    assert verified["userId"] == "alice"
    assert verified["userAuthenticatorId"] == enrolled["userAuthenticatorId"]
    assert action_state(api, "alice", tracked)["state"] == "CHALLENGE_SUCCEEDED"
    result = validate(api, verified["accessToken"], userId="alice", action=ACTION)
    assert result["isValid"] is True
    assert result["verificationMethod"] == "PASSKEY"
    assert result["idempotencyKey"] == tracked["idempotencyKey"]
    assert stored_passkeys(app, "alice")[0].sign_count == count_before + 1


def test_authentication_options_list_only_the_users_own_passkeys(api, client, enrolled, device):
    bobs_device = SoftAuthenticator()
    enroll_passkey(client, track(api, "bob")["token"], bobs_device)

    options = authentication_options(client, bearer(track(api, "alice")["token"])).get_json()["options"]

    assert [c["id"] for c in options["allowCredentials"]] == [device.credentials[0].id]


def test_another_users_passkey_cannot_pass_this_users_challenge(api, client, app, enrolled):
    bobs_device = SoftAuthenticator()
    enroll_passkey(client, track(api, "bob")["token"], bobs_device)
    tracked = track(api, "alice")
    options = authentication_options(client, bearer(tracked["token"])).get_json()

    response = verify(client, bearer(tracked["token"]), options,
                      bobs_device.authenticate(options["options"], credential=bobs_device.credentials[0]))

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_credential"
    assert action_state(api, "alice", tracked)["state"] == "CHALLENGE_REQUIRED"


def test_an_assertion_is_accepted_once(api, client, enrolled, device):
    token = track(api, "alice")["token"]
    options = authentication_options(client, bearer(token)).get_json()
    assertion = device.authenticate(options["options"])
    assert verify(client, bearer(token), options, assertion).status_code == 200

    again = verify(client, bearer(token), options, assertion)

    assert again.status_code == 400
    assert again.get_json()["errorCode"] == "invalid_challenge"


def test_an_assertion_for_another_origin_is_refused(api, client, enrolled, device):
    tracked = track(api, "alice")
    options = authentication_options(client, bearer(tracked["token"])).get_json()

    response = verify(client, bearer(tracked["token"]), options,
                      device.authenticate(options["options"], origin="https://evil.example"))

    assert response.get_json()["errorCode"] == "invalid_credential"
    assert action_state(api, "alice", tracked)["state"] == "CHALLENGE_REQUIRED"


def test_a_user_without_passkeys_gets_no_authentication_options(api, client, app, tenant):
    make_action(app, tenant.id, ACTION, default_outcome="ALLOW")

    response = authentication_options(client, bearer(track(api, "carol")["token"]))

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "no_passkey"


# -- usernameless sign-in (Basic tenant id) -------------------------------------------------------


@pytest.mark.parametrize("colon", [False, True], ids=["sdk form", "docs form"])
def test_usernameless_sign_in(api, client, app, tenant, enrolled, device, colon):
    basic = tenant_basic(tenant.id, colon=colon)

    started = call(client, "/challenge", headers=basic, json={"action": "sign-in"})
    assert started.status_code == 200
    challenge_id = started.get_json()["challengeId"]

    options = authentication_options(client, basic, challenge_id)
    assert options.status_code == 200
    body = options.get_json()
    assert body["challengeId"] == challenge_id
    assert not body["options"].get("allowCredentials")

    response = verify(client, basic, body, device.authenticate(body["options"]))

    assert response.status_code == 200
    signed_in = response.get_json()
    assert signed_in["isVerified"] is True
    assert signed_in["userId"] == "alice"
    assert signed_in["userAuthenticatorId"] == enrolled["userAuthenticatorId"]
    result = validate(api, signed_in["accessToken"], action="sign-in")
    assert result["isValid"] is True
    assert result["userId"] == "alice"
    assert result["action"] == "sign-in"
    assert result["state"] == "CHALLENGE_SUCCEEDED"
    assert result["verificationMethod"] == "PASSKEY"


def test_usernameless_sign_in_without_a_challenge_call(api, client, tenant, enrolled, device):
    basic = tenant_basic(tenant.id)
    options = authentication_options(client, basic).get_json()

    signed_in = verify(client, basic, options, device.authenticate(options["options"])).get_json()

    assert signed_in["userId"] == "alice"
    assert validate(api, signed_in["accessToken"])["action"] == "sign-in"


def test_usernameless_sign_in_refuses_a_challenge_of_the_users_token(api, client, tenant, enrolled, device):
    options = authentication_options(client, bearer(track(api, "alice")["token"])).get_json()

    response = verify(client, tenant_basic(tenant.id), options, device.authenticate(options["options"]))

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_challenge"


def test_usernameless_sign_in_refuses_a_user_handle_that_is_not_the_owners(api, client, tenant, enrolled, device):
    basic = tenant_basic(tenant.id)
    options = authentication_options(client, basic).get_json()
    assertion = device.authenticate(options["options"])
    assertion["response"]["userHandle"] = "c29tZW9uZS1lbHNl"

    response = verify(client, basic, options, assertion)

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_credential"


def test_an_unregistered_passkey_cannot_sign_in(api, client, tenant, enrolled):
    stranger = SoftAuthenticator()
    stranger.register({"rp": {"id": "localhost"}, "user": {"id": "c3RyYW5nZXI"}, "challenge": "AAAA"})
    basic = tenant_basic(tenant.id)
    options = authentication_options(client, basic).get_json()

    response = verify(client, basic, options, stranger.authenticate(options["options"]))

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_credential"


@pytest.mark.parametrize("path", ["/challenge", "/user-authenticators/passkey/authentication-options"])
@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic " + base64.b64encode(b"no-such-tenant").decode(), id="unknown tenant"),
        pytest.param("Basic " + base64.b64encode(b"no-such-tenant:").decode(), id="unknown tenant with colon"),
        pytest.param("Basic !!!", id="not base64"),
        pytest.param("Basic ", id="empty"),
        pytest.param(None, id="none"),
    ],
)
def test_sign_in_for_an_unknown_tenant_is_401(client, tenant, path, authorization):
    response = call(client, path, headers={"Authorization": authorization} if authorization else {}, json={})

    assert response.status_code == 401


def test_a_sign_in_challenge_expires(api, client, app, tenant, enrolled):
    basic = tenant_basic(tenant.id)
    challenge_id = call(client, "/challenge", headers=basic, json={"action": "sign-in"}).get_json()["challengeId"]
    with app.app_context():
        db.session.execute(
            update(WebAuthnChallenge).where(WebAuthnChallenge.id == challenge_id).values(expires_at=utcnow())
        )
        db.session.commit()

    response = authentication_options(client, basic, challenge_id)

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_challenge"


# -- signature counter ----------------------------------------------------------------------------


def test_a_sign_count_going_backwards_is_refused_and_recorded(api, client, app, enrolled, device):
    stored = stored_passkeys(app, "alice")[0]
    assert stored.sign_count == 1 and stored.sign_count_regressed_at is None
    tracked = track(api, "alice")
    options = authentication_options(client, bearer(tracked["token"])).get_json()

    response = verify(client, bearer(tracked["token"]), options, device.authenticate(options["options"], sign_count=1))

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_credential"
    after = stored_passkeys(app, "alice")[0]
    assert after.sign_count_regressed_at is not None
    assert after.sign_count == 1
    assert action_state(api, "alice", tracked)["state"] == "CHALLENGE_REQUIRED"


def test_passkeys_whose_counter_stays_zero_sign_in_every_time(api, client, challenge_action):
    synced = SoftAuthenticator(counter_step=0)
    enroll_passkey(client, track(api, "alice")["token"], synced)

    for _ in range(2):
        passed = pass_with_passkey(client, track(api, "alice")["token"], synced)
        assert validate(api, passed["accessToken"])["isValid"] is True
    assert stored_passkeys(client.application, "alice")[0].sign_count_regressed_at is None


# -- isAvailableOnDevice --------------------------------------------------------------------------


def test_passkey_availability_by_credential_id(client, tenant, enrolled, device):
    def available(ids: str):
        return client.get(f"/v1/client/user-authenticators/passkey?credentialIds={ids}", headers=tenant_basic(tenant.id))

    known = available(f"unknown-id,{device.credentials[0].id}")
    assert known.status_code == 200
    assert "error" not in known.get_json()
    unknown = available("unknown-id")
    assert unknown.status_code == 404
    assert unknown.get_json()["error"] == "not_found"
    assert available("").status_code == 404


def test_passkey_availability_is_per_tenant(client, app, enrolled, device):
    with app.app_context():
        other_tenant = Tenant(name="Other tenant")
        db.session.add(other_tenant)
        db.session.commit()
        other = other_tenant.id
    response = client.get(
        f"/v1/client/user-authenticators/passkey?credentialIds={device.credentials[0].id}", headers=tenant_basic(other)
    )
    assert response.status_code == 404


# -- tokens and errors ----------------------------------------------------------------------------


def expired_token(settings, tenant_id: str, tracked: dict) -> str:
    return issue_token(
        ActionRef(tenant_id=tenant_id, user_id="alice", action_code=ACTION, idempotency_key=tracked["idempotencyKey"]),
        kind=TokenKind.CLIENT,
        scope=("read:authenticators",),
        signing_key=derive_signing_key(settings.secret_key),
        issuer=settings.public_url,
        now=utcnow() - timedelta(minutes=11),
        ttl_seconds=600,
    )


BEARER_PATHS = [
    "/user-authenticators/passkey/registration-options",
    "/user-authenticators/passkey",
    "/user-authenticators/totp",
    "/verify/totp",
]


@pytest.mark.parametrize("path", BEARER_PATHS)
def test_no_authorization_is_401(client, path):
    response = call(client, path, headers={})

    assert response.status_code == 401
    assert response.get_json()["error"]


@pytest.mark.parametrize("path", BEARER_PATHS)
def test_an_expired_token_says_so(api, client, settings, tenant, challenge_action, path):
    token = expired_token(settings, tenant.id, track(api, "alice"))

    response = call(client, path, headers=bearer(token))

    assert response.status_code == 401
    assert response.get_json()["errorCode"] == "expired_token"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"])
def test_a_garbage_token_is_invalid(client, token):
    response = call(client, "/user-authenticators/passkey/registration-options", headers=bearer(token))

    assert response.status_code == 401
    assert response.get_json()["errorCode"] == "invalid_token"


def test_a_token_signed_with_another_key_is_invalid(api, client, settings, tenant, challenge_action):
    tracked = track(api, "alice")
    forged = issue_token(
        ActionRef(tenant_id=tenant.id, user_id="alice", action_code=ACTION, idempotency_key=tracked["idempotencyKey"]),
        kind=TokenKind.CLIENT, scope=("add:authenticators",), signing_key=b"k" * 32, issuer=settings.public_url,
        now=utcnow(), ttl_seconds=600,
    )

    response = call(client, "/user-authenticators/passkey/registration-options", headers=bearer(forged))

    assert response.status_code == 401
    assert response.get_json()["errorCode"] == "invalid_token"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"{", id="not json"),
        pytest.param(b"[]", id="not an object"),
        pytest.param(b'{"challengeId": "x"}', id="no credential"),
        pytest.param(b'{"registrationCredential": "x", "challengeId": "x"}', id="credential not an object"),
    ],
)
def test_a_malformed_body_is_400(api, client, challenge_action, data):
    token = track(api, "alice")["token"]

    response = client.post("/v1/client/user-authenticators/passkey", data=data,
                           headers={**bearer(token), "Content-Type": "application/json"})

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == body["errorCode"] == "invalid_request"
    assert body["errorDescription"]


def test_a_malformed_credential_is_an_invalid_credential(api, client, challenge_action):
    token = track(api, "alice")["token"]
    options = registration_options(client, token).get_json()

    response = register(client, token, options, {"id": "x", "rawId": "x", "type": "public-key", "response": {}})

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_credential"


def test_an_unknown_client_path_answers_json(client):
    response = client.post("/v1/client/no-such-thing", headers={"Authorization": "Bearer x"})

    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


# -- CORS -----------------------------------------------------------------------------------------


def test_cors_headers_for_our_own_origin(api, client, challenge_action):
    token = track(api, "alice")["token"]

    response = client.post("/v1/client/user-authenticators/passkey/registration-options", json={},
                           headers={**bearer(token), "Origin": ORIGIN})

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response.headers["Vary"]


def test_cors_headers_on_errors_too(client):
    response = client.post("/v1/client/verify/totp", json={}, headers={"Origin": ORIGIN})

    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize("path", ["/user-authenticators/passkey/registration-options", "/verify/passkey", "/challenge"])
def test_cors_preflight_from_our_origin(client, path):
    response = client.options(
        "/v1/client" + path,
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"},
    )

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_cors_allows_origins_of_the_redirect_allow_list(client):
    response = client.options("/v1/client/challenge", headers={"Origin": "https://app.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost:5001", "null"])
def test_no_cors_for_other_origins(api, client, challenge_action, origin):
    preflight = client.options("/v1/client/verify/passkey",
                               headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    token = track(api, "alice")["token"]
    actual = client.post("/v1/client/user-authenticators/passkey/registration-options", json={},
                         headers={**bearer(token), "Origin": origin})

    for response in (preflight, actual):
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Credentials" not in response.headers


# -- decisions and bindings that a passkey does not override ---------------------------------------


def test_usernameless_sign_in_still_obeys_the_actions_rules(api, client, app, tenant, enrolled, device):
    make_action(app, tenant.id, "admin-login", default_outcome="BLOCK")
    basic = tenant_basic(tenant.id)
    challenge_id = call(client, "/challenge", headers=basic, json={"action": "admin-login"}).get_json()["challengeId"]
    body = authentication_options(client, basic, challenge_id).get_json()

    response = verify(client, basic, body, device.authenticate(body["options"]))

    assert response.status_code == 403
    assert response.get_json()["errorCode"] == "action_refused"
    [recorded] = api.get("/users/alice/actions?codes=admin-login").get_json()
    assert recorded["state"] == "BLOCK"


def test_options_fetched_for_one_action_cannot_complete_another(api, client, enrolled, device):
    first, second = track(api, "alice"), track(api, "alice")
    options = authentication_options(client, bearer(first["token"])).get_json()

    response = verify(client, bearer(second["token"]), options, device.authenticate(options["options"]))

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "invalid_challenge"
    assert action_state(api, "alice", second)["state"] == "CHALLENGE_REQUIRED"


def test_long_expired_challenges_are_purged_and_fresh_ones_kept(app, client, tenant):
    from datetime import timedelta

    from app.services.challenges.passkeys import purge_challenges

    fresh = call(client, "/challenge", headers=tenant_basic(tenant.id), json={"action": "sign-in"}).get_json()
    with app.app_context():
        db.session.add(WebAuthnChallenge(tenant_id=tenant.id, purpose="sign-in", created_at=utcnow() - timedelta(days=3),
                                         expires_at=utcnow() - timedelta(days=2)))
        db.session.commit()

        assert purge_challenges(now=utcnow()) == 1
        remaining = db.session.execute(select(WebAuthnChallenge.id)).scalars().all()
    assert remaining == [fresh["challengeId"]]


# -- anonymous challenges are rate-limited per client address -------------------------------------


def stored_client_ips(app) -> list[str | None]:
    with app.app_context():
        return list(db.session.execute(select(WebAuthnChallenge.client_ip)).scalars())


def test_anonymous_sign_in_challenges_are_limited_per_client_address(app, client, tenant, settings):
    basic = tenant_basic(tenant.id)
    for _ in range(settings.anonymous_challenges_per_minute - 1):
        assert call(client, "/challenge", headers=basic).status_code == 200
    reserved = call(client, "/challenge", headers=basic).get_json()["challengeId"]  # the last one allowed

    for refused in (call(client, "/challenge", headers=basic), authentication_options(client, basic)):
        assert refused.status_code == 429
        assert refused.get_json()["errorCode"] == "too_many_requests"
        assert refused.headers["Retry-After"] == "60"
    # A challenge already reserved goes on (it was counted when it was started) ...
    assert authentication_options(client, basic, reserved).status_code == 200
    # ... another address is not affected ...
    elsewhere = client.post("/v1/client/challenge", headers=basic, json={}, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert elsewhere.status_code == 200
    # ... and a minute later this one may start again.
    with app.app_context():
        db.session.execute(update(WebAuthnChallenge).values(created_at=utcnow() - timedelta(seconds=61)))
        db.session.commit()
    assert call(client, "/challenge", headers=basic).status_code == 200


def test_anonymous_challenges_started_at_once_stop_exactly_at_the_limit(app, tenant, settings):
    basic = tenant_basic(tenant.id)
    assert settings.anonymous_challenges_per_minute == 30  # the default

    answers = at_once(*[lambda: call(app.test_client(), "/challenge", headers=basic).status_code] * 60)

    assert Counter(answers) == {200: 30, 429: 30}
    assert len(stored_client_ips(app)) == 30


def test_challenges_with_a_token_are_not_counted(api, app, client, enrolled, device, settings):
    token = track(api, "alice")["token"]
    for _ in range(settings.anonymous_challenges_per_minute + 1):
        assert authentication_options(client, bearer(token)).status_code == 200

    assert set(stored_client_ips(app)) == {None}


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(app, app_env, client, tenant):
    from app import create_app

    basic = {**tenant_basic(tenant.id), "X-Forwarded-For": "203.0.113.9"}
    assert call(client, "/challenge", headers=basic).status_code == 200  # no proxy trusted: the header is ignored
    behind_proxy = create_app({**app_env, "TOLLGATE_TRUSTED_PROXY_HOPS": "1"})
    try:
        assert call(behind_proxy.test_client(), "/challenge", headers=basic).status_code == 200
    finally:
        with behind_proxy.app_context():
            db.engine.dispose()  # its own pool: close it before psycopg's connections are collected

    assert sorted(stored_client_ips(app)) == ["127.0.0.1", "203.0.113.9"]
