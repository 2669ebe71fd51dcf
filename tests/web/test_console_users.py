"""Console users: search, the user page, and removing an authenticator (admins only, confirmed, audited)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Authenticator, EndUser, PasskeyCredential, Tenant
from tests.factories import enroll_authenticator_app
from tests.html import (
    definitions,
    field_error,
    flash_messages,
    fragment_root,
    is_fragment,
    pager_link,
    parse,
    section,
    table_rows,
    text_of,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
XSS = "<script>alert(1)</script>"


def add_user(app, tenant_id: str, user_id: str, **attributes) -> None:
    with app.app_context():
        db.session.add(EndUser(tenant_id=tenant_id, user_id=user_id, custom=attributes.pop("custom", {}),
                               created_at=T0, updated_at=T0, **attributes))
        db.session.commit()


def add_passkey(app, tenant_id: str, user_id: str) -> str:
    with app.app_context():
        user = db.session.execute(
            select(EndUser).where(EndUser.tenant_id == tenant_id, EndUser.user_id == user_id)
        ).scalar_one()
        authenticator = Authenticator(verification_method="PASSKEY", name="Work laptop", created_at=T0, verified_at=T0,
                                      last_verified_at=datetime(2025, 3, 2, 8, 30, tzinfo=UTC))
        authenticator.passkey = PasskeyCredential(
            credential_id=secrets.token_urlsafe(16), public_key=b"\x01", aaguid="adce0002-35bc-c60a-648b-0b25f1f05503",
            backup_eligible=True, backup_state=False, attachment="platform",
        )
        user.authenticators.append(authenticator)
        db.session.commit()
        return authenticator.id


def listed_users(response) -> list[str]:
    """The users the results list, in order, by the user id their link leads to."""
    assert response.status_code == 200, response.status_code
    links = parse(response).select("#user-results tbody a[href]")
    return [unquote(link["href"].removeprefix("/console/users/")) for link in links]



def custom_data(card) -> dict[str, str]:
    return {row["Key"]: row["Value"] for row in table_rows(card, "table.kv")}



def authenticator_count(app, authenticator_id: str) -> int:
    with app.app_context():
        return len(db.session.execute(select(Authenticator).where(Authenticator.id == authenticator_id)).all())


@pytest.fixture
def other_tenant(app) -> str:
    with app.app_context():
        other = Tenant(name="Other tenant")
        db.session.add(other)
        db.session.commit()
        return other.id


# --- search --------------------------------------------------------------------------------------

def test_user_list_is_a_full_page_and_its_results_are_a_fragment(app, admin, tenant):
    add_user(app, tenant.id, "alice")

    response = admin.get("/console/users")
    fragment = admin.get("/console/users?q=ali", headers={"HX-Request": "true"})

    page = parse(response)
    search = page.select_one('form[role="search"]')
    assert not is_fragment(response) and search.find("label", attrs={"for": "user-search"}) is not None
    assert (search["method"], search["hx-get"]) == ("get", "/console/users") and page.find(id="user-results")
    results = fragment_root(fragment)
    assert (results.name, results.get("id")) == ("div", "user-results")
    assert listed_users(fragment) == ["alice"]


def test_search_matches_user_id_exact_or_prefix_email_any_case_and_phone(app, admin, tenant):
    add_user(app, tenant.id, "alice", email="Alice@Example.com", phone_number="+64211234567")
    add_user(app, tenant.id, "alicia")
    add_user(app, tenant.id, "bob", email="bob@example.com", phone_number="+64219999999")
    add_user(app, tenant.id, "xalice")

    assert listed_users(admin.get("/console/users?q=alic")) == ["alice", "alicia"]
    assert listed_users(admin.get("/console/users?q=alice")) == ["alice"]
    assert listed_users(admin.get("/console/users?q=alice%40example.com")) == ["alice"]
    assert listed_users(admin.get("/console/users?q=BOB%40EXAMPLE.COM")) == ["bob"]
    assert listed_users(admin.get("/console/users?q=%2B64219999999")) == ["bob"]
    assert listed_users(admin.get("/console/users?q=%2B64+21+999+9999")) == ["bob"]
    assert listed_users(admin.get("/console/users?q=example.com")) == []
    assert listed_users(admin.get("/console/users?q=")) == ["alice", "alicia", "bob", "xalice"]


def test_search_takes_percent_and_underscore_literally(app, admin, tenant):
    add_user(app, tenant.id, "a_b")
    add_user(app, tenant.id, "axb")
    add_user(app, tenant.id, "a%c")

    assert listed_users(admin.get("/console/users?q=a_")) == ["a_b"]
    assert listed_users(admin.get("/console/users?q=a%25")) == ["a%c"]
    assert listed_users(admin.get("/console/users?q=A")) == []  # prefixes are case-sensitive, like user ids


@pytest.mark.parametrize("prefix", ["usr_z", "usr_9", "usr_Z", "usr-", "usr_\u00e9", "zz~"])
def test_search_by_prefix_finds_exactly_the_ids_that_start_with_it(app, admin, tenant, prefix):
    # The prefix is searched as a range of ids: its bound must hold where the last character has
    # no plain successor (z, 9, Z, punctuation, beyond ASCII).
    starting = [prefix, prefix + "0", prefix + "z", prefix + "~", prefix + "\u00ff"]
    around = [prefix[:-1], prefix[:-1] + chr(ord(prefix[-1]) + 1), prefix[:-1] + "\u00ff", "a" + prefix]
    for user_id in starting + around:
        add_user(app, tenant.id, user_id)

    assert sorted(listed_users(admin.get("/console/users", query_string={"q": prefix}))) == sorted(starting)


def test_user_pages_neither_repeat_nor_skip(app, admin, tenant):
    expected = sorted(f"user-{n:03d}" for n in range(120))
    for user_id in expected:
        add_user(app, tenant.id, user_id)

    seen, url, pages = [], "/console/users?q=user-", 0
    while url:
        response = admin.get(url, headers={"HX-Request": "true"} if pages else {})
        seen += listed_users(response)
        url, pages = pager_link(response), pages + 1

    assert pages == 3 and seen == expected


def test_search_shows_only_the_signed_in_tenant(app, admin, tenant, other_tenant):
    add_user(app, tenant.id, "alice")
    add_user(app, other_tenant, "alien")

    assert listed_users(admin.get("/console/users?q=ali")) == ["alice"]
    assert admin.get("/console/users/alien").status_code == 404


def test_user_ids_are_escaped_in_the_list(app, admin, tenant):
    add_user(app, tenant.id, XSS, email="x@example.com")

    response = admin.get("/console/users")
    searched = admin.get("/console/users?q=%3Cscript%3E")

    assert listed_users(response) == [XSS]
    assert text_of(parse(response).select_one("#user-results tbody a")) == XSS  # shown as text
    for page in (response, searched):
        assert parse(page).find("script", string=lambda s: s and "alert" in s) is None
        # Escaping is about the bytes sent: the injected markup itself must not be in them.
        assert XSS not in page.get_data(as_text=True)


# --- the user page -------------------------------------------------------------------------------

def test_user_page_shows_attributes_authenticators_and_recent_actions(app, admin, api, tenant):
    add_user(app, tenant.id, "alice", email="alice@example.com", email_verified=True, phone_number="+64211234567",
             username="ally", display_name="Alice A.", locale="en-NZ", custom={"tier": "gold"})
    passkey_id = add_passkey(app, tenant.id, "alice")
    enroll_authenticator_app(api, "alice")
    for _ in range(22):
        api.post("/users/alice/actions/sign-in", json={"ipAddress": "203.0.113.9"})

    response = admin.get("/console/users/alice")
    page = parse(response)

    assert response.status_code == 200
    attributes = section(page, "Attributes")
    facts = definitions(attributes.dl)
    assert (facts["Email"], facts["Phone"]) == ("alice@example.com (verified)", "+64211234567 (not verified)")
    assert (facts["Username"], facts["Display name"], facts["Locale"]) == ("ally", "Alice A.", "en-NZ")
    assert custom_data(attributes) == {"tier": '"gold"'}
    authenticators = section(page, "Authenticators")
    rows = table_rows(authenticators)
    assert sorted(row["Type"] for row in rows) == ["Authenticator app", "Passkey"]
    [passkey] = [row for row in authenticators.select("tbody tr") if text_of(row.find_all("td")[1]) == "Passkey"]
    name, _, created, last_used = (text_of(td) for td in passkey.find_all("td")[:4])
    assert (name, created, last_used) == ("Work laptop", "2025-03-01 12:00", "2025-03-02 08:30")
    assert definitions(passkey) == {"Made by": "Chrome on Mac", "AAGUID": "adce0002-35bc-c60a-648b-0b25f1f05503",
                                    "Backup": "eligible: yes, backed up: no", "Attachment": "platform"}
    icon = passkey.select_one(".passkey-provider img")
    assert icon["src"].startswith("data:image/svg+xml;base64,") and icon["alt"] == ""  # the name beside it says it
    assert passkey.find("a", string="Remove…")["href"] == f"/console/users/alice/authenticators/{passkey_id}/delete"
    recent = section(page, "Recent actions")
    assert len(recent.select('tbody a[href^="/console/activity/"]')) == 20
    assert recent.find("a", href="/console/activity?user=alice") is not None


def test_user_page_escapes_the_user_id_and_custom_data(app, admin, tenant):
    add_user(app, tenant.id, XSS, display_name="<b>bold</b>", custom={"<k>": "<script>alert(2)</script>"})

    response = admin.get("/console/users/%3Cscript%3Ealert(1)%3C/script%3E")

    assert response.status_code == 200
    page = parse(response)
    # Shown as text, every one of them ...
    assert text_of(page.find("h1")) == XSS
    attributes = section(page, "Attributes")
    assert definitions(attributes.dl)["Display name"] == "<b>bold</b>"
    assert custom_data(attributes) == {"<k>": '"<script>alert(2)</script>"'}
    # ... so no element of the kinds injected exists ...
    assert page.find("main").find_all(["script", "b", "k"]) == []
    assert page.find("script", string=lambda s: s and "alert" in s) is None
    # ... and, since escaping is about the bytes sent, the injected markup is not in them either.
    html = response.get_data(as_text=True)
    for raw in (XSS, "<b>bold", "<k>", "<script>alert(2)"):
        assert raw not in html, raw


def test_user_ids_with_slashes_reach_their_page(app, admin, tenant):
    add_user(app, tenant.id, "org/42/alice")

    assert admin.get("/console/users/org/42/alice").status_code == 200
    assert listed_users(admin.get("/console/users?q=org/")) == ["org/42/alice"]


def test_unknown_user_is_not_found(admin):
    assert admin.get("/console/users/nobody").status_code == 404


def test_reviewers_read_users_but_see_no_remove_links(app, reviewer, tenant):
    add_user(app, tenant.id, "alice")
    add_passkey(app, tenant.id, "alice")

    assert reviewer.get("/console/users").status_code == 200
    response = reviewer.get("/console/users/alice")
    authenticators = section(parse(response), "Authenticators")
    assert [row["Name"] for row in table_rows(authenticators)] == ["Work laptop"]
    assert authenticators.select('a[href$="/delete"]') == []
    assert "/delete" not in response.get_data(as_text=True)  # nor any other way there (a form, an hx-get)


# --- removing an authenticator -------------------------------------------------------------------

def test_remove_asks_for_confirmation_first(app, admin, tenant):
    add_user(app, tenant.id, "alice")
    passkey_id = add_passkey(app, tenant.id, "alice")
    url = f"/console/users/alice/authenticators/{passkey_id}/delete"

    response = admin.get(url)
    fragment = admin.get(url, headers={"HX-Request": "true"})

    page = parse(response)
    assert not is_fragment(response) and text_of(page.find(id="remove-heading")) == "Remove Work laptop?"
    form = page.find(id="remove-heading").find_parent("section").form
    box = form.find("input", attrs={"name": "confirm"})
    assert box["type"] == "checkbox" and box.has_attr("required")
    assert form.find("input", attrs={"name": "csrf_token"}) is not None
    assert box["id"] == f"confirm-remove-{passkey_id}" and form.find("label", attrs={"for": box["id"]}) is not None
    assert is_fragment(fragment) and parse(fragment).find("form")["method"] == "post"
    assert authenticator_count(app, passkey_id) == 1


def test_remove_without_ticking_the_box_changes_nothing(app, admin, tenant):
    add_user(app, tenant.id, "alice")
    passkey_id = add_passkey(app, tenant.id, "alice")

    response = admin.post(f"/console/users/alice/authenticators/{passkey_id}/delete", data={})

    assert response.status_code == 400
    assert field_error(response, "confirm-remove", control=f"confirm-remove-{passkey_id}") == (
        "Tick the box to confirm the removal.")
    assert authenticator_count(app, passkey_id) == 1


def test_confirmed_remove_deletes_audits_and_returns_to_the_user(app, admin, tenant):
    add_user(app, tenant.id, "alice")
    passkey_id = add_passkey(app, tenant.id, "alice")

    response = admin.post(f"/console/users/alice/authenticators/{passkey_id}/delete", data={"confirm": "yes"})

    assert response.status_code == 303 and response.headers["Location"].endswith("/console/users/alice")
    assert authenticator_count(app, passkey_id) == 0
    assert flash_messages(admin.get("/console/users/alice")) == ["Authenticator removed."]

    with app.app_context():
        event = db.session.execute(select(AuditEvent)).scalar_one()
        assert (event.event, event.target_type, event.target_id) == ("authenticator.removed", "authenticator", passkey_id)
        assert event.actor_email == "admin@example.com" and event.tenant_id == tenant.id
        assert event.before["verificationMethod"] == "PASSKEY" and event.before["userId"] == "alice"
        assert event.before["aaguid"] == "adce0002-35bc-c60a-648b-0b25f1f05503" and event.after is None


def test_htmx_remove_redirects_with_hx_redirect(app, admin, tenant):
    add_user(app, tenant.id, "alice")
    passkey_id = add_passkey(app, tenant.id, "alice")

    response = admin.post(f"/console/users/alice/authenticators/{passkey_id}/delete", data={"confirm": "yes"}, htmx=True)

    assert response.status_code == 204 and response.headers["HX-Redirect"].endswith("/console/users/alice")
    assert authenticator_count(app, passkey_id) == 0


def test_remove_without_csrf_token_is_refused(app, admin, tenant):
    add_user(app, tenant.id, "alice")
    passkey_id = add_passkey(app, tenant.id, "alice")

    response = admin.client.post(f"/console/users/alice/authenticators/{passkey_id}/delete", data={"confirm": "yes"})

    assert response.status_code == 400
    assert authenticator_count(app, passkey_id) == 1


def test_reviewers_cannot_remove_or_even_see_the_confirmation(app, reviewer, tenant):
    add_user(app, tenant.id, "alice")
    passkey_id = add_passkey(app, tenant.id, "alice")
    url = f"/console/users/alice/authenticators/{passkey_id}/delete"

    assert reviewer.get(url).status_code == 403
    assert reviewer.post(url, data={"confirm": "yes"}).status_code == 403
    assert authenticator_count(app, passkey_id) == 1


def test_another_users_or_tenants_authenticator_is_not_found(app, admin, tenant, other_tenant):
    add_user(app, tenant.id, "alice")
    add_user(app, tenant.id, "bob")
    add_user(app, other_tenant, "alice")
    bobs = add_passkey(app, tenant.id, "bob")
    foreign = add_passkey(app, other_tenant, "alice")

    assert admin.post(f"/console/users/alice/authenticators/{bobs}/delete", data={"confirm": "yes"}).status_code == 404
    assert admin.get(f"/console/users/alice/authenticators/{foreign}/delete").status_code == 404
    assert admin.post(f"/console/users/alice/authenticators/{foreign}/delete", data={"confirm": "yes"}).status_code == 404
    assert authenticator_count(app, bobs) == 1 and authenticator_count(app, foreign) == 1
