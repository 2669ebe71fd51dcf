"""The hosted page of an action that requires a device-bound passkey: a synced passkey is not
offered, and a user who has nothing else is told why rather than shown a ceremony bound to fail."""

from __future__ import annotations

import pytest

from tests.api.test_client_api_passkeys import enroll_passkey, validate
from tests.factories import enroll_authenticator_app, make_action
from tests.html import parse, text_of
from tests.soft_authenticator import SoftAuthenticator

STRICT = "wire-money"


@pytest.fixture(autouse=True)
def actions(app, tenant):
    make_action(app, tenant.id, STRICT, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                require_device_bound_passkey=True)
    make_action(app, tenant.id, "sign-in", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")


def with_passkey(api, client, *, synced: bool) -> None:
    first = api.post("/users/alice/actions/sign-in", json={}).get_json()
    assert validate(api, enroll_passkey(client, first["token"], SoftAuthenticator(backed_up=synced))["accessToken"])["isValid"]


def strict_page(api, client):
    url = api.post(f"/users/alice/actions/{STRICT}", json={}).get_json()["url"]
    return client.get(url.removeprefix("http://localhost:5000"))


def test_a_user_with_only_a_synced_passkey_is_told_a_device_bound_one_is_needed(api, client):
    with_passkey(api, client, synced=True)

    response = strict_page(api, client)

    assert response.status_code == 409
    page = parse(response)
    assert text_of(page.find("h1")) == "A device-bound passkey is needed"
    assert page.find(id="passkey") is None


def test_a_synced_passkey_is_left_out_and_the_other_method_offered(api, client):
    with_passkey(api, client, synced=True)
    enroll_authenticator_app(api, "alice")

    page = parse(strict_page(api, client))

    assert page.find(id="passkey") is None
    assert page.find("input", id="code") is not None  # the authenticator app's form


def test_a_device_bound_passkey_is_offered(api, client):
    with_passkey(api, client, synced=False)

    page = parse(strict_page(api, client))

    assert page.find(id="passkey")["data-ceremony"] == "authenticate"
