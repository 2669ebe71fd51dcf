"""Back-testing a draft in real Chromium: ask for it on the Back-tests tab, watch the page poll
while no worker has it, start a worker and see the result swap in without a reload; then the
draft page's impact preview fills in by itself and publishing records it with the version."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app.backtest_worker import run_backtest_worker
from tests.backtest_history import seed_withdrawals
from tests.e2e.conftest import LiveServer
from tests.e2e.test_accessibility import assert_accessible

CODE = "withdraw"


@pytest.fixture
def history(app, api, tenant):
    return seed_withdrawals(app, api, tenant)


@pytest.fixture
def start_worker(live_server: LiveServer) -> Iterator[callable]:
    """``start_worker()``: a back-test worker beside the live server, as ``make run`` starts one."""
    stop = threading.Event()
    threads = []

    def start() -> None:
        thread = threading.Thread(target=run_backtest_worker, args=(live_server.app,), daemon=True, kwargs={
            "settings": live_server.app.config["TOLLGATE"], "jobs": 1, "interval": 0.2, "stop": stop})
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(10)


def test_an_admin_back_tests_the_draft_and_publishes_it_with_its_impact(
    page: Page, console_admin, history, start_worker, screenshot, browser_errors
):
    page.goto(f"/console/actions/{CODE}/rules")
    page.get_by_role("navigation", name="Action").get_by_role("link", name="Back-tests").click()
    expect(page.locator("main")).to_contain_text("No back-tests of withdraw yet")
    page.get_by_label("Stored actions from").select_option("24h")
    page.get_by_role("button", name="Run back-test").click()

    # No worker yet: the run waits, and its page keeps asking.
    status = page.locator("#backtest-status")
    expect(status).to_contain_text("Waiting for a worker")
    assert_accessible(page, page.url)
    start_worker()
    expect(status.locator("#backtest-summary")).to_contain_text("5 of 6 actions (83.3%) would end in another state",
                                                                timeout=15_000)
    expect(status.locator(".ok")).to_contain_text("reproduce all 6 stored outcomes")
    matrix = page.locator("#transition-matrix")
    expect(matrix.locator("tbody tr").first.locator("td.differs")).to_have_text(["3 (75.0%)"])
    expect(page.locator("#backtest-changes tbody tr")).to_have_count(5)
    screenshot(page, "backtest-result")
    assert_accessible(page, page.url)

    page.locator("#backtest-changes tbody a").first.click()
    expect(page.locator("#replay")).to_contain_text("reproduces the stored decision exactly")
    page.go_back()

    # The draft page previews the last 7 days by itself, then publishing records what it showed.
    page.goto(f"/console/actions/{CODE}/draft")
    expect(page.locator("#impact-summary")).to_have_text("5 of 6 actions (83.3%) would have ended differently:",
                                                         timeout=15_000)
    expect(page.locator("#impact-transitions li").first).to_have_text("Allow → Review required: 3")
    assert_accessible(page, page.url)
    expect(page.locator("#impact-summary")).to_be_visible(timeout=15_000)  # again, after the reloads
    screenshot(page, "draft-impact")
    page.get_by_label("Change note").fill("Review withdrawals from 400.")
    page.get_by_role("button", name="Publish version 3").click()
    page.wait_for_url(f"**/console/actions/{CODE}/versions")
    page.get_by_role("link", name="Version 3").first.click()
    expect(page.locator("#version-impact")).to_contain_text(
        "Back-tested over 7d before publishing: 5 of 6 actions would change")
    assert browser_errors == []


def test_an_admin_runs_a_draft_rule_in_shadow_on_live_tracks_and_promotes_it(
    page: Page, console_admin, history, sdk, screenshot, browser_errors
):
    page.goto(f"/console/actions/{CODE}/rules")
    page.get_by_role("navigation", name="Action").get_by_role("link", name="Shadow").click()
    page.get_by_label("Run in shadow").select_option(label="Only “From 4000” (added)")
    page.get_by_role("button", name="Start shadow").click()
    expect(page.locator("#shadow-summary")).to_have_text("No tracks since it started: it decides the next one.")

    # Real tracks through the official SDK: answered by the live version, decided in shadow too.
    answers = [sdk.track(f"s{n}", CODE, {"custom": {"amount": amount}})["state"]
               for n, amount in enumerate([5000, 6000, 300])]
    assert answers == ["REVIEW_REQUIRED", "REVIEW_REQUIRED", "ALLOW"]
    page.reload()
    expect(page.locator("#shadow-summary")).to_contain_text("Would have changed 2 of 3 decisions (66.7%)")
    expect(page.locator("#shadow-changes tbody tr")).to_have_count(2)
    screenshot(page, "shadow")
    assert_accessible(page, page.url)

    page.get_by_label("Change note").fill("Block withdrawals over 4000.")
    page.get_by_role("button", name="Promote to version 3").click()
    expect(page.locator("#version-impact")).to_contain_text("2 of 3 decisions would have changed")
    assert sdk.track("s9", CODE, {"custom": {"amount": 5000}})["state"] == "BLOCK"
    assert browser_errors == []
