"""WCAG 2.1 A and AA, checked by axe-core in real Chromium on every kind of page, light and dark.

axe-core (bundled by axe-playwright-python) finds what a machine can: contrast, names of
controls and links, labels, landmarks, ARIA misuse, language. It does not replace trying the pages
with a keyboard and a screen reader, but it keeps what it can see from regressing. Each page is
checked in both colour schemes, because the stylesheets follow the system's (``color-scheme:
light dark``) and a colour that passes on white can fail on the dark canvas.
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.test_console_flows import after_htmx
from tests.factories import make_action, rule

WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
SCHEMES = ("light", "dark")
CONSOLE_PAGES = [
    "/console/overview", "/console/overview?window=30d&action=payout",
    "/console/actions", "/console/actions/payout/rules", "/console/actions/payout/rules/new",
    "/console/actions/payout/settings", "/console/actions/payout/activity", "/console/activity",
    "/console/users", "/console/users/ann", "/console/data/points", "/console/data/lists",
    "/console/data/network-lists", "/console/webhooks", "/console/webhooks/new", "/console/settings", "/console/settings/brand",
    "/console/settings/api-keys", "/console/settings/team", "/console/settings/audit", "/console/settings/review-reasons",
    "/console/account",
    "/review/", "/console/users/ann/erase", "/console/activity/999999",
    # Rule-set versions: the (empty) draft, the history, a version's diff, a rollback's confirmation.
    "/console/actions/payout/draft", "/console/actions/payout/versions", "/console/actions/payout/versions/2",
    "/console/actions/payout/versions/1/rollback", "/console/actions/payout/discard",
    "/console/actions/payout/backtests",  # the form and the empty list (a run's pages: test_backtest_flow)
    "/console/actions/payout/shadow",  # nothing to shadow (a shadow's page: test_backtest_flow)
    # A small list searched (its row a link over the whole row), and a search that finds nothing.
    "/console/actions?q=PAY", "/console/settings/team?q=nobody-here",
]

axe = Axe()


def violations(page: Page) -> list[str]:
    found = axe.run(page, options=WCAG_21_AA).response["violations"]
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]} {v['help']}" for v in found]


def assert_accessible(page: Page, path: str) -> None:
    """``path`` in each colour scheme, as the page stands after load."""
    problems = {}
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        page.goto(path)
        found = violations(page)
        if found:
            problems[scheme] = found
    assert not problems, f"{path}: {problems}"


@pytest.fixture
def tracked(live_server: LiveServer, tenant, sdk) -> dict[str, str]:
    """An action with a review rule, one allowed and one held action: the pages have rows to show."""
    make_action(live_server.app, tenant.id, "payout", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                rules=[rule("Large payout", 0, "REVIEW", {">": [{"var": "custom.amount"}, 1000]})])
    challenged = sdk.track("ann", "payout", {"custom": {"amount": 5}, "redirectUrl": "https://app.example/done"})
    held = sdk.track("bo", "payout", {"custom": {"amount": 5000}, "redirectUrl": "https://app.example/done"})
    origin = "http://localhost:5000"
    return {"challenge": challenged["url"].removeprefix(origin), "review": held["url"].removeprefix(origin)}


def test_the_overview_with_nothing_tracked(page: Page, console_admin):
    """The empty Overview: the Get started panel in place of the charts."""
    page.goto("/console/overview")
    assert page.get_by_role("region", name="Get started: send your first event").is_visible()
    assert_accessible(page, "/console/overview")


# One test walks every console page (~40) with axe, light and dark: more than pytest's default minute
# on a busy machine.
@pytest.mark.timeout(240)
def test_console_pages(page: Page, console_admin, tracked):
    for path in CONSOLE_PAGES:
        assert_accessible(page, path)


def test_management_key_pages(page: Page, console_admin):
    """The form, the key shown once, the list with it, and the revoke confirmation."""
    assert_accessible(page, "/console/settings/management-keys/new")
    page.get_by_label("Name").fill("Terraform")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("shown only this once")).to_be_visible()
    assert violations(page) == []
    assert_accessible(page, "/console/settings/api-keys")
    revoke = page.locator("#management-keys a", has_text="Revoke").first.get_attribute("href")
    assert_accessible(page, revoke)


def test_action_replay_and_review_pages(page: Page, console_admin, tracked):
    page.goto("/console/activity")
    action_page = page.locator("table a[href^='/console/activity/']").first.get_attribute("href")
    assert_accessible(page, action_page)
    assert_accessible(page, action_page + "/replay")  # the stored decision beside live and draft
    page.goto("/review/")
    case_page = page.locator("table a[href^='/review/']").first.get_attribute("href")
    assert_accessible(page, case_page)
    for path in ("/review/", case_page):  # with the keyboard shortcuts listed ("?" opens the list)
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            page.goto(path)
            page.keyboard.press("?")
            assert page.locator("#shortcuts[open]").is_visible()
            assert violations(page) == [], f"{path} with its shortcuts listed ({scheme})"


def test_rule_editor_with_a_condition_and_as_json_logic(page: Page, console_admin, tracked):
    # A condition row: the grouped field picker with its search box (console.js), operator and value.
    page.goto("/console/actions/payout/rules")
    editor = page.locator("#rules a.rule-name").first.get_attribute("href")
    assert_accessible(page, editor)
    assert page.get_by_role("searchbox", name="Search fields").is_visible()
    # As JsonLogic, refused while typing: the message, and the path behind "Technical details", opened.
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        page.goto(editor)
        # Typing before htmx has settled the swapped-in editor would not reach its keyup listener.
        after_htmx(page, "/console/actions/payout/rules/builder",
                   lambda: page.get_by_role("button", name="Edit as JsonLogic").click())
        page.get_by_label("JsonLogic expression").fill('{"and": [{"bogus": [1, 2]}]}')
        page.get_by_label("JsonLogic expression").press("End")  # a keyup: the live check runs
        page.locator("#conditions-status details summary").click()
        assert violations(page) == [], f"{editor} as JsonLogic, refused ({scheme})"


def test_sign_in_page(page: Page, live_server):
    assert_accessible(page, "/auth/login")


def test_hosted_pages(page: Page, tracked):
    assert_accessible(page, tracked["challenge"])  # enrolment: passkey first, authenticator app instead
    assert_accessible(page, tracked["review"])  # "being reviewed", reloading itself
    assert_accessible(page, "/challenge?token=not-a-token")  # the error page

    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        page.goto(tracked["challenge"])
        page.get_by_role("button", name=re.compile("Use an authenticator app")).click()
        page.wait_for_selector("#totp-secret")
        assert violations(page) == [], f"authenticator-app set-up ({scheme})"


def test_the_arabic_hosted_page_reads_right_to_left(page: Page, tracked):
    """?lang=ar: the page in Arabic, laid out mirrored (the switcher's row runs from the right), and still AA."""
    arabic = tracked["challenge"] + "&lang=ar"
    assert_accessible(page, arabic)

    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    assert page.locator("h1").inner_text() == "أعدّ طريقة للتحقق من هويتك"
    first, second = (page.locator("nav.languages li").nth(i).bounding_box() for i in (0, 1))
    assert first["x"] > second["x"]
