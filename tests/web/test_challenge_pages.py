"""Hosted challenge pages through the Flask test client: every step works without JavaScript
except the passkey ceremony itself."""

import json
import re
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from app.models import VerificationAttempt
from tests.concurrency import at_once
from tests.factories import make_action
from tests.html import alerts, inline_scripts, parse, text_of
from tests.rows import count

REDIRECT = "https://app.example/done?state=xyz"
RECOVERY_CODE = re.compile(r"[A-Z0-9]{5}-[A-Z0-9]{5}")


@pytest.fixture
def challenge_action(app, tenant):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")


def track(api, user="alice", **body):
    return api.post(f"/users/{user}/actions/withdraw-funds", json={"redirectUrl": REDIRECT, **body}).get_json()


def page_path(url: str) -> str:
    return url.removeprefix("http://localhost:5000")


def continue_link(response) -> str:
    return parse(response).find("a", id="continue")["href"]


def recovery_codes(response) -> list[str]:
    """The recovery codes the page lists, checking each looks like one."""
    codes = [text_of(code) for code in parse(response).select("#recovery-codes li code")]
    assert all(RECOVERY_CODE.fullmatch(code) for code in codes), codes
    return codes


def enrol_totp(client, token, mode=None) -> str:
    """Start authenticator-app enrolment and return the secret shown on the page (in groups of four, as
    authenticator apps print it; the copy button holds it whole)."""
    response = client.post("/challenge/totp-setup", data={"token": token, **({"mode": mode} if mode else {})})
    assert response.status_code == 200
    page = parse(response)
    shown = text_of(page.find(id="totp-secret"))
    assert re.fullmatch("[A-Z2-7]{4}( [A-Z2-7]{4})*( [A-Z2-7]{1,3})?", shown), shown
    secret = shown.replace(" ", "")
    assert page.find(id="copy-secret")["data-copy"] == secret
    return secret


def enrolled_user(api, client):
    """Enrol alice's authenticator app through the pages; returns (secret, recovery codes page)."""
    body = track(api)
    secret = enrol_totp(client, body["token"])
    confirmed = client.post("/challenge/totp", data={"token": body["token"], "code": pyotp.TOTP(secret).now()})
    return secret, confirmed


def test_pages_send_strict_security_headers(api, client, challenge_action):
    response = client.get(page_path(track(api)["url"]))

    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert parse(response).find("script") is not None and inline_scripts(response) == []


def test_popup_mode_may_be_framed_by_allowed_origins_only(api, client, challenge_action):
    response = client.get(page_path(track(api)["url"]) + "&mode=popup")

    framing = response.headers["Content-Security-Policy"].split("frame-ancestors ")[1]
    assert set(framing.split()) == {"https://app.example", "https://shop.example", "http://localhost:3000"}


def test_unenrolled_user_is_offered_passkey_first_then_an_app(api, client, challenge_action):
    page = parse(client.get(page_path(track(api)["url"])))

    offered = [text_of(button) for button in page.find_all("button")]
    assert offered.index("Create a passkey") < offered.index("Use an authenticator app instead")
    assert page.find(id="passkey")["data-ceremony"] == "register"


def test_totp_enrolment_without_javascript_ends_at_the_redirect_with_a_result_token(api, client, challenge_action):
    _, confirmed = enrolled_user(api, client)

    redirected = client.get(continue_link(confirmed))

    assert len(recovery_codes(confirmed)) == 10
    assert redirected.status_code == 302
    target = urlsplit(redirected.headers["Location"])
    query = parse_qs(target.query)
    assert (target.scheme, target.netloc, target.path, query["state"]) == ("https", "app.example", "/done", ["xyz"])
    validation = api.post("/validate", json={"token": query["token"][0]}).get_json()
    assert validation["isValid"] is True
    assert validation["verificationMethod"] == "AUTHENTICATOR_APP"
    assert api.post("/validate", json={"token": query["token"][0]}).get_json()["isValid"] is False


def test_wrong_enrolment_code_shows_the_qr_again_with_an_error(api, client, challenge_action):
    body = track(api)
    secret = enrol_totp(client, body["token"])

    response = client.post("/challenge/totp", data={"token": body["token"], "code": "000000"})

    assert response.status_code == 400
    page = parse(response)
    assert alerts(page) and page.select_one(".qr svg") is not None
    assert text_of(page.find(id="totp-secret")).replace(" ", "") == secret


