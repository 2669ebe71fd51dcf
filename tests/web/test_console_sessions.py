"""A console session ends on the server, so a copy of its cookie (another tab's, or a stolen one)
ends with it: at sign-out, at the idle sign-out, and at the absolute lifetime."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests.web.conftest import ConsoleClient, csrf_from


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
