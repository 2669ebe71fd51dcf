"""The console's long lists and an action's review deadline in real Chromium: the pager swaps the
results in place and keeps the address in step, the team list searches, and an admin sets the review
deadline in the action's Settings tab, which the queue then shows on the case."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from app.domain.decision import ActionState
from app.extensions import db
from app.models import UserAction
from app.models.base import utcnow
from tests.e2e.conftest import ConsoleAccount, LiveServer, make_console_account
from tests.factories import make_action, rule


def store_actions(live_server: LiveServer, tenant_id: str, count: int) -> None:
    """``count`` stored actions a second apart, user-N the N-th oldest."""
    start = utcnow() - timedelta(hours=1)
    with live_server.app.app_context():
        for n in range(count):
            at = start + timedelta(seconds=n)
            db.session.add(UserAction(tenant_id=tenant_id, action_code="e2e-sign-in", user_id=f"user-{n}",
                                      state=ActionState.ALLOW, initial_state=ActionState.ALLOW,
                                      idempotency_key=secrets.token_hex(8),
                                      state_updated_at=at, created_at=at, updated_at=at, output={}, attributes={}))
        db.session.commit()


def listed_users(page: Page) -> list[str]:
    return page.locator("#activity-results tbody td[data-label='User']").all_inner_texts()


def test_the_activity_pager_swaps_the_next_page_in_place(
    page: Page, console_admin: ConsoleAccount, live_server: LiveServer, tenant, browser_errors
):
    store_actions(live_server, tenant.id, 60)
    page.goto("/console/activity")
    expect(page.locator("#activity-results tbody tr")).to_have_count(50)
    first_page = listed_users(page)
    assert first_page[0] == "user-59" and first_page[-1] == "user-10"

    page.get_by_role("navigation", name="Activity pages").get_by_role("link", name="Older →").click()

    expect(page.locator("#activity-results tbody tr")).to_have_count(10)
    assert listed_users(page) == [f"user-{n}" for n in range(9, -1, -1)]
    assert "cursor=" in page.url
    page.go_back()
    expect(page.locator("#activity-results tbody tr")).to_have_count(50)
    assert browser_errors == []


def test_the_team_list_searches_and_pages(
    page: Page, console_admin: ConsoleAccount, live_server: LiveServer, tenant, browser_errors
):
    for n in range(30):
        make_console_account(live_server, tenant.id, f"member-{n:02d}@example.com", role="reviewer")
    page.goto("/console/settings/team")
    status = page.locator("#member-results").get_by_role("status")
    expect(status).to_have_text("31 people · page 1 of 2")

    page.get_by_role("navigation", name="Pages of people").get_by_role("link", name="Next →").click()
    expect(status).to_have_text("31 people · page 2 of 2")
    assert page.url.endswith("page=2")

    box = page.get_by_role("searchbox")
    box.fill("member-07")
    box.press("Enter")
    expect(status).to_have_text("1 person matching “member-07”")
    expect(page.locator("#member-results tbody tr")).to_have_count(1)
    expect(page.locator("#member-results tbody tr")).to_contain_text("member-07@example.com")
    assert browser_errors == []


@pytest.mark.timeout(90)
def test_an_admin_sets_the_review_deadline_in_the_actions_settings_and_the_queue_shows_it(
    page: Page, console_admin: ConsoleAccount, live_server: LiveServer, tenant, sdk, browser_errors
):
    make_action(live_server.app, tenant.id, "e2e-payout",
                rules=[rule("Manual check", 0, "REVIEW", {">": [{"var": "custom.amount"}, 1000]})])
    page.goto("/console/actions/e2e-payout/settings")
    page.get_by_label("Review deadline (minutes)").fill("45")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash")).to_contain_text("Settings saved.")
    expect(page.get_by_label("Review deadline (minutes)")).to_have_value("45")

    assert sdk.track("e2e-rhea", "e2e-payout", {"custom": {"amount": 5000}})["state"] == "REVIEW_REQUIRED"
    page.goto("/review/")
    due = page.locator("#queue-results tbody tr", has_text="e2e-rhea").locator("td[data-label='Due'] time")
    expect(due).to_have_count(1)
    assert due.get_attribute("datetime") > utcnow().isoformat()
    assert browser_errors == []
