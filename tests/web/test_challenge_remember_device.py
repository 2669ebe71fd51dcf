"""Remembered devices on the hosted pages: after a passed challenge the page offers "Don't ask again
on this device for N days"; choosing it sets an HttpOnly cookie of Tollgate's origin and records a
trusted device that a later track with the same deviceId reads as ``device.isTrusted``. A forged,
expired or revoked cookie is ignored."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Tenant, TrustedDevice, UserAction
from app.models.base import utcnow
from app.services.decisions.action_state import get_action
from app.services.decisions.replay import explanation
from tests.factories import make_action, rule
from tests.html import parse, text_of

ACTION = "withdraw-funds"
REDIRECT = "https://app.example/done"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def remember_days(app, tenant_id: str, days: int) -> None:
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == tenant_id).values(remember_device_days=days))
        db.session.commit()


@pytest.fixture
def remembering(app, tenant):
    """The tenant remembers devices for 30 days; the action challenges unless the device is remembered."""
    remember_days(app, tenant.id, 30)
    make_action(app, tenant.id, ACTION, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                rules=[rule("Remembered device", 0, "ALLOW", {"==": [{"var": "device.isTrusted"}, True]})])


def track(api, user="alice", device="laptop-1") -> dict:
    body = {"redirectUrl": REDIRECT, **({"deviceId": device} if device else {})}
    return api.post(f"/users/{user}/actions/{ACTION}", json=body, headers={"User-Agent": CHROME}).get_json()


def path_of(url: str) -> str:
    return url.removeprefix("http://localhost:5000")


class Passing:
    """Passes challenges on the hosted pages: an authenticator app the first time, then recovery codes."""

    def __init__(self, client):
        self.client, self.codes = client, []

    def pass_challenge(self, token: str):
        """The page after the passed challenge (the remember offer, or the redirect to the app)."""
        if not self.codes:
            setup = parse(self.client.post("/challenge/totp-setup", data={"token": token}))
            secret = text_of(setup.find(id="totp-secret")).replace(" ", "")
            shown = parse(self.client.post("/challenge/totp", data={"token": token, "code": pyotp.TOTP(secret).now()}))
            self.codes = [text_of(code) for code in shown.select("#recovery-codes li code")]
            return self.client.get(shown.find("a", id="continue")["href"])
        passed = self.client.post("/challenge/recovery", data={"token": token, "code": self.codes.pop()})
        assert passed.status_code == 302, passed.data
        return self.client.get(passed.headers["Location"])


def answer_offer(client, offer, *, remember: bool):
    form = parse(offer).find("form", id="remember-form")
    data = {field["name"]: field.get("value", "") for field in form.find_all("input", type="hidden")}
    if remember:
        data["remember"] = "yes"
    return client.post(form["action"], data=data, headers={"User-Agent": CHROME})


def finished_at_app(client, answered) -> str:
    """Follow the answer to the app; the result token it brings."""
    assert answered.status_code == 302
    at_app = client.get(path_of(answered.headers["Location"]))
    assert at_app.status_code == 302
    target = urlsplit(at_app.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    return parse_qs(target.query)["token"][0]


def device_cookie(answered) -> SimpleCookie:
    cookies = SimpleCookie()
    for header in answered.headers.getlist("Set-Cookie"):
        cookies.load(header)
    return cookies


def test_a_remembered_device_is_not_challenged_again_and_another_device_is(api, client, app, remembering):
    passing = Passing(client)
    offer = passing.pass_challenge(track(api)["token"])

    assert offer.status_code == 200
    page = parse(offer)
    assert text_of(page.find("label", attrs={"for": "remember"})) == "Don't ask again on this device for 30 days"
    answered = answer_offer(client, offer, remember=True)
    assert api.post("/validate", json={"token": finished_at_app(client, answered)}).get_json()["isValid"] is True

    (name,) = [key for key in device_cookie(answered) if key.startswith("tg_device_")]
    cookie = device_cookie(answered)[name]
    assert (cookie["path"], cookie["httponly"], cookie["samesite"]) == ("/", True, "Lax")
    assert not cookie["secure"]  # the test server's public URL is plain http; https gets Secure
    with app.app_context():
        (device,) = db.session.execute(select(TrustedDevice)).scalars()
        assert device.device_id == "laptop-1" and device.user_agent == "Chrome on Windows"
        assert timedelta(days=29, hours=23) < device.expires_at - device.created_at <= timedelta(days=30)
        assert device.token_digest not in cookie.value and cookie.value.split(".")[1] not in device.token_digest
        assert device.last_used_at is None  # remembered, not yet used by a track

    allowed = track(api)
    assert allowed["state"] == "ALLOW"
    assert observed(app, allowed) == {"device.isTrusted": True}
    assert track(api, device="phone-2")["state"] == "CHALLENGE_REQUIRED"
    assert track(api, user="bob")["state"] == "CHALLENGE_REQUIRED"  # the device id is trusted for alice only
    assert track(api, device=None)["state"] == "CHALLENGE_REQUIRED"
    with app.app_context():
        assert db.session.execute(select(TrustedDevice.last_used_at)).scalar_one() is not None


def observed(app, tracked: dict) -> dict:
    """The fields the decision's trace shows, with the values the rules saw."""
    with app.app_context():
        action = db.session.execute(select(UserAction).where(UserAction.idempotency_key == tracked["idempotencyKey"])
                                    ).scalar_one()
        output = explanation(get_action(action.tenant_id, action.user_id, action.action_code, action.idempotency_key))
    return {c["field"]: c["observed"] for r in output["rules"] for c in r["conditions"]}


