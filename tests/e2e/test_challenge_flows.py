"""The hosted challenge pages end to end: real Chromium, a virtual authenticator, and the official
Python SDK tracking and validating over real HTTP against the live server.

Every flow starts the way an integrator's backend does (``sdk.track`` with a ``redirectUrl``),
sends the browser to the ``url`` it returns, and ends where the integrator's backend ends:
``sdk.validate_challenge`` with the token the browser came back with.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from authsignal.client import ApiException
from playwright.sync_api import FrameLocator, Page, expect
from sqlalchemy import func, select

from app.domain.tokens import ActionRef, TokenKind, derive_signing_key, issue_token
from app.extensions import db
from app.models import UserAction
from app.models.base import utcnow
from tests.e2e.conftest import LiveServer, VirtualAuthenticator, run, watch_errors
from tests.factories import make_action

ACTION = "withdraw-funds"
NOT_RIGHT = "That code is not right, or it was already used."


@pytest.fixture(autouse=True)
def challenge_action(live_server: LiveServer, tenant) -> None:
    """An action that always asks for a challenge, and makes unenrolled users enrol first."""
    make_action(live_server.app, tenant.id, ACTION, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")


def track(sdk, live_server: LiveServer, user: str) -> dict:
    tracked = sdk.track(user, ACTION, {"redirectUrl": live_server.callback_url})
    assert tracked["state"] == "CHALLENGE_REQUIRED"
    return tracked


def token_at_callback(page: Page, live_server: LiveServer) -> str:
    """Wait until the browser is back at the integrator's page; return the ``token`` it brought."""
    page.wait_for_url(lambda url: url.startswith(live_server.callback_url + "?"))
    expect(page.locator("h1")).to_have_text("Back at the app")
    return parse_qs(urlsplit(page.url).query)["token"][0]


def enrol_passkey(page: Page, sdk, live_server: LiveServer, user: str) -> str:
    """Track, create a passkey on the enrol page, pass the recovery codes; returns the result token."""
    page.goto(track(sdk, live_server, user)["url"])
    expect(page.locator("#passkey")).to_have_attribute("data-ceremony", "register")
    page.get_by_role("button", name="Create a passkey").click()
    expect(page.locator("h1")).to_have_text("Save your recovery codes")
    expect(page.locator("#recovery-codes code")).to_have_count(10)
    page.locator("#continue").click()
    return token_at_callback(page, live_server)


def enrol_authenticator_app(page: Page | FrameLocator) -> tuple[str, str, list[str]]:
    """On an open enrol page (or frame): set up an authenticator app.
    Returns (secret, the code used, recovery codes)."""
    page.get_by_role("button", name="Use an authenticator app instead").click()
    expect(page.locator("h1")).to_have_text("Set up your authenticator app")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")  # shown in groups of four
    code = pyotp.TOTP(secret).now()
    page.locator("#code").fill(code)
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("h1")).to_have_text("Save your recovery codes")
    recovery_codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(recovery_codes) == 10 and len(set(recovery_codes)) == 10
    return secret, code, recovery_codes


def assert_valid(sdk, token: str, user: str, method: str) -> dict:
    validation = sdk.validate_challenge({"token": token})
    assert validation["is_valid"] is True, validation
    assert (validation["user_id"], validation["verification_method"]) == (user, method)
    assert validation["state"] == "CHALLENGE_SUCCEEDED"
    return validation


def refused_codes(errors: list[str]) -> tuple[list[str], list[str]]:
    """Split ``browser_errors`` into the refused code forms (answered 400 on purpose, which Chromium
    also logs to the console) and everything else, which is a real problem."""
    def is_refusal(error: str) -> bool:
        return ("status of 400" in error or error.startswith("HTTP 400: POST ")) and (
            "/challenge/totp" in error or "/challenge/recovery" in error)
    refusals = [e for e in errors if is_refusal(e) and e.startswith("HTTP ")]
    return refusals, [e for e in errors if not is_refusal(e)]


