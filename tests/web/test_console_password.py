"""Console users change their own password; an invited user must, before anything else."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ConsoleUser
from tests.html import csrf_from, field_error, flash_messages, fragment_root, parse, shown_secret, text_of
from tests.web.conftest import PASSWORD, ConsoleClient, sign_in

NEW_PASSWORD = "a much longer passphrase of mine"


def change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None, **kwargs):
    page = client.get("/console/account/password")
    data = {"current_password": current, "new_password": new, "confirm_password": new if confirm is None else confirm,
            "csrf_token": csrf_from(page)}
    return client.post("/console/account/password", data=data, **kwargs)


def invite(admin: ConsoleClient, email: str, role: str = "reviewer") -> str:
    return shown_secret(admin.post("/console/settings/team", data={"email": email, "role": role}), "First password")


def stored(app, email: str) -> ConsoleUser:
    with app.app_context():
        user = db.session.execute(select(ConsoleUser).where(ConsoleUser.email == email)).scalar_one()
        db.session.expunge(user)
        return user


def test_an_invited_user_must_choose_their_own_password_before_anything_else(admin, app):
    first_password = invite(admin, "rita@example.com")
    newcomer = app.test_client()
    assert sign_in(newcomer, "rita@example.com", first_password).status_code == 302

    for path in ("/console/activity", "/console/account", "/review/"):
        assert newcomer.get(path).headers["Location"].endswith("/console/account/password"), path
    form = parse(newcomer.get("/console/account/password")).find(id="password-form")
    assert text_of(form.find("h2")) == "Choose your own password" and "chosen by the admin who invited you" in text_of(form)
    htmx = newcomer.get("/console/activity", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].endswith("/console/account/password")

    assert change(newcomer, current=first_password).status_code == 303
    assert newcomer.get("/console/activity").status_code == 200
    assert not stored(app, "rita@example.com").must_change_password
    fresh = app.test_client()
    assert sign_in(fresh, "rita@example.com", first_password).status_code == 400  # the admin's copy is useless now
    assert sign_in(fresh, "rita@example.com", NEW_PASSWORD).status_code == 302


def test_while_a_password_must_be_chosen_the_page_has_no_nav_and_the_badge_poll_stays_quiet(admin, app):
    newcomer = app.test_client()
    sign_in(newcomer, "rita@example.com", invite(admin, "rita@example.com"))

    page = parse(newcomer.get("/console/account/password"))
    poll = newcomer.get("/review/count", headers={"HX-Request": "true"})

    assert page.find("nav") is None and page.select("[hx-trigger]") == []
    assert page.find("button", string="Sign out") is not None
    assert (poll.status_code, poll.data, poll.headers.get("HX-Redirect")) == (204, b"", None)


def test_the_first_own_password_lands_where_the_role_starts(admin, app):
    newcomer = app.test_client()
    first_password = invite(admin, "rita@example.com", role="reviewer")
    sign_in(newcomer, "rita@example.com", first_password)

    response = change(newcomer, current=first_password, follow_redirects=True)

    assert response.request.path == "/review/"
    assert flash_messages(response) == ["Your password is set. Welcome to Tollgate."]


@pytest.mark.parametrize("why", ["signed out", "idle"])
def test_a_poll_never_redirects(reviewer, app, why):
    if why == "signed out":
        reviewer.client.delete_cookie("tollgate_session")
    else:
        with reviewer.client.session_transaction() as session:
            session["seen"] = 0

    poll = reviewer.client.get("/review/count", headers={"HX-Request": "true"})

    assert (poll.status_code, poll.headers.get("HX-Redirect"), poll.headers.get("Location")) == (204, None, None)


def test_users_created_by_an_operator_are_not_asked(app, make_console_user):
    make_console_user("ops@example.com")
    client = app.test_client()
    sign_in(client, "ops@example.com")

    assert client.get("/console/activity").status_code == 200


def test_changing_the_password_ends_every_other_session_and_keeps_this_one(admin, app):
    elsewhere = app.test_client()  # a copy of the session cookie (another tab, or a stolen one)
    elsewhere.set_cookie("tollgate_session", admin.client.get_cookie("tollgate_session").value)
    assert elsewhere.get("/console/activity").status_code == 200

    response = change(admin.client)

    assert response.status_code == 303 and response.headers["Location"].endswith("/console/account")
    assert admin.get("/console/activity").status_code == 200
    assert elsewhere.get("/console/activity").status_code == 302
    with app.app_context():
        event = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
        assert (event.event, event.actor_email) == ("console_user.password_changed", "admin@example.com")
        assert event.before is None and event.after is None  # never the password, not even hashed


@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"current": "not my password"}, "current_password", "This is not your current password."),
    ({"new": "short"}, "new_password", "at least 12 characters"),
    ({"new": PASSWORD}, "new_password", "different from the current one"),
    ({"confirm": "something else entirely"}, "confirm_password", "The two passwords differ."),
    ({"current": ""}, "current_password", "Enter your current password."),
])
def test_each_mistake_is_shown_next_to_its_field_and_changes_nothing(admin, app, kwargs, field, message):
    before = stored(app, "admin@example.com").password_hash

    response = change(admin.client, **kwargs)

    assert response.status_code == 400
    assert message in field_error(response, field)
    assert stored(app, "admin@example.com").password_hash == before


def test_with_htmx_a_mistake_swaps_the_form_and_success_redirects(admin):
    wrong = change(admin.client, current="not my password", headers={"HX-Request": "true"})
    assert wrong.status_code == 400 and fragment_root(wrong).get("id") == "password-form"


    done = change(admin.client, headers={"HX-Request": "true"})
    assert done.status_code == 204 and done.headers["HX-Redirect"].endswith("/console/account")


def test_the_password_form_needs_the_csrf_token(admin):
    response = admin.client.post("/console/account/password",
                                 data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                       "confirm_password": NEW_PASSWORD})

    assert response.status_code == 400


@pytest.mark.parametrize(("flag", "asked"), [(["--temporary"], True), ([], False)])
def test_an_operator_reset_is_temporary_only_when_asked(app, make_console_user, flag, asked):
    make_console_user("rita@example.com", "reviewer")
    handed_over = "handed over by the operator"

    result = app.test_cli_runner().invoke(
        args=["tollgate", "create-admin", "--email", "rita@example.com", "--password", handed_over, *flag])

    assert result.exit_code == 0, result.output
    assert stored(app, "rita@example.com").must_change_password is asked
    client = app.test_client()
    assert sign_in(client, "rita@example.com", handed_over).status_code == 302
    sent_to_change = client.get("/review/").headers.get("Location", "").endswith("/console/account/password")
    assert sent_to_change is asked