def test_declining_remembers_nothing(api, client, app, remembering):
    offer = Passing(client).pass_challenge(track(api)["token"])
    answered = answer_offer(client, offer, remember=False)

    finished_at_app(client, answered)
    assert not [key for key in device_cookie(answered) if key.startswith("tg_device_")]
    assert track(api)["state"] == "CHALLENGE_REQUIRED"


def test_nothing_is_offered_when_the_tenant_does_not_remember_devices(api, client, app, tenant, remembering):
    remember_days(app, tenant.id, 0)

    finished = Passing(client).pass_challenge(track(api)["token"])

    assert finished.status_code == 302 and finished.headers["Location"].startswith(REDIRECT)


def test_nothing_is_offered_without_a_device_id_to_remember(api, client, remembering):
    finished = Passing(client).pass_challenge(track(api, device=None)["token"])

    assert finished.status_code == 302 and finished.headers["Location"].startswith(REDIRECT)


def remembered(api, client, passing: Passing) -> str:
    """Alice's browser remembered; the name of its cookie."""
    answered = answer_offer(client, passing.pass_challenge(track(api)["token"]), remember=True)
    finished_at_app(client, answered)
    (name,) = [key for key in device_cookie(answered) if key.startswith("tg_device_")]
    return name


def test_a_browser_already_remembered_is_not_asked_again(api, client, remembering):
    passing = Passing(client)
    remembered(api, client, passing)

    again = passing.pass_challenge(track(api, device="phone-2")["token"])

    assert again.status_code == 302 and again.headers["Location"].startswith(REDIRECT)


def test_a_forged_cookie_is_ignored(api, client, remembering):
    passing = Passing(client)
    name = remembered(api, client, passing)
    row_id, token, signature = client.get_cookie(name).value.split(".")
    forged = f"{row_id}.{token[:-1]}{'A' if token[-1] != 'A' else 'B'}.{signature}"
    client.set_cookie(name, forged)

    offer = passing.pass_challenge(track(api, device="phone-2")["token"])

    assert offer.status_code == 200 and parse(offer).find("form", id="remember-form") is not None


def test_an_expired_remembered_device_is_challenged_and_offered_again(api, client, app, remembering):
    passing = Passing(client)
    remembered(api, client, passing)
    with app.app_context():
        db.session.execute(update(TrustedDevice).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()

    tracked = track(api)
    assert tracked["state"] == "CHALLENGE_REQUIRED"
    offer = passing.pass_challenge(tracked["token"])
    assert parse(offer).find("form", id="remember-form") is not None


def test_a_result_already_handed_to_the_app_cannot_remember_a_device(api, client, app, remembering):
    offer = Passing(client).pass_challenge(track(api)["token"])
    form = parse(offer).find("form", id="remember-form")
    token = form.find("input", attrs={"name": "token"})["value"]
    assert api.post("/validate", json={"token": token}).get_json()["isValid"] is True

    refused = client.post("/challenge/remember", data={"token": token, "remember": "yes"})

    assert refused.status_code == 409
    with app.app_context():
        assert db.session.execute(select(TrustedDevice)).first() is None


def test_verified_on_this_device_counts_the_minutes_since_the_last_challenge_passed_on_it(api, client, app, tenant):
    make_action(app, tenant.id, ACTION, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                rules=[rule("Verified here lately", 0, "ALLOW",
                            {"<": [{"var": "user.verifiedOnThisDeviceMinutesAgo"}, 15]})])
    passing = Passing(client)
    assert track(api)["state"] == "CHALLENGE_REQUIRED"  # never verified here: null, which matches nothing

    tracked = track(api)
    passing.pass_challenge(tracked["token"])

    assert track(api)["state"] == "ALLOW"
    assert track(api, device="phone-2")["state"] == "CHALLENGE_REQUIRED"
    with app.app_context():
        db.session.execute(update(UserAction).where(UserAction.idempotency_key == tracked["idempotencyKey"])
                           .values(state_updated_at=utcnow() - timedelta(minutes=20)))
        db.session.commit()
    assert track(api)["state"] == "CHALLENGE_REQUIRED"


@pytest.fixture
def public_over_https(app):
    original = app.config["TOLLGATE"]
    app.config["TOLLGATE"] = dataclasses.replace(original, public_url="https://localhost:5000")
    yield
    app.config["TOLLGATE"] = original


def test_the_cookie_is_secure_when_tollgate_is_served_over_https(api, client, remembering, public_over_https):
    offer = Passing(client).pass_challenge(track(api)["token"])
    answered = answer_offer(client, offer, remember=True)

    (name,) = [key for key in device_cookie(answered) if key.startswith("tg_device_")]
    assert device_cookie(answered)[name]["secure"] is True