# ------------------------------------------------------------------------------------------------
# 1. Passkey enrolment
# ------------------------------------------------------------------------------------------------
def test_passkey_enrolment_redirects_with_a_result_token_that_validates_once(
    page: Page, sdk, live_server, virtual_authenticator: VirtualAuthenticator, browser_errors
):
    token = enrol_passkey(page, sdk, live_server, "e2e-paula")

    assert_valid(sdk, token, "e2e-paula", "PASSKEY")
    assert sdk.validate_challenge({"token": token})["is_valid"] is False  # a result token works once
    # The one passkey the authenticator made is the one the server registered for the user.
    assert len(virtual_authenticator.credentials()) == 1
    registered = [a["webauthn_credential"]["credential_id"] for a in sdk.get_authenticators("e2e-paula")
                  if a["verification_method"] == "PASSKEY"]
    assert registered == virtual_authenticator.credential_ids()
    assert browser_errors == []


# ------------------------------------------------------------------------------------------------
# 2. Passkey sign-in, and a passkey that cannot verify the user
# ------------------------------------------------------------------------------------------------
def test_enrolled_user_signs_in_with_the_passkey_and_a_failed_verification_leaves_the_action_open(
    page: Page, sdk, live_server, virtual_authenticator: VirtualAuthenticator, browser_errors
):
    enrol_passkey(page, sdk, live_server, "e2e-pete")

    # A second action: the verify page offers the passkey, and it is enough.
    page.goto(track(sdk, live_server, "e2e-pete")["url"])
    expect(page.locator("h1")).to_have_text("Verify it's you")
    expect(page.locator("#passkey")).to_have_attribute("data-ceremony", "authenticate")
    page.get_by_role("button", name="Use your passkey").click()
    assert_valid(sdk, token_at_callback(page, live_server), "e2e-pete", "PASSKEY")
    assert virtual_authenticator.credentials()[0]["signCount"] >= 2  # one registration, one assertion

    # A third action, and this time the authenticator cannot verify the user.
    third = track(sdk, live_server, "e2e-pete")
    page.goto(third["url"])
    virtual_authenticator.set_user_verified(False)
    page.get_by_role("button", name="Use your passkey").click()

    expect(page.locator("#passkey")).to_have_attribute("data-state", "error")
    expect(page.locator("#passkey-status")).to_contain_text("could not verify you")
    expect(page.locator("#passkey-status")).to_have_class("status error")
    expect(page.get_by_role("button", name="Use your passkey")).to_be_enabled()  # free to try again
    assert page.url == third["url"]
    assert sdk.get_action("e2e-pete", ACTION, third["idempotency_key"])["state"] == "CHALLENGE_REQUIRED"
    assert browser_errors == []


# ------------------------------------------------------------------------------------------------
# 3. Authenticator app and recovery codes
# ------------------------------------------------------------------------------------------------
def test_authenticator_app_enrolment_replay_and_a_recovery_code_that_works_once(
    page: Page, sdk, live_server, browser_errors
):
    page.goto(track(sdk, live_server, "e2e-tess")["url"])
    _, code, recovery_codes = enrol_authenticator_app(page)
    saved = recovery_codes[0]
    page.locator("#continue").click()
    assert_valid(sdk, token_at_callback(page, live_server), "e2e-tess", "AUTHENTICATOR_APP")

    # Next action: the code that confirmed the enrolment (same time-step) is a replay.
    replay = track(sdk, live_server, "e2e-tess")
    page.goto(replay["url"])
    expect(page.locator("h1")).to_have_text("Verify it's you")
    page.locator("#code").fill(code)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text(NOT_RIGHT)
    expect(page.locator("#code")).to_have_attribute("aria-invalid", "true")

    # Try another way: the saved recovery code finishes this same action.
    page.get_by_role("navigation", name="Try another way").get_by_role("link", name="Recovery code").click()
    page.get_by_label("Enter one of your recovery codes").fill(saved)
    page.get_by_role("button", name="Verify").click()
    validation = assert_valid(sdk, token_at_callback(page, live_server), "e2e-tess", "RECOVERY_CODE")
    assert validation["idempotency_key"] == replay["idempotency_key"]

    # A further action: that recovery code is spent.
    spent = track(sdk, live_server, "e2e-tess")
    page.goto(spent["url"])
    page.get_by_role("navigation", name="Try another way").get_by_role("link", name="Recovery code").click()
    page.get_by_label("Enter one of your recovery codes").fill(saved)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text(NOT_RIGHT)
    assert sdk.get_action("e2e-tess", ACTION, spent["idempotency_key"])["state"] == "CHALLENGE_REQUIRED"
    refusals, others = refused_codes(browser_errors)
    assert [r.rsplit("/", 1)[1] for r in refusals] == ["totp", "recovery"]  # the replay, the spent code
    assert others == []


