"""The first run in real Chromium: the Actions page says how to send the first event, and turns to
"First event received" by itself when the SDK sends one."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import ConsoleAccount
from tests.e2e.test_accessibility import assert_accessible


def test_the_get_started_panel_turns_into_first_event_received(page: Page, console_admin: ConsoleAccount, sdk,
                                                               browser_errors):
    page.goto("/console/actions")
    panel = page.get_by_role("region", name="Get started: send your first event")
    expect(panel.get_by_role("status")).to_have_text("Waiting for your first event…")
    expect(panel.locator("pre").nth(1)).to_contain_text("/v1/users/alice/actions/sign-in")
    assert_accessible(page, "/console/actions")

    page.goto("/console/actions")
    sdk.track("alice", "sign-in", {"custom": {"amount": 2500}})

    status = page.get_by_role("region", name="Get started: send your first event").get_by_role("status")
    expect(status).to_contain_text("First event received: alice tracked sign-in", timeout=8_000)
    status.get_by_role("link", name="See it in Activity").click()
    page.wait_for_url("**/console/activity/*")
    assert browser_errors == []
