"""Who may open what: every console URL, walked anonymously and as each role."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import AddressFailure
from app.models.base import utcnow
from tests.concurrency import at_once
from tests.html import alerts, csrf_from, field_error, parse, text_of
from tests.rows import count
from tests.web.conftest import PASSWORD, sign_in

NOT_RIGHT = "The email or password is not right."
LOCKED = "Too many failed sign-ins. Try again in a few minutes."

SAMPLE_VALUES = {"int": "1", "default": "sample", "path": "sample"}


def console_urls(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every console and review route, with placeholder arguments."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("console.", "review.")):
            continue
        path = rule.rule
        for argument, converter in rule._converters.items():
            kind = type(converter).__name__.replace("Converter", "").lower()
            value = SAMPLE_VALUES["int"] if kind == "integer" else SAMPLE_VALUES["default"]
            path = path.replace(f"<{'int:' if kind == 'integer' else ''}{argument}>", value)
            path = path.replace(f"<path:{argument}>", value)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((rule.endpoint, method, path))
    return urls


def test_every_console_url_needs_a_signed_in_user(app, client):
    from app.console.guard import POLLS

    for endpoint, method, url in console_urls(app):
        response = client.open(url, method=method)
        if endpoint in POLLS:  # a timer's request is never redirected, and learns nothing
            assert (response.status_code, response.data) == (204, b""), endpoint
            continue
        assert response.status_code in (302, 400), (endpoint, method, response.status_code)
        if response.status_code == 302:
            assert "/auth/login" in response.headers["Location"], endpoint


def test_admins_reach_every_console_url(app, admin):
    for endpoint, method, url in console_urls(app):
        response = admin.client.open(url, method=method, headers={"X-CSRFToken": admin.csrf})
        assert response.status_code not in (401, 403, 500), (endpoint, method, response.status_code)


def test_reviewers_reach_only_what_is_listed_for_them(app, reviewer):
    from app.console.guard import ANYONE, REVIEWER_READS

    for endpoint, method, url in console_urls(app):
        response = reviewer.client.open(url, method=method, headers={"X-CSRFToken": reviewer.csrf})
        allowed = endpoint in ANYONE or (endpoint in REVIEWER_READS and method == "GET")
        if allowed:
            assert response.status_code not in (401, 403, 500), (endpoint, method, response.status_code)
        else:
            assert response.status_code == 403, (endpoint, method, response.status_code)


def test_sign_in_lands_each_role_on_its_page(app, make_console_user, client):
    make_console_user("admin@example.com", "admin")
    make_console_user("reviewer@example.com", "reviewer")

    admin_landing = sign_in(client, "admin@example.com")
    reviewer_landing = sign_in(app.test_client(), "reviewer@example.com")

    assert admin_landing.headers["Location"].endswith("/console/overview")
    assert reviewer_landing.headers["Location"].endswith("/review/")


def test_wrong_password_re_renders_the_form_with_a_message(make_console_user, client):
    make_console_user("admin@example.com")

    response = sign_in(client, "admin@example.com", "wrong password!!")

    assert response.status_code == 400
    assert field_error(response, "login", control="email") == "The email or password is not right."
    assert field_error(response, "login", control="password") == "The email or password is not right."
    assert alerts(response) == ["The email or password is not right."]


def test_unknown_email_gets_the_same_message(client):
    response = sign_in(client, "nobody@example.com")

    assert response.status_code == 400
    assert alerts(response) == ["The email or password is not right."]


def test_five_failures_lock_the_account(make_console_user, client):
    make_console_user("admin@example.com")
    for _ in range(5):
        sign_in(client, "admin@example.com", "wrong password!!")

    response = sign_in(client, "admin@example.com", PASSWORD)

    assert response.status_code == 400
    [refusal] = alerts(response)
    assert refusal.startswith("Too many failed sign-ins")


def test_a_right_password_starts_the_count_of_failures_again(app, make_console_user, client):
    make_console_user("admin@example.com")
    for _ in range(2):
        for _ in range(4):
            assert alerts(sign_in(client, "admin@example.com", "wrong password!!")) == [NOT_RIGHT]

        assert sign_in(app.test_client(), "admin@example.com").status_code == 302


def test_the_right_password_of_a_disabled_account_uses_up_no_tries(app, admin, make_console_user, client):
    from app.services.console.console_users import find_console_user, set_disabled

    make_console_user("reviewer@example.com", "reviewer")
    with app.app_context():
        set_disabled(find_console_user("admin@example.com"), find_console_user("reviewer@example.com").id,
                     disabled=True, now=utcnow())
    for _ in range(4):
        sign_in(client, "reviewer@example.com", "wrong password!!")

    assert [alerts(sign_in(client, "reviewer@example.com")) for _ in range(3)] == [["This account is disabled."]] * 3
    assert alerts(sign_in(client, "reviewer@example.com", "wrong password!!")) == [NOT_RIGHT]  # the fifth failure
    assert alerts(sign_in(client, "reviewer@example.com")) == [LOCKED]


@pytest.fixture
def few_failures_per_address(app, override_settings):
    """TOLLGATE_SIGN_IN_FAILURES_PER_ADDRESS=3, for this test."""
    override_settings(sign_in_failures_per_address=3)


def test_failures_from_one_address_across_accounts_stop_that_address(app, make_console_user, client,
                                                                     few_failures_per_address):
    make_console_user("admin@example.com")
    for email in ("ann@example.com", "bo@example.com", "cy@example.com"):  # spraying: one guess per account
        assert sign_in(client, email, "Winter2026!!!!").status_code == 400

    refused = sign_in(client, "admin@example.com", PASSWORD)  # even the right password, from here

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "900"
    assert "Too many failed sign-ins from your network" in text_of(parse(refused).find("main"))
    other_address = app.test_client()
    page = other_address.get("/auth/login", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other_address.post("/auth/login", environ_base={"REMOTE_ADDR": "198.51.100.7"}, data={
        "email": "admin@example.com", "password": PASSWORD, "csrf_token": csrf_from(page)}).status_code == 302


def test_a_refused_address_costs_no_password_hashing(app, client, few_failures_per_address, monkeypatch):
    from app.services.console import console_users

    for _ in range(3):
        sign_in(client, "nobody@example.com", "guess")
    monkeypatch.setattr(console_users, "_verify", lambda *args: pytest.fail("hashed a refused attempt"))

    assert sign_in(client, "nobody@example.com", "guess").status_code == 429


def test_the_address_window_passes(app, client, make_console_user, few_failures_per_address):
    make_console_user("admin@example.com")
    for _ in range(3):
        sign_in(client, "nobody@example.com", "guess")
    with app.app_context():
        db.session.execute(update(AddressFailure).values(failed_at=utcnow() - timedelta(minutes=16)))
        db.session.commit()

    assert sign_in(client, "admin@example.com", PASSWORD).status_code == 302


def test_right_passwords_are_no_failures_of_the_address(app, make_console_user, client, few_failures_per_address):
    make_console_user("admin@example.com")
    for _ in range(2):
        sign_in(client, "nobody@example.com", "guess")

    assert [sign_in(app.test_client(), "admin@example.com").status_code for _ in range(3)] == [302] * 3
    assert count(app, AddressFailure) == 2
    assert sign_in(client, "nobody@example.com", "guess").status_code == 400  # the third failure
    assert sign_in(client, "nobody@example.com", "guess").status_code == 429


def test_refusals_of_a_locked_account_are_no_failures_of_the_address(app, make_console_user, client):
    make_console_user("admin@example.com")
    for _ in range(5):
        sign_in(client, "admin@example.com", "wrong password!!")

    answers = [alerts(sign_in(client, "admin@example.com", "wrong password!!")) for _ in range(25)]

    assert answers == [[LOCKED]] * 25  # not hashed, so never the address's 429
    assert count(app, AddressFailure) == 5


def sign_in_form(app, email: str, password: str, *, address: str = "127.0.0.1"):
    """A sign-in ready to post, from a browser at ``address`` that already has the form."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    csrf = csrf_from(browser.get("/auth/login"))
    return lambda: browser.post("/auth/login", data={"email": email, "password": password, "csrf_token": csrf})