# ------------------------------------------------------------------------------------------------
# 4. Links that cannot work
# ------------------------------------------------------------------------------------------------
def test_an_expired_link_says_so(page: Page, sdk, live_server, tenant):
    tracked = track(sdk, live_server, "e2e-eve")
    settings = live_server.app.config["TOLLGATE"]
    stale = issue_token(
        ActionRef(tenant_id=tenant.id, user_id="e2e-eve", action_code=ACTION,
                  idempotency_key=tracked["idempotency_key"]),
        kind=TokenKind.CLIENT,
        scope=("read:authenticators",),
        signing_key=derive_signing_key(settings.secret_key),
        issuer=live_server.url,
        now=utcnow() - timedelta(seconds=settings.client_token_ttl + 60),
        ttl_seconds=settings.client_token_ttl,
    )

    response = page.goto(f"{live_server.url}/challenge?token={stale}")

    assert response is not None and response.status == 400
    expect(page.locator("h1")).to_have_text("This link has expired")
    expect(page.locator("#passkey")).to_have_count(0)
    # The fresh link for the same action still opens the challenge.
    page.goto(tracked["url"])
    expect(page.locator("h1")).to_have_text("Set up a way to verify it's you")


def test_a_redirect_url_off_the_allow_list_is_refused_at_track_time(sdk, live_server):
    with pytest.raises(ApiException) as refused:
        sdk.track("e2e-mallory", ACTION, {"redirectUrl": "https://evil.example/steal"})

    assert (refused.value.status_code, refused.value.error_code) == (400, "redirect_url_not_allowed")
    # Refused up front: no action was recorded, so there is no challenge page to open at all.
    with live_server.app.app_context():
        count = db.session.scalar(select(func.count()).select_from(UserAction).where(UserAction.user_id == "e2e-mallory"))
    assert count == 0


@pytest.mark.parametrize("token", ["garbage", "tampered"])
def test_a_link_with_a_bad_token_is_not_valid(page: Page, sdk, live_server, token):
    if token == "tampered":  # a real track token whose signature no longer matches
        real = track(sdk, live_server, "e2e-trudy")["token"]
        token = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")

    response = page.goto(f"/challenge?token={token}")

    assert response is not None and response.status == 400
    expect(page.locator("h1")).to_have_text("This link is not valid")


# ------------------------------------------------------------------------------------------------
# 5. Popup mode
# ------------------------------------------------------------------------------------------------
OPENER_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Integrator</title>
<link rel="icon" href="data:,"></head><body>
<button id="open" type="button">Verify in a popup</button>
<script>
  window.received = [];
  window.addEventListener("message", (event) => window.received.push({origin: event.origin, data: event.data}));
  document.getElementById("open").addEventListener("click", () => window.open(window.challengeUrl, "authsignal"));
