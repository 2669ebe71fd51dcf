"""Device assurance end to end in real Chromium: an action that requires a device-bound passkey
refuses a synced one (a virtual authenticator with the BE and BS flags) and accepts one that stays
on the device; a device remembered after a passed challenge is let through by a rule on
``device.isTrusted`` until an admin revokes it in the console."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import update

from app.extensions import db
from app.models import Tenant
from tests.e2e.conftest import LiveServer, attach_virtual_authenticator
from tests.e2e.test_accessibility import violations
from tests.e2e.test_challenge_flows import assert_valid, token_at_callback
from tests.factories import make_action, rule

STRICT = "wire-money"
REMEMBERING = "transfer"


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


def test_a_remembered_device_is_let_through_until_an_admin_revokes_it(
    page: Page, sdk, live_server: LiveServer, tenant, console_admin, browser_errors
):
    with live_server.app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == tenant.id).values(remember_device_days=30))
        db.session.commit()
    make_action(live_server.app, tenant.id, REMEMBERING, default_outcome="CHALLENGE",
                unenrolled_policy="REQUIRE_ENROLLMENT",
                rules=[rule("Remembered device", 0, "ALLOW", {"==": [{"var": "device.isTrusted"}, True]})])
    attach_virtual_authenticator(page)

    def track() -> dict:
        return sdk.track("e2e-rita", REMEMBERING, {"redirectUrl": live_server.callback_url, "deviceId": "rita-laptop"})

    page.goto(track()["url"])
    page.get_by_role("button", name="Create a passkey").click()
    page.locator("#continue").click()  # past the recovery codes
    expect(page.locator("#remember-form")).to_be_visible()
    assert violations(page) == []
    page.get_by_label("Don't ask again on this device for 30 days").check()
    page.get_by_role("button", name="Continue").click()
    assert_valid(sdk, token_at_callback(page, live_server), "e2e-rita", "PASSKEY")
    (cookie,) = [c for c in page.context.cookies() if c["name"].startswith("tg_device_")]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Lax", "/")

    assert track()["state"] == "ALLOW"

    page.goto("/console/users/e2e-rita")
    expect(page.locator("#trusted-devices tbody tr")).to_have_count(1)
    assert violations(page) == []
    page.locator("#trusted-devices").get_by_role("button", name=re.compile("^Revoke")).click()
    expect(page.get_by_text("Trusted device revoked")).to_be_visible()
    expect(page.locator("#trusted-devices")).to_have_count(0)

    assert track()["state"] == "CHALLENGE_REQUIRED"
    assert browser_errors == []
