"""An action that requires a device-bound passkey: a passkey that may sync (WebAuthn's BE flag) is
refused by the client API at registration and at verification, and is not offered, while a
device-bound one passes as before."""

from __future__ import annotations

import pytest

from tests.api.test_client_api_passkeys import (
    action_state,
    authentication_options,
    bearer,
    call,
    enroll_passkey,
    register,
    registration_options,
    stored_passkeys,
    tenant_basic,
    track,
    validate,
    verify,
)
from tests.factories import make_action
from tests.soft_authenticator import SoftAuthenticator

STRICT = "wire-money"  # requires a device-bound passkey
RELAXED = "sign-in"


@pytest.fixture(autouse=True)
def actions(app, tenant):
    make_action(app, tenant.id, STRICT, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                require_device_bound_passkey=True)
    make_action(app, tenant.id, RELAXED, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")


def enrolled_with(api, client, device: SoftAuthenticator, user: str = "alice") -> None:
    registered = enroll_passkey(client, track(api, user, RELAXED)["token"], device)
    assert validate(api, registered["accessToken"])["isValid"] is True


def test_a_synced_passkey_is_not_offered(api, client, app):
    synced = SoftAuthenticator(backed_up=True)
    enrolled_with(api, client, synced)
    assert stored_passkeys(app, "alice")[0].backup_eligible is True
    tracked = track(api, "alice", STRICT)

    options = authentication_options(client, bearer(tracked["token"]))
    assert options.status_code == 403
    assert options.get_json()["errorCode"] == "device_bound_passkey_required"
    assert action_state(api, "alice", tracked, STRICT)["state"] == "CHALLENGE_REQUIRED"


def test_a_synced_passkey_signing_in_without_a_token_cannot_complete_a_device_bound_action(api, client, tenant):
    synced = SoftAuthenticator(backed_up=True)
    enrolled_with(api, client, synced)
    basic = tenant_basic(tenant.id)
    started = call(client, "/challenge", headers=basic, json={"action": STRICT}).get_json()
    body = authentication_options(client, basic, started["challengeId"]).get_json()

    response = verify(client, basic, body, synced.authenticate(body["options"]))

    assert response.status_code == 403
    refusal = response.get_json()
    assert refusal["errorCode"] == "device_bound_passkey_required"
    assert "device-bound passkey" in refusal["errorDescription"]


def test_a_device_bound_passkey_passes_the_action(api, client):
    bound = SoftAuthenticator(backed_up=False)
    enrolled_with(api, client, bound)
    tracked = track(api, "alice", STRICT)

    body = authentication_options(client, bearer(tracked["token"])).get_json()
    assert [c["id"] for c in body["options"]["allowCredentials"]] == [bound.credentials[0].id]
    response = verify(client, bearer(tracked["token"]), body, bound.authenticate(body["options"]))

    assert response.status_code == 200, response.get_json()
    assert validate(api, response.get_json()["accessToken"])["isValid"] is True


def test_only_the_device_bound_passkey_of_a_user_with_both_is_offered(api, client):
    bound, synced = SoftAuthenticator(backed_up=False), SoftAuthenticator(backed_up=True)
    enrolled_with(api, client, bound)
    # Adding a second passkey needs a passed challenge and the scope.
    scoped = track(api, "alice", RELAXED, scope="add:authenticators")
    passed = verify(client, bearer(scoped["token"]), body := authentication_options(client, bearer(scoped["token"])).get_json(),
                    bound.authenticate(body["options"])).get_json()
    options = registration_options(client, passed["accessToken"]).get_json()
    assert register(client, passed["accessToken"], options, synced.register(options["options"])).status_code == 200

    offered = authentication_options(client, bearer(track(api, "alice", STRICT)["token"])).get_json()

    assert [c["id"] for c in offered["options"]["allowCredentials"]] == [bound.credentials[0].id]


def test_a_synced_passkey_cannot_be_enrolled_for_a_device_bound_action(api, client, app):
    tracked = track(api, "bob", STRICT)
    options = registration_options(client, tracked["token"]).get_json()

    response = register(client, tracked["token"], options, SoftAuthenticator(backed_up=True).register(options["options"]))

    assert response.status_code == 403
    assert response.get_json()["errorCode"] == "device_bound_passkey_required"
    assert stored_passkeys(app, "bob") == []
    assert action_state(api, "bob", tracked, STRICT)["state"] == "CHALLENGE_REQUIRED"
