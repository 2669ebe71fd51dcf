"""The tenant's brand on the hosted pages in real Chromium: axe on themed pages (light and dark), the
console's live preview, the enrolment choice at phone width, and keeping the recovery codes (and the
key), also when the browser refuses to copy them."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from app.domain.decision import ActionState
from app.domain.theme import FONT_STACKS, Theme
from app.extensions import db
from app.models import Tenant, UserAction
from tests.e2e.conftest import LiveServer
from tests.e2e.test_accessibility import assert_accessible, violations
from tests.factories import make_action

ACTION = "withdraw-funds"


@pytest.fixture(autouse=True)
def challenge_action(live_server: LiveServer, tenant) -> None:
    make_action(live_server.app, tenant.id, ACTION, name="Withdraw funds", default_outcome="CHALLENGE",
                unenrolled_policy="REQUIRE_ENROLLMENT")


THEMES = {
    # A warm light page, square corners, a serif.
    "light": Theme(primary_color="#0b5cad", background_color="#fbf7ef", text_color="#2b2b2b", radius=0, font="serif",
                   page_title="Acme Bank"),
    # A dark page whatever the device's scheme.
    "dark": Theme(primary_color="#ffb000", button_text_color="#1a1a1a", background_color="#101820",
                  text_color="#f0f0f0", radius=16, font="rounded"),
    # Only a primary colour: the page still follows the device's light or dark scheme.
    "primary only": Theme(primary_color="#6b2fa3"),
}


def challenge_url(sdk, live_server: LiveServer, user: str = "ann") -> str:
    return sdk.track(user, ACTION, {"redirectUrl": live_server.callback_url})["url"]


def set_theme(live_server: LiveServer, tenant_id: str, theme: Theme) -> None:
    with live_server.app.app_context():
        db.session.get(Tenant, tenant_id).theme = theme.stored()
        db.session.commit()


def set_state(live_server: LiveServer, state: ActionState) -> None:
    with live_server.app.app_context():
        db.session.execute(update(UserAction).values(state=state))
        db.session.commit()


# The enrolment page's way to the authenticator app, in each language a test opens it in.
USE_AN_APP = {"en": "Use an authenticator app instead", "de": "Stattdessen eine Authenticator-App verwenden"}
COPY_FAILED = "Copying did not work. The text is selected: copy it yourself."


def open_the_key(page: Page, sdk, live_server: LiveServer, language: str = "en") -> str:
    """From a new challenge to the authenticator app's set-up; returns the key as shown, in groups."""
    url = challenge_url(sdk, live_server)
    page.goto(url if language == "en" else f"{url}&lang={language}")
    # The clipboard refuses a page that is not focused ("Document is not focused"), as a background
    # tab would be; a person clicking Copy has the page in front, and so must this one.
    page.bring_to_front()
    page.get_by_role("button", name=USE_AN_APP[language]).click()
    return page.locator("#totp-secret").inner_text()


def confirm_the_key(page: Page, secret: str) -> list[str]:
    """Confirm the app with its first code; returns the recovery codes the next page shows."""
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("h1")).to_have_text("Save your recovery codes")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    return codes


def deny_the_clipboard(page: Page, origin: str) -> None:
    """Deny the origin the clipboard, as a person or the browser's policy can: Chromium then rejects
    writeText ("Write permission denied.") even for a page in front, on a click. The session stays
    attached: detaching it would drop the denial."""
    cdp = page.context.new_cdp_session(page)
    context_id = cdp.send("Target.getTargetInfo")["targetInfo"]["browserContextId"]
    cdp.send("Browser.setPermission", {"permission": {"name": "clipboard-write"}, "setting": "denied",
                                       "origin": origin, "browserContextId": context_id})


def selected_text(page: Page) -> str:
    return page.evaluate("getSelection().toString()")


