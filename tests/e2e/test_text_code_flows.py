"""SMS codes in real Chromium: the hosted page enrols a number and passes with its code, ending in a
validated result token; and @authsignal/browser 1.16.0's ``sms.enroll / challenge / verify``. With no
Twilio account the live server keeps texts in the development outbox, where the code is read, as
the console shows it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.services.delivery import messages
from tests.e2e.conftest import LiveServer, run
from tests.e2e.test_accessibility import assert_accessible, violations
from tests.e2e.test_challenge_flows import assert_valid, token_at_callback
from tests.factories import make_action

ACTION = "change-phone"


@pytest.fixture(autouse=True)
def text_action(live_server: LiveServer, tenant) -> None:
    make_action(live_server.app, tenant.id, ACTION, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                verification_methods=["SMS"])


def outbox_codes(live_server: LiveServer, tenant_id: str, number: str) -> list[str]:
    """The codes the development outbox holds for ``number``, oldest first."""
    with live_server.app.app_context():
        listed = messages.recent_messages(tenant_id, settings=live_server.app.config["TOLLGATE"])
        return [re.search(r"\b\d{6}\b", item.content["body"]).group(0) for item in reversed(listed)
                if item.message.recipient == number and item.content]


def test_hosted_page_enrols_a_number_and_its_code_ends_in_a_validated_result_token(page: Page, sdk, live_server, tenant,
                                                                                  browser_errors):
    tracked = sdk.track("e2e-sam", ACTION, {"redirectUrl": live_server.callback_url})

    page.goto(tracked["url"])
    page.get_by_label("Or get codes by text message").fill("+44 7400 123456")
    page.get_by_role("button", name="Send a code").click()
    expect(page.locator("h1")).to_have_text("Confirm your phone number")
    expect(page.locator("#sent-to")).to_have_text("We sent a code to +44 ••• ••• 3456.")
    [code] = outbox_codes(live_server, tenant.id, "+447400123456")
    page.get_by_label("Enter the 6-digit code from the text message").fill(code)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("h1")).to_have_text("Save your recovery codes")
    page.locator("#continue").click()

    assert_valid(sdk, token_at_callback(page, live_server), "e2e-sam", "SMS")
    assert browser_errors == []


def test_browser_sdk_sms_enrol_challenge_and_verify(sdk_page: Page, sdk, live_server, tenant, browser_errors):
    page = sdk_page
    run(page, "client.setToken(arg); return {}", sdk.track("e2e-sue", ACTION, {})["token"])

    enrolled = run(page, "return await client.sms.enroll({phoneNumber: arg})", "+4915112345678")
    assert enrolled["data"]["userId"] == "e2e-sue"
    [first] = outbox_codes(live_server, tenant.id, "+4915112345678")
    refused = run(page, "return await client.sms.verify({code: arg})", f"{(int(first) + 1) % 10**6:06d}")
    assert refused["data"] == {"isVerified": False, "failureReason": "CODE_INVALID_OR_EXPIRED"}
    verified = run(page, "return await client.sms.verify({code: arg})", first)
    assert verified["data"]["userAuthenticator"]["phoneNumber"] == "+4915112345678"
    assert_valid(sdk, verified["data"]["token"], "e2e-sue", "SMS")

    run(page, "client.setToken(arg); return {}", sdk.track("e2e-sue", ACTION, {})["token"])
    assert run(page, "return await client.sms.challenge()")["data"]["challengeId"]
    again = run(page, "return await client.sms.verify({code: arg})", outbox_codes(live_server, tenant.id,
                                                                                  "+4915112345678")[-1])
    assert again["data"]["isVerified"] is True
    assert browser_errors == []


def test_the_number_enrolment_and_code_pages_pass_the_accessibility_checks(page: Page, sdk, live_server):
    path = sdk.track("e2e-ann", ACTION, {})["url"].removeprefix(live_server.url)
    assert_accessible(page, path)  # the number's field, its hint

    page.get_by_label("Or get codes by text message").fill("07400 123456")
    page.get_by_role("button", name="Send a code").click()
    expect(page.locator("#phone-error")).to_have_text(
        "Enter the number with its country code, for example +44 7400 123456.")
    assert violations(page) == [], "a refused number"
    page.get_by_label("Or get codes by text message").fill("+44 7400 123456")
    page.get_by_role("button", name="Send a code").click()
    expect(page.locator("#sent-to")).to_be_visible()
    assert violations(page) == [], "the code's page"


def test_browser_sdk_whatsapp_challenge_and_verify(sdk_page: Page, sdk, live_server, tenant, browser_errors):
    make_action(live_server.app, tenant.id, "pay-by-chat", default_outcome="CHALLENGE", verification_methods=["WHATSAPP"])
    sdk.enroll_verified_authenticator("e2e-wes", {"verificationMethod": "WHATSAPP", "phoneNumber": "+61412345678"})
    run(sdk_page, "client.setToken(arg); return {}", sdk.track("e2e-wes", "pay-by-chat", {})["token"])

    assert run(sdk_page, "return await client.whatsapp.challenge()")["data"]["challengeId"]
    [code] = outbox_codes(live_server, tenant.id, "+61412345678")
    verified = run(sdk_page, "return await client.whatsapp.verify({code: arg})", code)

    assert verified["data"]["isVerified"] is True
    assert_valid(sdk, verified["data"]["token"], "e2e-wes", "WHATSAPP")
    assert browser_errors == []