def test_wrong_passwords_sent_at_once_are_checked_only_while_the_account_has_tries_left(app, make_console_user):
    """Forty wrong passwords for one account at once, each from its own address: five are checked
    (the fifth locks the account), thirty-five are refused without hashing."""
    make_console_user("admin@example.com")
    guesses = [sign_in_form(app, "admin@example.com", "wrong password!!", address=f"198.51.100.{i}") for i in range(40)]

    answers = at_once(*guesses)

    assert Counter(alerts(response)[0] for response in answers) == {NOT_RIGHT: 5, LOCKED: 35}
    assert count(app, AddressFailure) == 5  # only the passwords checked count against their addresses
    assert alerts(sign_in(app.test_client(), "admin@example.com")) == [LOCKED]


def test_sign_ins_sent_at_once_from_one_address_are_checked_only_while_its_failures_last(app, settings):
    """Sixty sign-ins with unknown emails from one address at once: twenty are checked, forty are
    refused with 429 before any hashing."""
    assert settings.sign_in_failures_per_address == 20  # the default
    guesses = [sign_in_form(app, f"user{i}@example.com", "Winter2026!!!!") for i in range(60)]

    answers = at_once(*guesses)

    assert Counter(response.status_code for response in answers) == {400: 20, 429: 40}
    assert count(app, AddressFailure) == 20


