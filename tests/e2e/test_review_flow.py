"""The manual-review flow in real Chromium.

An integrator tracks an action (official Python SDK) that a REVIEW rule sends to review; the end
user's hosted page says it is being reviewed and keeps reloading; a reviewer signs in, finds the case
in the queue (the nav count shows it), claims it, adds a note and approves it; ``get_action``
then reports REVIEW_SUCCEEDED, the integrator's webhook endpoint receives a correctly signed
``action.review_decided``, and the end user's page continues by itself to the integrator with a
result token that validates (state REVIEW_SUCCEEDED), once.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import ReviewDecision, WebhookEndpoint
from app.models.base import new_id, utcnow
from app.services.console.console_users import create_console_user
from app.services.delivery.worker import deliver_due
from tests.factories import make_action, rule
from tests.webhook_receiver import running_receiver

ACTION = "e2e-payout"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def webhook_receiver(live_server, tenant):
    """The integrator's endpoint, subscribed to review decisions."""
    with running_receiver(tenant.api_key) as (url, received), live_server.app.app_context():
        db.session.add(WebhookEndpoint(id=new_id(), tenant_id=tenant.id, url=url, description="", is_active=True,
                                       event_types=["action.review_decided"], created_at=utcnow(), updated_at=utcnow()))
        db.session.commit()
        yield received


def test_a_reviewer_approves_a_tracked_case_and_the_end_user_continues(
    page: Page, sdk, live_server, tenant, browser_errors, webhook_receiver
):
    make_action(live_server.app, tenant.id, ACTION, rules=[
        rule("Large payout", 0, "REVIEW", {">": [{"var": "custom.amount"}, 1000]}),
    ])
    with live_server.app.app_context():
        create_console_user(tenant.id, email="rita@example.com", password=PASSWORD, role="reviewer",
                            settings=live_server.app.config["TOLLGATE"])
    tracked = sdk.track("e2e-rev", ACTION, {"redirectUrl": live_server.callback_url,
                                            "custom": {"amount": 25000}, "ipAddress": "203.0.113.50"})
    assert tracked["state"] == "REVIEW_REQUIRED"

    # The end user waits on the hosted page, in a tab of its own.
    end_user = page.context.new_page()
    end_user.goto(tracked["url"])
    expect(end_user.get_by_role("heading", name="Your request is being reviewed")).to_be_visible()

    # The reviewer signs in and finds the case in the queue.
    page.goto("/auth/login")
    page.get_by_label("Email").fill("rita@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#review-count")).to_have_text(re.compile(r"^1\b"))
    page.get_by_role("link", name=re.compile(r"^Review")).click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    row = page.locator("table.queue tbody tr", has_text="e2e-rev")
    expect(row).to_contain_text("Large payout")
    expect(row).to_contain_text("25000")
    row.get_by_role("link").first.click()

    # Claim, note, approve: the first two swap their section in place.
    expect(page.get_by_role("heading", name=re.compile(ACTION))).to_be_visible()
    page.get_by_role("button", name="Claim").click()
    expect(page.locator("#claim")).to_contain_text("You hold this case")
    page.get_by_label(re.compile("^Add a note")).fill("Payee verified by phone.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#notes")).to_contain_text("Payee verified by phone.")
    expect(page.locator("#notes")).to_contain_text("rita@example.com")
    page.get_by_label(re.compile("^Reason")).fill("Known payee, amount matches the invoice.")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator("#decision")).to_contain_text("Approved")
    expect(page.locator("#decision")).to_contain_text("Known payee, amount matches the invoice.")
    expect(page.locator("#next-case")).to_be_visible()

    assert sdk.get_action("e2e-rev", ACTION, tracked["idempotency_key"])["state"] == "REVIEW_SUCCEEDED"

    # The worker delivers the decision to the integrator, signed with the tenant's secret key.
    with live_server.app.app_context():
        report = deliver_due(settings=live_server.app.config["TOLLGATE"])
    assert report.failed == report.retrying == 0
    [event] = webhook_receiver
    assert event["type"] == "action.review_decided" and event["tenantId"] == tenant.id
    assert event["data"]["idempotencyKey"] == tracked["idempotency_key"]

    # The end user's page reloads itself (every 5 s) and goes on to the integrator with a result token.
    end_user.wait_for_url(re.compile(re.escape(live_server.callback_url) + r"\?token="), timeout=15_000)
    token = end_user.locator("#token").inner_text()
    validated = sdk.validate_challenge({"token": token})
    assert validated["is_valid"] is True and validated["state"] == "REVIEW_SUCCEEDED"
    assert validated["user_id"] == "e2e-rev" and validated["action"] == ACTION
    assert sdk.validate_challenge({"token": token})["is_valid"] is False

    # "Next case" with nothing left goes back to the (now empty) queue.
    page.locator("#next-case").click()
    expect(page.get_by_text("Nothing to review.")).to_be_visible()
    expect(page.locator("#review-count")).to_be_empty()  # nothing waits: the badge is hidden
    assert browser_errors == []


