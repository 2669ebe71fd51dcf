"""Erasing a user from the console: admins only, after seeing what is held and typing the user id."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.services.operations.erasure import EVENT
from tests.personal_data import tables_holding
from tests.web.conftest import audit_events

SUBJECT, EMAIL, IP, UA = "ada-lovelace-1815", "ada@analytical.example", "203.0.113.77", "AdaBrowser/1.0"
SUBJECT_DATA = (SUBJECT, EMAIL, IP, UA)
ERASE_URL = f"/console/users/{SUBJECT}/erase"


@pytest.fixture
def subject(api):
    api.patch(f"/users/{SUBJECT}", json={"email": EMAIL})
    api.post(f"/users/{SUBJECT}/authenticators", json={"verificationMethod": "EMAIL_OTP", "email": EMAIL})
    for _ in range(2):
        assert api.post(f"/users/{SUBJECT}/actions/sign-in", json={"ipAddress": IP, "userAgent": UA}).status_code == 200


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def held_rows(page: BeautifulSoup) -> dict[str, int]:
    return {row.th.get_text(strip=True): int(row.td.get_text(strip=True))
            for row in page.select("#erase-held tbody tr")}


def test_admins_find_the_erasure_on_the_user_page_reviewers_do_not(admin, reviewer, subject):
    link = html(admin.get(f"/console/users/{SUBJECT}")).find("a", string="Erase this user…")

    assert (link["href"], link["hx-get"], link["hx-target"]) == (ERASE_URL, ERASE_URL, "#erase-confirm")
    assert html(reviewer.get(f"/console/users/{SUBJECT}")).find("a", string="Erase this user…") is None


def test_the_confirmation_shows_what_is_held_and_asks_for_the_user_id(admin, subject):
    response = admin.get(ERASE_URL)

    assert response.status_code == 200
    page = html(response)
    assert " ".join(page.find("h2", id="erase-heading").get_text().split()) == f"Erase everything held about {SUBJECT}?"
    assert held_rows(page) == {"User record": 1, "Authenticators": 1, "Tracked actions": 2, "Review decisions": 0,
                               "Review notes": 0, "Webhook events": 0, "Audit entries naming them": 0}
    form = page.find("form", action=ERASE_URL)
    assert form["method"] == "post" and form.find("input", attrs={"name": "csrf_token"})["value"]
    typed = form.find("input", attrs={"name": "confirm_user_id"})
    assert (typed["type"], typed.has_attr("required"), typed.get("value")) == ("text", True, None)
    assert form.find("label", attrs={"for": typed["id"]}).strong.get_text() == SUBJECT
    assert form.find("a", string="Cancel")["href"] == f"/console/users/{SUBJECT}"


def test_htmx_loads_the_confirmation_as_a_fragment(admin, subject):
    page = html(admin.get(ERASE_URL, headers={"HX-Request": "true"}))

    assert page.find("html") is None
    assert [section["class"] for section in page.find_all("section")] == [["card", "danger-zone"]]


@pytest.mark.parametrize("typed", ["", "ada", SUBJECT.upper(), f" {SUBJECT}", f"{SUBJECT}\n"])
def test_anything_but_the_exact_user_id_erases_nothing(app, admin, subject, typed):
    before = tables_holding(app, SUBJECT_DATA)

    response = admin.post(ERASE_URL, data={"confirm_user_id": typed})

    assert response.status_code == 400
    page = html(response)
    assert page.find(id="confirm-erase")["aria-invalid"] == "true"
    assert page.find(id="confirm-erase-error").get_text(strip=True) == "Type the user id exactly as shown to erase it."
    assert tables_holding(app, SUBJECT_DATA) == before


def test_typing_the_user_id_erases_them_and_says_so_without_naming_them(app, admin, subject):
    response = admin.post(ERASE_URL, data={"confirm_user_id": SUBJECT})

    assert response.status_code == 303 and response.headers["Location"] == "/console/users"
    assert tables_holding(app, SUBJECT_DATA) == {}
    flash = html(admin.get("/console/users")).select_one(".flash").get_text(" ", strip=True)
    assert flash == ("User erased: 2 actions and 0 review decisions anonymised, 2 rows deleted (their record, "
                     "authenticators, review notes, webhook events), 0 audit entries redacted.")
    assert SUBJECT not in flash
    [event] = audit_events(app, EVENT)
    assert event.actor_email == "admin@example.com" and event.actor_id is not None
    assert event.after["actions"] == 2 and event.target_id != SUBJECT


def test_an_htmx_erasure_redirects_with_hx_redirect(app, admin, subject):
    response = admin.post(ERASE_URL, data={"confirm_user_id": SUBJECT}, htmx=True)

    assert (response.status_code, response.headers["HX-Redirect"]) == (204, "/console/users")
    assert tables_holding(app, SUBJECT_DATA) == {}


def test_a_user_deleted_through_the_api_is_erased_from_the_same_page(app, api, admin, subject):
    api.delete(f"/users/{SUBJECT}")

    page = html(admin.get(ERASE_URL))

    assert held_rows(page)["User record"] == 0 and held_rows(page)["Tracked actions"] == 2
    assert page.find("a", string="Cancel")["href"] == f"/console/activity?user={SUBJECT}"
    assert admin.post(ERASE_URL, data={"confirm_user_id": SUBJECT}).status_code == 303
    assert tables_holding(app, SUBJECT_DATA) == {}


def test_reviewers_can_neither_see_nor_use_it(app, reviewer, subject):
    before = tables_holding(app, SUBJECT_DATA)

    assert reviewer.get(ERASE_URL).status_code == 403
    assert reviewer.post(ERASE_URL, data={"confirm_user_id": SUBJECT}).status_code == 403
    assert tables_holding(app, SUBJECT_DATA) == before


def test_without_the_csrf_token_nothing_is_erased(app, admin, subject):
    before = tables_holding(app, SUBJECT_DATA)

    response = admin.client.post(ERASE_URL, data={"confirm_user_id": SUBJECT})

    assert response.status_code == 400
    assert tables_holding(app, SUBJECT_DATA) == before


def test_a_user_nothing_is_held_about_is_not_found(app, admin):
    assert admin.get("/console/users/nobody-at-all/erase").status_code == 404
    assert admin.post("/console/users/nobody-at-all/erase", data={"confirm_user_id": "nobody-at-all"}).status_code == 404
    with app.app_context():
        assert db.session.execute(select(AuditEvent).where(AuditEvent.event == EVENT)).first() is None