def test_sign_in_without_csrf_token_is_refused(make_console_user, client):
    make_console_user("admin@example.com")

    response = client.post("/auth/login", data={"email": "admin@example.com", "password": PASSWORD})

    assert response.status_code == 400
    assert client.get("/console/actions").status_code == 302


def test_console_forms_refuse_requests_without_csrf_token(admin):
    response = admin.client.post("/auth/logout")

    assert response.status_code == 400
    assert admin.get("/console/actions").status_code == 200


def test_sign_in_rotates_the_session(app, make_console_user):
    make_console_user("admin@example.com")
    first, second = app.test_client(), app.test_client()
    sign_in(first, "admin@example.com")

    sign_in(second, "admin@example.com")

    # The first browser's session belonged to the previous epoch.
    assert first.get("/console/actions").status_code == 302
    assert second.get("/console/actions").status_code == 200


def test_disabled_users_are_signed_out_and_cannot_sign_in(app, admin, make_console_user):
    from app.models.base import utcnow
    from app.services.console.console_users import find_console_user, set_disabled

    make_console_user("reviewer@example.com", "reviewer")
    reviewer_client = app.test_client()
    sign_in(reviewer_client, "reviewer@example.com")
    with app.app_context():
        actor = find_console_user("admin@example.com")
        set_disabled(actor, find_console_user("reviewer@example.com").id, disabled=True, now=utcnow())

    assert reviewer_client.get("/console/activity").status_code == 302
    assert alerts(sign_in(app.test_client(), "reviewer@example.com")) == ["This account is disabled."]



def test_idle_sessions_end(app, admin):
    with admin.client.session_transaction() as session:
        session["seen"] = 0

    response = admin.get("/console/actions")

    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_htmx_requests_are_redirected_with_hx_redirect(client):
    response = client.get("/console/actions", headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert "/auth/login" in response.headers["HX-Redirect"]


def test_session_cookie_is_http_only_and_same_site(make_console_user, client):
    make_console_user("admin@example.com")
    response = sign_in(client, "admin@example.com")

    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("tollgate_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_console_pages_send_a_strict_csp(admin):
    csp = admin.get("/console/actions").headers["Content-Security-Policy"]

    assert "script-src 'self'" in csp and "unsafe" not in csp and "frame-ancestors 'none'" in csp


def test_sign_out(admin):
    page = admin.get("/console/actions")

    response = admin.client.post("/auth/logout", data={"csrf_token": csrf_from(page)})

    assert response.status_code == 302
    assert admin.get("/console/actions").status_code == 302


def test_cli_creates_an_admin(app):
    result = app.test_cli_runner().invoke(args=["tollgate", "create-admin", "--email", "ops@example.com"])

    assert result.exit_code == 0, result.output
    assert "ops@example.com / " in result.output


@pytest.mark.parametrize(("path", "says"), [
    ("/console/activity/999999", "There is no tracked action #999999"),
    ("/console/users/nobody-here", "There is no user “nobody-here”"),
    ("/console/no-such-page", "Not Found"),
    ("/review/999999", "There is no such case."),
])
def test_a_console_404_keeps_the_nav_and_says_what_was_not_found(admin, path, says):
    response = admin.get(path)

    page = parse(response)
    assert response.status_code == 404
    assert page.find("nav", attrs={"aria-label": "Main"}) is not None
    assert says in text_of(page.find("main"))


def test_outside_the_console_an_error_page_stays_the_end_users_even_for_a_signed_in_admin(admin):
    response = admin.get("/no-such-page")

    assert response.status_code == 404 and parse(response).find("nav", attrs={"aria-label": "Main"}) is None
