"""The rule editor in real Chromium, where the browser itself could get in the way: a number the
builder cannot store stays in its box with the reason (a number input would have emptied it), and
text past its limit is kept and refused with its length (a maxlength would have cut it silently)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ConsoleAccount, LiveServer
from tests.e2e.test_console_flows import after_htmx, build_custom_number_condition
from tests.factories import make_action

CODE = "e2e-builder"


def unexpected(browser_errors: list[str]) -> list[str]:
    """What went wrong besides the refused save, answered 400 on purpose (which Chromium logs too)."""
    return [e for e in browser_errors if f"/console/actions/{CODE}/rules/new" not in e and "status of 400" not in e]


@pytest.mark.timeout(60)
def test_a_number_too_large_to_store_is_kept_and_explained(
    page: Page, console_admin: ConsoleAccount, live_server: LiveServer, app, tenant, browser_errors
):
    make_action(app, tenant.id, CODE)
    page.goto(f"/console/actions/{CODE}/rules/new")
    page.get_by_label("Name", exact=True).fill("Huge")
    build_custom_number_condition(page, CODE, "amount", "gt", "1e999")

    page.locator(".form-actions").get_by_role("button", name="Save rule").click()

    value = page.get_by_role("textbox", name="Value")
    expect(value).to_have_accessible_description(
        "This number is too large: a rule holds numbers from -1.8e308 to 1.8e308.")
    expect(value).to_have_value("1e999")
    expect(value).to_have_attribute("aria-invalid", "true")
    assert unexpected(browser_errors) == []


@pytest.mark.timeout(60)
def test_a_name_past_its_limit_is_not_cut_but_refused_with_its_length(
    page: Page, console_admin: ConsoleAccount, live_server: LiveServer, app, tenant, browser_errors
):
    make_action(app, tenant.id, CODE)
    page.goto(f"/console/actions/{CODE}/rules/new")
    name = page.get_by_role("textbox", name="Name", exact=True)
    name.fill("n" * 130)
    expect(name).to_have_value("n" * 130)  # the browser kept all of it

    page.locator(".form-actions").get_by_role("button", name="Save rule").click()

    name = page.get_by_role("textbox", name="Name", exact=True)
    expect(name).to_have_accessible_description("Name can be at most 120 characters; this one has 130.")
    expect(name).to_have_value("n" * 130)
    assert unexpected(browser_errors) == []


SHOWN = """select => Array.from(select.querySelectorAll("optgroup"), group => [group.label, group.hidden,
    Array.from(group.querySelectorAll("option"), option => option.hidden ? null : option.value).filter(Boolean)])
    .filter(([, hidden, values]) => !hidden && values.length)"""


@pytest.mark.timeout(60)
def test_the_field_search_narrows_the_grouped_picker_and_enter_picks_without_saving(
    page: Page, console_admin: ConsoleAccount, live_server: LiveServer, app, tenant, browser_errors
):
    make_action(app, tenant.id, CODE)
    page.goto(f"/console/actions/{CODE}/rules/new")
    builder = f"/console/actions/{CODE}/rules/builder"
    if page.locator("#c-0-0-field").count() == 0:
        after_htmx(page, builder, lambda: page.locator("button[value='add-condition:0']").click())
    picker = page.get_by_role("combobox", name="Field")
    search = page.get_by_role("searchbox", name="Search fields")

    search.fill("device new")
    assert picker.evaluate(SHOWN) == [["Device", False, ["device.isNew"]]]
    search.fill("ip 24 hours")
    assert picker.evaluate(SHOWN) == [["Velocity", False, [f"velocity.ip.{metric}.24h" for metric in (
        "actionCount", "actionCodeCount", "failedChallenges", "distinctUsers")]]]
    search.fill("device new")
    after_htmx(page, builder, lambda: search.press("Enter"))

    expect(page.get_by_role("combobox", name="Field")).to_have_value("device.isNew")
    expect(page.get_by_role("combobox", name="Operator")).to_contain_text("is true")
    expect(page.locator("h1")).to_contain_text("New rule")  # Enter chose a field; it did not save the rule
    search = page.get_by_role("searchbox", name="Search fields")  # the re-rendered picker has its own
    search.fill("zzz")
    assert page.get_by_role("combobox", name="Field").evaluate(SHOWN) == []
    assert browser_errors == []

