"""Device assurance end to end in real Chromium: an action that requires a device-bound passkey
refuses a synced one (a virtual authenticator with the BE and BS flags) and accepts one that stays
on the device."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, attach_virtual_authenticator
from tests.e2e.test_challenge_flows import assert_valid, token_at_callback
from tests.factories import make_action

STRICT = "wire-money"


def open_strict_challenge(page: Page, sdk, live_server: LiveServer, user: str) -> dict:
    tracked = sdk.track(user, STRICT, {"redirectUrl": live_server.callback_url})
    assert tracked["state"] == "CHALLENGE_REQUIRED"
    page.goto(tracked["url"])
    expect(page.locator("#passkey")).to_have_attribute("data-ceremony", "register")
    return tracked


def test_a_synced_passkey_is_refused_and_a_device_bound_one_accepted(page: Page, sdk, live_server, tenant):
    make_action(live_server.app, tenant.id, STRICT, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                require_device_bound_passkey=True)

    synced = attach_virtual_authenticator(page, synced=True)
    tracked = open_strict_challenge(page, sdk, live_server, "e2e-sam")
    page.get_by_role("button", name="Create a passkey").click()

    expect(page.locator("#passkey")).to_have_attribute("data-state", "error")
    expect(page.locator("#passkey-status")).to_contain_text("needs a passkey that stays on one device")
    assert sdk.get_action("e2e-sam", STRICT, tracked["idempotency_key"])["state"] == "CHALLENGE_REQUIRED"
    assert [a for a in sdk.get_authenticators("e2e-sam") if a["verification_method"] == "PASSKEY"] == []
    assert len(synced.credentials()) == 1  # the browser made it; the server would not have it

    synced.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": synced.authenticator_id})
    attach_virtual_authenticator(page)  # a platform authenticator that keeps its passkeys to itself
    open_strict_challenge(page, sdk, live_server, "e2e-sam")
    page.get_by_role("button", name="Create a passkey").click()
    expect(page.locator("h1")).to_have_text("Save your recovery codes")
    page.locator("#continue").click()

    assert_valid(sdk, token_at_callback(page, live_server), "e2e-sam", "PASSKEY")