def css_color(hex_color: str) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.mark.parametrize("name", THEMES)
def test_a_themed_challenge_page_and_its_final_page_pass_axe_in_light_and_dark(page: Page, sdk, live_server, tenant,
                                                                                name):
    theme = THEMES[name]
    set_theme(live_server, tenant.id, theme)
    url = challenge_url(sdk, live_server).removeprefix(live_server.url)
    assert_accessible(page, url)  # the enrolment choice
    button = page.get_by_role("button", name="Create a passkey")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == css_color(theme.primary_color)
    if theme.background_color:
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == css_color(theme.background_color)

    set_state(live_server, ActionState.CHALLENGE_SUCCEEDED)
    assert_accessible(page, url)  # "Already verified", with the way back
    expect(page.get_by_role("link", name="Return to Test tenant")).to_have_attribute("href", live_server.callback_url)


# What a reader sees on the page, in order: each visible element with text or a control, and its box.
_BOXES_JS = """() => {
  const seen = [];
  for (const el of document.querySelectorAll("main > *, main form > :is(button, label, input), main section > button")) {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (!box.height || style.display === "none" || style.visibility === "hidden" || el.tagName === "FORM") continue;
    if (el.tagName === "INPUT" && el.type === "hidden") continue;
    if (el.tagName === "SECTION" && el.querySelector("button")) continue;  // its button stands for it
    seen.push({name: el.tagName.toLowerCase() + (el.id ? "#" + el.id : ""), top: box.top, bottom: box.bottom,
               left: box.left, right: box.right});
  }
  return seen;
}"""


@pytest.mark.parametrize(("methods", "expected"), [
    (None, ["p", "h1", "p", "button#passkey-button", "button", "nav"]),
    (["PASSKEY", "AUTHENTICATOR_APP", "EMAIL_OTP"],
     ["p", "h1", "p", "button#passkey-button", "button", "label", "input#email", "button", "nav"]),
], ids=["passkey or app", "with email"])
def test_the_enrolment_choice_has_no_dead_gaps_at_390px(page: Page, sdk, live_server, tenant, screenshot, methods,
                                                          expected):
    if methods:
        make_action(live_server.app, tenant.id, "with-email", name="Sign in", default_outcome="CHALLENGE",
                    unenrolled_policy="REQUIRE_ENROLLMENT", verification_methods=methods)
    url = sdk.track("ann", "with-email" if methods else ACTION, {"redirectUrl": live_server.callback_url})["url"]
    page.goto(url)
    screenshot(page, "enrolment-choice-" + ("email" if methods else "plain"))  # nothing scrolls sideways at 390 px
    page.set_viewport_size({"width": 390, "height": 844})
    boxes = page.evaluate(_BOXES_JS)
    card = page.locator("main").bounding_box()

    assert [box["name"] for box in boxes] == expected
    assert card["y"] <= 16, f"the card starts {card['y']} px down: empty screen above the title"
    gaps = {f"{a['name']} → {b['name']}": round(b["top"] - a["bottom"]) for a, b in zip(boxes, boxes[1:], strict=False)}
    assert all(0 <= gap <= 40 for gap in gaps.values()), gaps
    # The choices are as wide as the card's content, one under the other.
    buttons = [button.bounding_box() for button in page.locator("#passkey-button, .alternative button").all()]
    assert len({(b["x"], b["width"]) for b in buttons}) == 1 and buttons[0]["width"] >= card["width"] - 2 * 24


