"""Email codes in real Chromium: the hosted page from "Try another way" to a validated result token,
and @authsignal/browser 1.16.0's ``email.enroll / challenge / verify``. Codes come from the message
the live server's SMTP server (aiosmtpd on 127.0.0.1) received."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, run
from tests.e2e.test_challenge_flows import assert_valid, token_at_callback
from tests.factories import make_action

ACTION = "change-email"


@pytest.fixture(autouse=True)
def email_action(live_server: LiveServer, tenant) -> None:
    make_action(live_server.app, tenant.id, ACTION, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                verification_methods=["AUTHENTICATOR_APP", "EMAIL_OTP"])


def test_hosted_page_email_code_ends_in_a_validated_result_token(page: Page, sdk, live_server, mail_server, browser_errors):
    sdk.enroll_verified_authenticator("e2e-jane", {"verificationMethod": "EMAIL_OTP", "email": "jane@example.com"})
    tracked = sdk.track("e2e-jane", ACTION, {"redirectUrl": live_server.callback_url})
    assert tracked["state"] == "CHALLENGE_REQUIRED"

    page.goto(tracked["url"])
    expect(page.locator("#send-to")).to_have_text("We will send a code to j***@example.com.")
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#sent-to")).to_have_text("We sent a code to j***@example.com.")
    [message] = mail_server.wait_for(1)
    assert message.envelope_to == ["jane@example.com"]
    page.get_by_label("Enter the 6-digit code from the email").fill(message.code)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("h1")).to_have_text("Save your recovery codes")
    page.locator("#continue").click()

    assert_valid(sdk, token_at_callback(page, live_server), "e2e-jane", "EMAIL_OTP")
    assert browser_errors == []


def test_browser_sdk_email_enrol_challenge_and_verify(sdk_page: Page, sdk, live_server, mail_server, browser_errors):
    page = sdk_page
    tracked = sdk.track("e2e-emma", ACTION, {"redirectUrl": live_server.callback_url})
    run(page, "client.setToken(arg); return {}", tracked["token"])

    enrolled = run(page, "return await client.email.enroll({email: arg})", "emma@example.com")
    assert enrolled["data"]["userId"] == "e2e-emma"
    first = mail_server.wait_for(1)[0].code
    refused = run(page, "return await client.email.verify({code: arg})", f"{(int(first) + 1) % 10**6:06d}")
    assert refused["data"] == {"isVerified": False, "failureReason": "CODE_INVALID_OR_EXPIRED"}
    verified = run(page, "return await client.email.verify({code: arg})", first)
    assert verified["data"]["isVerified"] is True
    assert verified["data"]["userAuthenticator"]["email"] == "emma@example.com"
    assert_valid(sdk, verified["data"]["token"], "e2e-emma", "EMAIL_OTP")

    # A later action: the enrolled address gets a code through email.challenge().
    run(page, "client.setToken(arg); return {}", sdk.track("e2e-emma", ACTION, {})["token"])
    challenged = run(page, "return await client.email.challenge()")
    assert challenged["data"]["challengeId"]
    again = run(page, "return await client.email.verify({code: arg})", mail_server.wait_for(2)[1].code)
    assert again["data"]["isVerified"] is True
    assert_valid(sdk, again["data"]["token"], "e2e-emma", "EMAIL_OTP")
    assert browser_errors == []