def test_enrolled_user_gets_the_code_form_and_replay_is_refused(api, client, challenge_action):
    secret, _ = enrolled_user(api, client)
    body = track(api)
    assert body["state"] == "CHALLENGE_REQUIRED"
    page = parse(client.get(page_path(body["url"])))
    assert page.find("input", id="code")["autocomplete"] == "one-time-code"

    # The code that confirmed enrolment is from the same time-step: a replay.
    replayed = client.post("/challenge/totp", data={"token": body["token"], "code": pyotp.TOTP(secret).now()})

    assert replayed.status_code == 400
    assert any("already used" in alert for alert in alerts(replayed))


def test_recovery_code_works_once(api, client, challenge_action):
    _, confirmed = enrolled_user(api, client)
    code = recovery_codes(confirmed)[0]

    first, second = track(api), track(api)
    used = client.post("/challenge/recovery", data={"token": first["token"], "code": code.lower()})
    reused = client.post("/challenge/recovery", data={"token": second["token"], "code": code})

    assert used.status_code == 302
    assert reused.status_code == 400


def test_ten_wrong_codes_fail_the_action(api, client, challenge_action):
    enrolled_user(api, client)
    body = track(api)

    responses = [client.post("/challenge/totp", data={"token": body["token"], "code": "000000"}) for _ in range(10)]

    assert [r.status_code for r in responses[:9]] == [400] * 9
    assert responses[9].status_code == 429
    state = api.get(f"/users/alice/actions/withdraw-funds/{body['idempotencyKey']}").get_json()["state"]
    assert state == "CHALLENGE_FAILED"
    assert client.get(page_path(body["url"])).status_code == 409


def test_wrong_recovery_codes_sent_at_once_are_checked_only_while_the_budget_lasts(app, api, client, challenge_action):
    """Sixty wrong recovery codes in parallel on one token: ten are checked (the tenth locks), the rest are
    refused unchecked: locked out (429), or the page for a failed action (409) once the tenth has failed it."""
    enrolled_user(api, client)
    body = track(api)

    def submit():
        return app.test_client().post("/challenge/recovery", data={"token": body["token"], "code": "WRONG-CODE1"})

    statuses = [response.status_code for response in at_once(*[submit] * 60)]

    assert count(app, VerificationAttempt) == 10
    refused = Counter(statuses)
    assert refused.pop(400) == 9 and refused[429] >= 1
    assert refused.keys() <= {409, 429}
    state = api.get(f"/users/alice/actions/withdraw-funds/{body['idempotencyKey']}").get_json()["state"]
    assert state == "CHALLENGE_FAILED"


def test_try_another_way_lists_the_recovery_code(api, client, challenge_action):
    enrolled_user(api, client)
    body = track(api)

    page = parse(client.get(page_path(body["url"])))
    recovery = parse(client.get(page_path(body["url"]) + "&method=RECOVERY_CODE"))

    another_way = page.find("nav", attrs={"aria-labelledby": "another-way"})
    assert text_of(page.find(id=another_way["aria-labelledby"])) == "Try another way"
    assert "method=RECOVERY_CODE" in another_way.find("a", string="Recovery code")["href"]
    assert text_of(recovery.find("label", attrs={"for": "code"})) == "Enter one of your recovery codes"


def test_popup_mode_posts_the_token_instead_of_redirecting(api, client, challenge_action):
    body = track(api)
    secret = enrol_totp(client, body["token"], mode="popup")
    confirmed = client.post(
        "/challenge/totp", data={"token": body["token"], "code": pyotp.TOTP(secret).now(), "mode": "popup"}
    )

    page = client.get(continue_link(confirmed))

    assert page.status_code == 200
    assert json.loads(parse(page).find(id="popup-result")["data-message"])["event"] == "AUTHSIGNAL_CLOSE_POPUP"


@pytest.mark.parametrize("path", ["/challenge?token=garbage", "/challenge", "/challenge/finish?token=garbage"])
def test_bad_links_get_a_clear_page(client, path):
    response = client.get(path)

    assert response.status_code == 400
    assert "This link is not valid" in text_of(parse(response).find("main"))


def test_a_track_token_cannot_finish_a_challenge(api, client, challenge_action):
    body = track(api)
    assert client.get(f"/challenge/finish?token={body['token']}").status_code == 400


@pytest.mark.parametrize(("state", "status", "text"), [
    ("BLOCK", 409, "blocked"),
    ("REVIEW_REQUIRED", 200, "being reviewed"),
    ("CHALLENGE_FAILED", 409, "Verification failed"),
    ("CHALLENGE_SUCCEEDED", 409, "Already verified"),
])
def test_actions_that_are_not_awaiting_a_challenge_explain_themselves(api, client, challenge_action, state, status, text):
    body = track(api)
    api.patch(f"/users/alice/actions/withdraw-funds/{body['idempotencyKey']}", json={"state": state})

    response = client.get(page_path(body["url"]))

    assert response.status_code == status
    assert text in text_of(parse(response).find("main"))

