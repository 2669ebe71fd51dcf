"""A console session ends on the server, so a copy of its cookie (another tab's, or a stolen one)
ends with it: at sign-out, at the idle sign-out, and at the absolute lifetime."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import update

from app.extensions import db
from app.models import ConsoleUser
from app.models.base import utcnow
from tests.web.conftest import ConsoleClient, csrf_from, sign_in


def copy_of(app, console: ConsoleClient):
    """Another client holding the same session cookie, as an attacker who captured it would."""
    elsewhere = app.test_client()
    elsewhere.set_cookie("tollgate_session", console.client.get_cookie("tollgate_session").value)
    assert elsewhere.get("/console/activity").status_code == 200
    return elsewhere


def sign_out(console: ConsoleClient):
    page = console.get("/console/account").get_data(as_text=True)
    return console.client.post("/auth/logout", data={"csrf_token": csrf_from(page)})


def flashed(response) -> str:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one(".flash").get_text(" ", strip=True)


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(app, admin):
    elsewhere = copy_of(app, admin)

    assert sign_out(admin).status_code == 302

    response = elsewhere.get("/console/activity")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert elsewhere.get("/console/actions", headers={"HX-Request": "true"}).headers["HX-Redirect"].startswith(
        "/auth/login")


def test_the_idle_sign_out_ends_the_session_for_a_copy_kept_busy(app, admin):
    elsewhere = copy_of(app, admin)  # used a moment ago, so not idle itself
    with admin.client.session_transaction() as session:
        session["seen"] = 0

    response = admin.get("/console/activity", follow_redirects=True)

    assert "inactivity" in flashed(response)
    assert elsewhere.get("/console/activity").status_code == 302


def signed_in_ago(app, email: str, age: timedelta) -> None:
    with app.app_context():
        db.session.execute(update(ConsoleUser).where(ConsoleUser.email == email).values(last_login_at=utcnow() - age))
        db.session.commit()


@pytest.fixture
def two_hour_sessions(app, override_settings):
    override_settings(console_session_hours=2)


def test_a_session_ends_at_its_absolute_lifetime_however_busy(app, admin, two_hour_sessions):
    elsewhere = copy_of(app, admin)
    signed_in_ago(app, "admin@example.com", timedelta(hours=2, minutes=-1))
    assert admin.get("/console/activity").status_code == 200  # busy a minute ago, and still within it

    signed_in_ago(app, "admin@example.com", timedelta(hours=2, minutes=1))
    response = admin.get("/console/activity", follow_redirects=True)

    assert response.request.path == "/auth/login"
    assert flashed(response) == "You were signed out: a session lasts at most 2 hours. Sign in again."
    assert elsewhere.get("/console/activity").status_code == 302
    htmx = elsewhere.get("/console/actions", headers={"HX-Request": "true"})
    assert (htmx.status_code, htmx.headers["HX-Redirect"].startswith("/auth/login")) == (204, True)


def test_signing_in_again_starts_a_new_lifetime(app, admin, two_hour_sessions):
    signed_in_ago(app, "admin@example.com", timedelta(hours=3))
    admin.get("/console/activity")

    assert sign_in(admin.client, "admin@example.com").status_code == 302
    assert admin.get("/console/activity").status_code == 200


def test_a_poll_past_the_lifetime_answers_204_and_never_redirects(app, reviewer, two_hour_sessions):
    signed_in_ago(app, "reviewer@example.com", timedelta(hours=3))

    poll = reviewer.get("/review/count", headers={"HX-Request": "true"})

    assert (poll.status_code, poll.data, poll.headers.get("HX-Redirect"), poll.headers.get("Location")) == (
        204, b"", None, None)
    assert reviewer.get("/review/").status_code == 302  # the next real request signs out, with the message
