"""Magic links in real Chromium: the hosted page from "Send link" to a validated result token while
the link is confirmed on another device (a second browser context), and @authsignal/browser 1.16.0's
``emailML.enroll / challenge / checkVerificationStatus``. Links come from the message the live
server's SMTP server (aiosmtpd on 127.0.0.1) received."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, LiveServer, run, watch_errors
from tests.e2e.test_accessibility import SCHEMES, violations
from tests.e2e.test_challenge_flows import assert_valid, token_at_callback
from tests.factories import make_action

ACTION = "change-email"


@pytest.fixture(autouse=True)
def link_action(live_server: LiveServer, tenant) -> None:
    make_action(live_server.app, tenant.id, ACTION, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                verification_methods=["AUTHENTICATOR_APP", "EMAIL_MAGIC_LINK"])


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """Another device: a browser context of its own (no cookies, no storage shared with ``page``)."""
    context = browser.new_context()
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context.new_page()
    context.close()


def confirm_on(phone: Page, link: str) -> list[str]:
    """Open the link and press Confirm, as a person does on their phone; the errors that page saw."""
    errors = watch_errors(phone)
    phone.goto(link)
    expect(phone.locator("h1")).to_have_text("Confirm it's you")
    phone.get_by_role("button", name="Confirm").click()
    expect(phone.locator("h1")).to_have_text("You're verified")
    return errors


def test_hosted_page_magic_link_ends_in_a_validated_result_token(page: Page, phone: Page, sdk, live_server, mail_server,
                                                                 browser_errors):
    sdk.enroll_verified_authenticator("e2e-lena", {"verificationMethod": "EMAIL_MAGIC_LINK", "email": "lena@example.com"})
    tracked = sdk.track("e2e-lena", ACTION, {"redirectUrl": live_server.callback_url})
    assert tracked["state"] == "CHALLENGE_REQUIRED"

    page.goto(tracked["url"])
    expect(page.locator("#send-to")).to_have_text("We will send a link to l***@example.com.")
    page.get_by_role("button", name="Send link").click()
    expect(page.locator("#sent-to")).to_have_text("We sent a link to l***@example.com.")
    expect(page.locator("#link-status")).to_have_attribute("data-state", "waiting")
    [message] = mail_server.wait_for(1)
    assert message.envelope_to == ["lena@example.com"]

    assert confirm_on(phone, message.link) == []

    # The first tab notices by itself (its htmx poll) and carries on: recovery codes, then the app.
    expect(page.locator("h1")).to_have_text("Save your recovery codes")
    page.locator("#continue").click()
    assert_valid(sdk, token_at_callback(page, live_server), "e2e-lena", "EMAIL_MAGIC_LINK")
    assert browser_errors == []


def test_browser_sdk_email_magic_link_enrol_challenge_and_check_status(sdk_page: Page, phone: Page, sdk, live_server,
                                                                       mail_server, browser_errors):
    page = sdk_page
    tracked = sdk.track("e2e-mia", ACTION, {"redirectUrl": live_server.callback_url})
    run(page, "client.setToken(arg); return {}", tracked["token"])

    enrolled = run(page, "return await client.emailML.enroll({email: arg})", "mia@example.com")
    assert enrolled["data"]["userId"] == "e2e-mia"
    # checkVerificationStatus polls every second until the link is confirmed: start it, then confirm.
    page.evaluate("() => { window.verified = client.emailML.checkVerificationStatus() }")
    assert confirm_on(phone, mail_server.wait_for(1)[0].link) == []
    verified = run(page, "return await window.verified")
    assert verified["data"]["isVerified"] is True
    assert verified["data"]["userAuthenticator"]["email"] == "mia@example.com"
    assert_valid(sdk, verified["data"]["token"], "e2e-mia", "EMAIL_MAGIC_LINK")

    # A later action: the enrolled address gets a link through emailML.challenge().
    run(page, "client.setToken(arg); return {}", sdk.track("e2e-mia", ACTION, {})["token"])
    challenged = run(page, "return await client.emailML.challenge()")
    assert challenged["data"]["challengeId"]
    page.evaluate("() => { window.verified = client.emailML.checkVerificationStatus() }")
    confirm_on(phone, mail_server.wait_for(2)[1].link)
    again = run(page, "return await window.verified")
    assert again["data"]["isVerified"] is True
    assert_valid(sdk, again["data"]["token"], "e2e-mia", "EMAIL_MAGIC_LINK")
    assert browser_errors == []


def test_the_link_pages_meet_wcag_21_aa(page: Page, phone: Page, sdk, mail_server):
    """The waiting page (polling) and the pages the link opens, in both colour schemes (axe-core)."""
    sdk.enroll_verified_authenticator("e2e-noa", {"verificationMethod": "EMAIL_MAGIC_LINK", "email": "noa@example.com"})
    page.goto(sdk.track("e2e-noa", ACTION, {})["url"])
    page.get_by_role("button", name="Send link").click()
    expect(page.locator("#link-status")).to_have_attribute("data-state", "waiting")
    phone.goto(mail_server.wait_for(1)[0].link)

    for scheme in SCHEMES:
        for shown, what in ((page, "waiting for the link"), (phone, "the link's confirmation")):
            shown.emulate_media(color_scheme=scheme)
            assert violations(shown) == [], f"{what} ({scheme})"
    phone.get_by_role("button", name="Confirm").click()
    expect(phone.locator("h1")).to_have_text("You're verified")
    for scheme in SCHEMES:
        phone.emulate_media(color_scheme=scheme)
        assert violations(phone) == [], f"confirmed ({scheme})"
