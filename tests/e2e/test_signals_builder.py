"""A risk signal in real Chromium: an admin builds "device is new → REVIEW" with the no-code builder,
then sees the signal in the Test action trace: observed true for a device the user never used,
false once the integrator's backend has tracked that device (the official SDK over real HTTP)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ConsoleAccount, LiveServer
from tests.e2e.test_console_flows import after_htmx
from tests.factories import make_action

CODE = "e2e-sign-in"
RULE = "New device"
USER = "e2e-dana"
DEVICE = "dana-laptop"


def run_test_action(page: Page, user_id: str, device_id: str) -> Locator:
    """Fill the Test action panel, run it and return the re-rendered panel."""
    panel = page.locator("#test-panel")
    panel.get_by_label("User ID").fill(user_id)
    panel.get_by_label("Device ID").fill(device_id)
    after_htmx(page, f"/console/actions/{CODE}/test", lambda: panel.get_by_role("button", name="Run test").click())
    return page.locator("#test-panel")


def expect_device_is_new(panel: Locator, observed: str) -> None:
    # Node, Field, Operator, Observed, Expected, Result
    row = panel.locator("details.trace-rule").first.locator("tbody tr").first.locator("td")
    expect(row.nth(1)).to_have_text("device.isNew")
    expect(row.nth(3)).to_have_text(observed)
    # "is true" holds exactly when the device is new; the mark is for the eye, the word for everyone.
    expect(row.nth(5)).to_have_text(("✓" if observed == "true" else "✗") + observed)


@pytest.mark.timeout(90)
def test_a_device_is_new_rule_built_in_the_builder_shows_in_the_test_action_trace(
    page: Page, console_admin: ConsoleAccount, live_server: LiveServer, app, tenant, sdk, browser_errors
):
    make_action(app, tenant.id, CODE)  # default outcome ALLOW, no rules yet
    page.goto(f"/console/actions/{CODE}")

    # The rule, built without JsonLogic: Device is new · is true → REVIEW.
    page.get_by_role("link", name="Add a rule").click()
    expect(page.locator("h1")).to_contain_text("New rule")
    page.get_by_label("Name", exact=True).fill(RULE)
    page.get_by_label("Outcome when it matches").select_option("REVIEW")
    builder = f"/console/actions/{CODE}/rules/builder"
    if page.locator("#c-0-0-field").count() == 0:
        after_htmx(page, builder, lambda: page.locator("button[value='add-condition:0']").click())
    after_htmx(page, builder, lambda: page.locator("#c-0-0-field").select_option("device.isNew"))
    expect(page.locator("#c-0-0-field")).to_have_value("device.isNew")
    expect(page.locator("#c-0-0")).to_contain_text("This device id was never tracked for this user before")
    after_htmx(page, builder, lambda: page.locator("#c-0-0-op").select_option("is_true"))
    expect(page.locator("#c-0-0-op")).to_have_value("is_true")
    expect(page.locator("#c-0-0-value")).to_have_count(0)  # "is true" takes no value
    page.locator(".form-actions").get_by_role("button", name="Save rule").click()
    page.wait_for_url(f"**/console/actions/{CODE}/rules")
    expect(page.locator(".flash")).to_contain_text(f"Rule “{RULE}” saved.")
    expect(page.locator("#rules .rule-name")).to_have_text([RULE])
    expect(page.locator("#rules .summary")).to_have_text(["device is new"])  # a sentence, not "… is true"

    # A device this user never used: the signal is true and the rule decides.
    panel = run_test_action(page, USER, DEVICE)
    expect(panel.locator(".verdict")).to_contain_text("Outcome Review")
    expect(panel.locator(".decision-trace")).to_contain_text(f"Decided by the rule {RULE} (position 1 of 1")
    expect_device_is_new(panel, "true")

    # Published (a draft decides no track), the integrator's backend tracks the user on that device
    # (a new device then: review).
    page.goto(f"/console/actions/{CODE}/draft")
    page.get_by_label("Change note").fill("Review new devices.")
    page.get_by_role("button", name="Publish version 2").click()
    page.wait_for_url(f"**/console/actions/{CODE}/versions")
    page.goto(f"/console/actions/{CODE}/rules")
    assert sdk.track(USER, CODE, {"deviceId": DEVICE})["state"] == "REVIEW_REQUIRED"

    # Now the device is known: false, the rule does not match, the default outcome applies.
    panel = run_test_action(page, USER, DEVICE)
    expect(panel.locator(".verdict")).to_contain_text("Outcome Allow")
    expect(panel.locator(".decision-trace")).to_contain_text("No active rule matched")
    expect_device_is_new(panel, "false")
    expect(panel.locator("details.trace-rule summary").first).to_contain_text(f"1. {RULE} Review — did not match")

    # Another device of the same user is still new.
    panel = run_test_action(page, USER, "dana-phone")
    expect_device_is_new(panel, "true")
    assert browser_errors == []


@pytest.mark.timeout(90)
def test_an_admin_imports_and_deletes_an_instance_wide_network_list(
    page: Page, console_admin: ConsoleAccount, live_server: LiveServer, tmp_path, screenshot, browser_errors
):
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Data").click()
    page.get_by_role("navigation", name="Data").get_by_role("link", name="Network lists").click()
    expect(page.locator("#network-lists")).to_contain_text("shared by every tenant")

    # A file with a bad line is refused whole, the line named next to the field (htmx swap).
    bad = tmp_path / "tor.txt"
    bad.write_text("185.220.101.0/24\nnot-an-address\n")
    form = page.locator("#network-list-import")
    form.get_by_label("Name", exact=True).fill("tor-exits")
    form.get_by_label("Text file, one address or CIDR per line").set_input_files(str(bad))
    after_htmx(page, "/console/data/network-lists", lambda: form.get_by_role("button", name="Import list").click())
    expect(page.locator("#file-error")).to_contain_text("line 2: 'not-an-address'")

    # Pasted instead: imported, listed with its size.
    form = page.locator("#network-list-import")
    form.get_by_label("Text file, one address or CIDR per line").set_input_files([])
    form.get_by_label("Description").fill("Tor exit nodes")
    form.get_by_label("Or paste the addresses and CIDRs, one per line").fill("185.220.101.0/24\n2a0b:f4c2::/32\n")
    form.get_by_role("button", name="Import list").click()
    expect(page.locator(".flash")).to_contain_text("“tor-exits” now holds 2 CIDRs")
    row = page.locator("#network-lists tbody tr", has=page.locator("code", has_text="tor-exits"))
    expect(row.locator("td[data-label='CIDRs']")).to_have_text("2")
    expect(row.locator("td[data-label='Anonymous']")).to_have_text("Yes")
    screenshot(page, "network-lists")

    row.get_by_role("link", name="Delete tor-exits").click()
    expect(page.locator("h1")).to_contain_text("Delete the network list")
    page.get_by_role("button", name="Delete network list").click()
    expect(page.locator(".flash")).to_contain_text("Network list “tor-exits” deleted.")
    expect(page.locator("#network-lists tbody")).to_contain_text("No network lists yet")
    # The refused file was answered 400 on purpose (Chromium also logs that to the console); nothing else.
    refused = [e for e in browser_errors if e.endswith("/console/data/network-lists") or
               e.endswith("/console/data/network-lists)")]
    assert sorted(e.split(":")[0] for e in refused) == ["HTTP 400", "console"]
    assert any("status of 400" in e for e in refused)
    assert [e for e in browser_errors if e not in refused] == []
