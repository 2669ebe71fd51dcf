"""The server API's routes for a user's remembered devices: list and revoke, JSON errors for bad ids."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import TrustedDevice
from tests.conftest import ApiClient
from tests.factories import add_tenant_with_key, enroll_authenticator_app
from tests.web.test_challenge_remember_device import (
    Passing,
    answer_offer,
    finished_at_app,
    remembering,  # noqa: F401  (the fixture: a tenant that remembers devices, an action that reads it)
    track,
)

pytestmark = pytest.mark.usefixtures("remembering")


def remember(api, app, user="alice", device="laptop-1") -> str:
    client = app.test_client()
    offer = Passing(client).pass_challenge(track(api, user=user, device=device)["token"])
    finished_at_app(client, answer_offer(client, offer, remember=True))
    with app.app_context():
        return db.session.execute(select(TrustedDevice.id).where(TrustedDevice.device_id == device)
                                  .order_by(TrustedDevice.created_at.desc())).scalars().first()


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status
    body = response.get_json()
    assert (body["error"], body["errorCode"]) == (code, code) and body["errorDescription"]


def test_a_users_trusted_devices_are_listed_and_one_is_revoked(api, app):
    device_id = remember(api, app)

    (listed,) = api.get("/users/alice/trusted-devices").get_json()["trustedDevices"]
    assert listed["trustedDeviceId"] == device_id
    assert (listed["deviceId"], listed["userAgent"]) == ("laptop-1", "Chrome on Windows")
    assert listed["createdAt"].endswith("Z") and listed["expiresAt"] > listed["createdAt"]
    assert listed["lastUsedAt"] is None

    assert api.delete(f"/users/alice/trusted-devices/{device_id}").get_json() == {"success": True}
    assert api.get("/users/alice/trusted-devices").get_json() == {"trustedDevices": []}
    assert track(api)["state"] == "CHALLENGE_REQUIRED"


def test_bad_ids_are_json_404s(api, app):
    device_id = remember(api, app)
    track(api, user="bob")

    assert_error(api.get("/users/nobody/trusted-devices"), 404, "user_not_found")
    assert_error(api.delete(f"/users/nobody/trusted-devices/{device_id}"), 404, "user_not_found")
    assert_error(api.delete(f"/users/bob/trusted-devices/{device_id}"), 404, "trusted_device_not_found")
    assert_error(api.delete("/users/alice/trusted-devices/" + "x" * 2000), 404, "trusted_device_not_found")
    api.delete(f"/users/alice/trusted-devices/{device_id}")
    assert_error(api.delete(f"/users/alice/trusted-devices/{device_id}"), 404, "trusted_device_not_found")


def test_deleting_the_last_authenticator_through_the_api_revokes_them(api, app):
    remember(api, app)
    (first,) = api.get("/users/alice/authenticators").get_json()
    second = enroll_authenticator_app(api, "alice")

    api.delete(f"/users/alice/authenticators/{first['userAuthenticatorId']}")
    assert len(api.get("/users/alice/trusted-devices").get_json()["trustedDevices"]) == 1  # one left: still trusted
    api.delete(f"/users/alice/authenticators/{second['userAuthenticatorId']}")

    assert api.get("/users/alice/trusted-devices").get_json() == {"trustedDevices": []}


def test_another_tenants_key_sees_none_of_them(api, app):
    device_id = remember(api, app)
    other_tenant_api = ApiClient(app.test_client(), add_tenant_with_key(app, "Other tenant")[1])

    assert_error(other_tenant_api.get("/users/alice/trusted-devices"), 404, "user_not_found")
    assert_error(other_tenant_api.delete(f"/users/alice/trusted-devices/{device_id}"), 404, "user_not_found")
