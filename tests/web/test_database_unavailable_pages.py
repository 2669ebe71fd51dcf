"""Pages while the database does not answer: the plain 503 page to come back to, never a 500."""

from __future__ import annotations

from tests.html import parse, text_of
from tests.web.conftest import sign_in


def test_a_signed_in_console_page_without_its_database_is_the_503_page(app, app_without_database,
                                                                        make_console_user, caplog):
    make_console_user("admin@example.com", "admin")
    signed_in = app.test_client()
    sign_in(signed_in, "admin@example.com")
    # The same browser, its session cookie now sent to an instance whose database is down.
    browser = app_without_database.test_client()
    browser.set_cookie("tollgate_session", signed_in.get_cookie("tollgate_session").value)

    response = browser.get("/console/")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.content_type.startswith("text/html")
    page = parse(response.get_data(as_text=True))
    assert text_of(page.find("h1")) == "503 · The database is not answering"
    assert text_of(page.find("main").find("p")) == "Tollgate cannot reach its database just now. Try again in a few seconds."
    assert [r.getMessage().split(":")[0] for r in caplog.records
            if r.getMessage().startswith("database unavailable")] == ["database unavailable, answered 503"]


def test_signing_in_without_the_database_is_the_503_page(app_without_database):
    browser = app_without_database.test_client()

    response = sign_in(browser, "admin@example.com")

    assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
    assert text_of(parse(response.get_data(as_text=True)).find("h1")) == "503 · The database is not answering"


def test_a_hosted_challenge_page_without_its_database_is_the_503_page(api, app_without_database):
    url = api.post("/users/alice/actions/sign-in", json={"redirectUrl": "https://app.example/done"}).get_json()["url"]

    response = app_without_database.test_client().get(url.removeprefix("http://localhost:5000"))

    assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
    assert text_of(parse(response.get_data(as_text=True)).find("h1")) == "503 · The database is not answering"