</script></body></html>"""


def test_popup_mode_hands_the_result_token_to_the_opener(page: Page, sdk, live_server, browser_errors):
    page.route(live_server.url + "/test-opener", lambda route: route.fulfill(body=OPENER_PAGE, content_type="text/html"))
    page.goto("/test-opener")
    page.evaluate("url => { window.challengeUrl = url }", track(sdk, live_server, "e2e-polly")["url"] + "&mode=popup")

    with page.expect_popup() as opened:
        page.get_by_role("button", name="Verify in a popup").click()
    popup = opened.value
    popup_errors = watch_errors(popup)
    enrol_authenticator_app(popup)
    with popup.expect_event("close"):  # the page closes itself once the opener has the token
        popup.locator("#continue").click()

    page.wait_for_function("window.received.some(m => typeof m.data === 'string' && m.data.includes('CLOSE'))")
    received = page.evaluate("window.received")
    assert {m["origin"] for m in received} == {live_server.url}
    # Every popup page announces itself (READY, then its height) so the SDK can show and size it.
    assert {"event": "AUTHSIGNAL_READY"} in [json.loads(m["data"]) for m in received if isinstance(m["data"], str)][:-1]
    assert any(isinstance(m["data"], dict) and m["data"].get("height") for m in received)
    data = json.loads(received[-1]["data"])  # a JSON string, as @authsignal/browser expects
    assert data["event"] == "AUTHSIGNAL_CLOSE_POPUP"
    assert_valid(sdk, data["token"], "e2e-polly", "AUTHENTICATOR_APP")
    assert browser_errors == [] and popup_errors == []


# ------------------------------------------------------------------------------------------------
# 6. The official browser SDK, @authsignal/browser 1.16.0, against the client API
# ------------------------------------------------------------------------------------------------
def test_browser_sdk_passkey_sign_up_and_every_kind_of_sign_in(
    sdk_page: Page, sdk, live_server, virtual_authenticator: VirtualAuthenticator, browser_errors
):
    page = sdk_page
    tracked = track(sdk, live_server, "e2e-sid")

    signed_up = run(page, "client.setToken(arg); return await client.passkey.signUp({token: arg, username: 'sid'})",
                    tracked["token"])
    assert_valid(sdk, signed_up["data"]["token"], "e2e-sid", "PASSKEY")
    assert len(virtual_authenticator.credentials()) == 1

    # Usernameless, with the tenant id only (Basic): the passkey says who it is.
    usernameless = run(page, "return await client.passkey.signIn({action: 'sign-in'})")
    assert usernameless["data"]["userId"] == "e2e-sid"
    validation = assert_valid(sdk, usernameless["data"]["token"], "e2e-sid", "PASSKEY")
    assert validation["action_code"] == "sign-in"

    # With a track token for the user.
    with_token = run(page, "return await client.passkey.signIn({token: arg})", track(sdk, live_server, "e2e-sid")["token"])
    assert_valid(sdk, with_token["data"]["token"], "e2e-sid", "PASSKEY")

    # Conditional mediation (passkey autofill on the username field): the virtual authenticator
    # answers it without a click.
    autofill = run(page, "return await client.passkey.signIn({autofill: true})")
    assert autofill["data"]["userId"] == "e2e-sid"
    assert_valid(sdk, autofill["data"]["token"], "e2e-sid", "PASSKEY")
    assert browser_errors == []


def test_browser_sdk_authenticator_app_enrol_and_verify(sdk_page: Page, sdk, live_server, browser_errors):
    page = sdk_page
    run(page, "client.setToken(arg); return {}", track(sdk, live_server, "e2e-tom")["token"])

    enrolled = run(page, "return await client.totp.enroll()")
    secret = enrolled["data"]["secret"]
    assert enrolled["data"]["uri"].startswith("otpauth://totp/")
    refused = run(page, "return await client.totp.verify({code: arg})", "000000")
    assert refused["data"]["isVerified"] is False
    verified = run(page, "return await client.totp.verify({code: arg})", pyotp.TOTP(secret).now())

    assert verified["data"]["isVerified"] is True
    assert_valid(sdk, verified["data"]["token"], "e2e-tom", "AUTHENTICATOR_APP")
    assert browser_errors == []


@pytest.mark.parametrize("mode", ["popup", "window"])
def test_browser_sdk_launch_gets_the_token_back_from_the_hosted_page(
    sdk_page: Page, sdk, live_server, browser_errors, mode
):
    """``authsignal.launch(url, {mode})``: "popup" frames the hosted page in a dialog on the
    integrator's page, "window" opens it in a new window; both wait for AUTHSIGNAL_CLOSE_POPUP."""
    page = sdk_page
    url = track(sdk, live_server, "e2e-lana")["url"]
    launch = "([url, mode]) => { window.launched = client.launch(url, {mode}) }"

    if mode == "popup":
        page.evaluate(launch, [url, mode])
        hosted = page.frame_locator("#__authsignal-popup-iframe")
    else:
        with page.expect_popup() as opened:
            page.evaluate(launch, [url, mode])
        hosted = opened.value
    enrol_authenticator_app(hosted)
    hosted.locator("#continue").click()

    result = page.evaluate("window.launched")
    assert_valid(sdk, result["token"], "e2e-lana", "AUTHENTICATOR_APP")
    if mode == "window" and not hosted.is_closed():  # the SDK closes the window it opened
        hosted.wait_for_event("close")
    assert browser_errors == []