def test_a_reviewer_works_the_queue_from_the_keyboard(page: Page, sdk, live_server, tenant, browser_errors):
    """j/k pick a case, Enter opens it, a approves it and opens the next; keys typed in the reason stay text."""
    make_action(live_server.app, tenant.id, ACTION, rules=[rule("Any payout", 0, "REVIEW")])
    with live_server.app.app_context():
        create_console_user(tenant.id, email="kai@example.com", password=PASSWORD, role="reviewer",
                            settings=live_server.app.config["TOLLGATE"])
    keys = {user: sdk.track(user, ACTION, {"custom": {"amount": 5}})["idempotency_key"]
            for user in ("kb-ann", "kb-bob", "kb-cy")}

    page.goto("/auth/login")
    page.get_by_label("Email").fill("kai@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(page.get_by_text("Keyboard shortcuts")).to_be_visible()

    # j, j, k: the second row; Enter opens it. (Keys pressed before the script loaded would be lost.)
    page.wait_for_load_state("load")
    rows = page.locator("table.queue tbody tr")
    for key in ("j", "j", "k", "j"):
        page.keyboard.press(key)
    expect(rows.nth(1).get_by_role("link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("p", has_text="User kb-bob")).to_be_visible()  # the case page (the queue lists kb-bob too)
    page.wait_for_load_state("load")  # each new page runs its deferred shortcut script after it shows

    # "?" opens the list; typing "a" and "r" in the reason is text, Esc leaves the field, a decides.
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_have_attribute("open", "")
    expect(page.locator("#shortcuts")).to_contain_text("Approve and go to the next case")
    page.get_by_label(re.compile("^Reason")).click()
    page.keyboard.type("paid a rare invoice")
    expect(page.get_by_label(re.compile("^Reason"))).to_have_value("paid a rare invoice")
    page.keyboard.press("Escape")
    page.keyboard.press("a")

    # Decided, and on to the next case after it in the queue: kb-cy's.
    expect(page.locator(".flash")).to_contain_text("Approved case #")
    expect(page.locator("p", has_text="User kb-cy")).to_be_visible()
    page.wait_for_load_state("load")
    assert sdk.get_action("kb-bob", ACTION, keys["kb-bob"])["state"] == "REVIEW_SUCCEEDED"

    # n skips kb-cy (round to kb-ann, the oldest); on kb-ann a reason code picked with the arrow keys
    # (a radio button keeps the shortcuts working), then r rejects and goes on to kb-cy.
    page.keyboard.press("n")
    expect(page.locator("p", has_text="User kb-ann")).to_be_visible()
    page.wait_for_load_state("load")
    page.get_by_label("Confirmed by customer").focus()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Fraud", exact=True)).to_be_checked()
    page.keyboard.press("r")
    expect(page.locator(".flash")).to_contain_text("Rejected case #")
    expect(page.locator("p", has_text="User kb-cy")).to_be_visible()
    page.wait_for_load_state("load")
    page.get_by_label(re.compile("^Reason")).fill("Fine")
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    expect(page.get_by_text("The queue is empty: nothing left to review.")).to_be_visible()
    assert [sdk.get_action(user, ACTION, key)["state"] for user, key in keys.items()] == [
        "REVIEW_FAILED", "REVIEW_SUCCEEDED", "REVIEW_SUCCEEDED"]
    with live_server.app.app_context():
        assert db.session.execute(select(ReviewDecision.reason_code).where(ReviewDecision.user_id == "kb-ann")
                                  ).scalar_one() == "fraud"
    assert browser_errors == []
