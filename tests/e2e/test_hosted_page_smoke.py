"""Smoke tests of the browser harness: the hosted page opens in real Chromium, and the virtual
authenticator is in place."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def test_tracked_action_url_opens_the_hosted_page(page: Page, sdk, live_server, browser_errors):
    url = sdk.track("e2e-alice", "withdraw-funds")["url"]
    assert url.startswith(live_server.url + "/challenge?token=")
    response = page.goto(url)

    assert response is not None and response.status == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("h1")).not_to_be_empty()
    assert browser_errors == []  # nothing the CSP blocked, no script error, no missing asset


def test_a_garbage_token_shows_an_invalid_link_page(page: Page):
    response = page.goto("/challenge?token=garbage")

    assert response is not None and response.status == 400
    expect(page.locator("h1")).to_have_text("This link is not valid")


def test_virtual_authenticator_is_a_user_verifying_platform_authenticator(page: Page, virtual_authenticator):
    page.goto("/healthz")

    assert page.evaluate("window.isSecureContext") is True
    assert page.evaluate("PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable()") is True
    assert virtual_authenticator.credentials() == []

