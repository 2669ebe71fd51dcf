"""An invited teammate's first sign-in in real Chromium: the admin invites, the newcomer signs in with
the first password, chooses their own on a page that stays put while they type, and lands where
their role starts. (The page once reloaded itself several times a second: the nav badge's poll was
answered with a redirect to the password page, which polled again.)"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ConsoleAccount, LiveServer, fill_console_login

OWN_PASSWORD = "a passphrase only I know"
LANDING = {"admin": "/console/overview", "reviewer": "/review/"}


def invite(page: Page, email: str, role: str) -> str:
    """The admin's Settings → Team → Invite; returns the first password shown once."""
    page.goto("/console/settings/team/new")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Role").select_option(role)
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_role("heading", name=f"{email} can now sign in")).to_be_visible()
    return page.locator("pre.secret").inner_text().strip()


@pytest.mark.parametrize("role", ["reviewer", "admin"])
def test_an_invited_teammate_chooses_their_password_and_lands_on_their_home_page(
    page: Page, console_admin: ConsoleAccount, live_server: LiveServer, browser_errors, role
):
    email = f"new-{role}@example.com"
    first_password = invite(page, email, role)
    page.get_by_role("button", name="Sign out").click()

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    fill_console_login(page, ConsoleAccount(id="", email=email, password=first_password))
    page.wait_for_url(f"{live_server.url}/console/account/password")
    expect(page.get_by_role("heading", name="Choose your own password")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)

    # Typing slowly: a page that reloaded itself would lose what was typed.
    requests.clear()
    page.get_by_label("Current password").press_sequentially(first_password, delay=20)
    page.wait_for_timeout(1_000)
    assert [url for url in requests if "/console/" in url or "/review/" in url] == []
    expect(page.get_by_label("Current password")).to_have_value(first_password)
    page.get_by_label("New password", exact=True).fill(OWN_PASSWORD)
    page.get_by_label("New password again").fill(OWN_PASSWORD)
    page.get_by_role("button", name="Change password").click()

    page.wait_for_url(f"{live_server.url}{LANDING[role]}")
    expect(page.locator(".flash")).to_contain_text("Your password is set.")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    fill_console_login(page, ConsoleAccount(id="", email=email, password=OWN_PASSWORD))
    page.wait_for_url(f"{live_server.url}{LANDING[role]}")
    assert browser_errors == []