def test_recovery_codes_and_the_key_can_be_copied_and_the_codes_downloaded(page: Page, sdk, live_server, tenant,
                                                                            tmp_path):
    set_theme(live_server, tenant.id, THEMES["dark"])
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    shown = open_the_key(page, sdk, live_server)
    groups = shown.split(" ")
    assert all(len(group) == 4 for group in groups[:-1]) and 1 <= len(groups[-1]) <= 4, shown
    page.get_by_role("button", name="Copy key").click()
    expect(page.locator("#copy-status")).to_have_text("Copied")
    secret = page.evaluate("navigator.clipboard.readText()")
    assert secret == shown.replace(" ", "")

    codes = confirm_the_key(page, secret)
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()").splitlines() == codes
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "recovery-codes.txt"
    saved = tmp_path / "codes.txt"
    download.value.save_as(saved)
    lines = Path(saved).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Recovery codes for Test tenant. Each code works once." and lines[2:] == codes
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    for scheme in ("light", "dark"):  # the page is a POST's answer: checked as it stands
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], f"recovery codes, themed ({scheme})"
    # On paper: the codes, without the buttons, the switcher or the way on.
    page.emulate_media(media="print")
    expect(page.locator("#recovery-codes")).to_be_visible()
    for hidden in ("#continue", ".actions", "nav.languages"):
        expect(page.locator(hidden)).to_be_hidden()


@pytest.mark.browser_context_args(java_script_enabled=False)
def test_without_script_the_codes_download_and_no_dead_copy_or_print_button_shows(page: Page, sdk, live_server,
                                                                                   tenant):
    shown = open_the_key(page, sdk, live_server)
    expect(page.locator("#copy-secret")).to_be_hidden()
    confirm_the_key(page, shown.replace(" ", ""))
    expect(page.get_by_role("link", name="Download")).to_be_visible()
    for dead in ("#copy-codes", "#print-codes"):
        expect(page.locator(dead)).to_be_hidden()


def test_when_the_browser_refuses_to_copy_the_page_says_so_and_selects_the_text(page: Page, sdk, live_server, tenant):
    deny_the_clipboard(page, live_server.url)
    shown = open_the_key(page, sdk, live_server)
    page.get_by_role("button", name="Copy key").click()
    expect(page.get_by_role("status")).to_have_text(COPY_FAILED)  # announced, politely
    assert selected_text(page) == shown  # Ctrl+C (or the phone's Copy) finishes the job

    codes = confirm_the_key(page, shown.replace(" ", ""))
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status")).to_have_text(COPY_FAILED)
    assert selected_text(page).splitlines() == codes
    assert violations(page) == [], "recovery codes, the refusal shown"


def test_the_refused_copy_is_explained_in_the_page_language(page: Page, sdk, live_server, tenant):
    deny_the_clipboard(page, live_server.url)
    open_the_key(page, sdk, live_server, "de")
    page.get_by_role("button", name="Schlüssel kopieren").click()
    expect(page.get_by_role("status")).to_have_text(
        "Das Kopieren hat nicht funktioniert. Der Text ist markiert: Kopieren Sie ihn selbst.")


def test_the_console_preview_follows_the_form_as_the_admin_types(page: Page, console_admin, live_server, tenant):
    page.goto("/console/settings/brand")
    sample = page.frame_locator("#brand-sample")
    expect(sample.locator("h1")).to_have_text("Verify it's you")

    page.get_by_label("Primary colour (buttons, links)").fill("#8a1c1c")
    expect(page.locator("#brand-sample")).to_have_attribute("src", "/console/settings/brand/sample?primary_color=%238a1c1c")
    expect(sample.locator("#passkey-button")).to_have_css("background-color", css_color("#8a1c1c"))

    page.get_by_label("Background colour").fill("#101820")  # with the default, dark text: unreadable
    expect(page.locator("#brand-problems")).to_contain_text("The text colour on the background colour has a contrast of")
    expect(sample.locator("body")).to_have_css("background-color", css_color("#101820"))
    page.get_by_label("Text colour", exact=True).fill("#f0f0f0")
    expect(page.locator("#brand-problems")).to_have_count(0)
    page.get_by_label("Font").select_option("monospace")
    expect(sample.locator("h1")).to_have_css("font-family", FONT_STACKS["monospace"][1])

    page.get_by_role("button", name="Save brand").click()
    expect(page.get_by_text("Brand saved.")).to_be_visible()
    with live_server.app.app_context():
        assert db.session.get(Tenant, tenant.id).theme["primary_color"] == "#8a1c1c"
