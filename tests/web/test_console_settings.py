"""Settings in the console: tenant settings (and that they take effect), API keys, the team, the audit log."""

from __future__ import annotations

import base64
import re

import jwt
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApiKey, AuditEvent, ConsoleUser, Tenant
from tests.factories import make_action
from tests.html import (
    alerts,
    csrf_from,
    field_error,
    flash_messages,
    fragment_root,
    is_fragment,
    option_texts,
    pager_link,
    parse,
    shown_secret,
    table_rows,
    text_of,
)
from tests.web.conftest import sign_in

SETTINGS_PAGES = [
    "/console/settings",
    "/console/settings/api-keys",
    "/console/settings/api-keys/new",
    "/console/settings/team",
    "/console/settings/team/new",
    "/console/settings/audit",
    "/console/settings/review-reasons",
    "/console/settings/brand",
]
RAW_KEY = re.compile(r"tg_sk_[A-Za-z0-9_-]+")
VALID = {
    "name": "Acme Bank",
    "logo_url": "",
    "webauthn_rp_id": "",
    "webauthn_rp_name": "",
    "webauthn_origins": "",
    "redirect_allowlist": "",
    "client_token_ttl": "",
}


# -- helpers ----------------------------------------------------------------------------------------


def basic(raw_key: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{raw_key}:".encode()).decode()}


def save_settings(admin, htmx=False, **fields):
    return admin.post("/console/settings", data={**VALID, **fields}, htmx=htmx)


def tenant_row(app, tenant_id: str) -> Tenant:
    with app.app_context():
        row = db.session.get(Tenant, tenant_id)
        db.session.expunge(row)
        return row


def audit_events(app) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())
        db.session.expunge_all()
        return rows


def key_ids(app, tenant_id: str) -> list[str]:
    with app.app_context():
        return list(db.session.execute(
            select(ApiKey.id).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at)).scalars())


def create_key(admin, name="Payments backend") -> str:
    response = admin.post("/console/settings/api-keys", data={"name": name})
    assert response.status_code == 200, response.data
    return shown_key(response)


def shown_key(response) -> str:
    """The new secret key the page shows (once), checking it looks like one."""
    raw = shown_secret(response, "Secret key")
    assert RAW_KEY.fullmatch(raw), raw
    return raw


def user_id(app, email: str) -> str:
    with app.app_context():
        return db.session.execute(select(ConsoleUser.id).where(ConsoleUser.email == email)).scalar_one()


def key_rows(admin) -> dict[str, dict[str, str]]:
    """The API keys list: each key's row (column heading -> text), by the key's name."""
    return {row["Name"]: row for row in table_rows(admin.get("/console/settings/api-keys"), "#api-keys table")}


def team_rows(admin) -> dict[str, dict[str, str]]:
    """The team list: each member's row (column heading -> text), by email."""
    return {row["Email"].removesuffix(" (you)"): row for row in table_rows(admin.get("/console/settings/team"), "#team table")}


# -- pages and fragments ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", SETTINGS_PAGES)
def test_every_settings_page_renders_in_full_and_as_an_htmx_fragment(admin, path):
    page = admin.get(path)
    fragment = admin.get(path, headers={"HX-Request": "true"})

    assert page.status_code == fragment.status_code == 200
    assert not is_fragment(page) and is_fragment(fragment)
    assert parse(page).select_one('nav[aria-label="Settings"]') is not None  # the settings tabs
    assert "HX-Request" in page.headers["Vary"]


def test_revoke_confirmation_renders_in_full_and_as_a_fragment(admin, app, tenant):
    create_key(admin)
    path = f"/console/settings/api-keys/{key_ids(app, tenant.id)[0]}/revoke"

    page, fragment = admin.get(path), admin.get(path, headers={"HX-Request": "true"})

    assert page.status_code == fragment.status_code == 200
    assert not is_fragment(page) and is_fragment(fragment)
    assert parse(fragment).find("button", string="Revoke key") is not None


def test_unknown_ids_are_404(admin):
    assert admin.get("/console/settings/api-keys/nope/revoke").status_code == 404
    assert admin.post("/console/settings/api-keys/nope/revoke").status_code == 404
    assert admin.post("/console/settings/team/nope/disable").status_code == 404


def test_settings_link_in_the_top_bar_is_current(admin):
    page = parse(admin.get("/console/settings/audit"))

    current = page.select('nav[aria-label="Main"] a[aria-current="page"]')
    assert [(link["href"], text_of(link)) for link in current] == [("/console/settings", "Settings")]


# -- tenant settings --------------------------------------------------------------------------------


def test_settings_form_shows_environment_defaults(admin):
    page = parse(admin.get("/console/settings"))

    labels = [text_of(label) for label in page.find_all("label")]
    for label in ("Name", "Logo URL", "Passkey relying party ID (RP ID)", "Allowed passkey origins",
                  "Redirect URL allow-list", "Client token lifetime (seconds)"):
        assert label in labels
    assert page.find(id="webauthn_rp_id")["placeholder"] == "localhost"  # RP ID from TOLLGATE_PUBLIC_URL
    assert "Default: 600." in text_of(page.find(id="client_token_ttl-hint"))
    assert "https://shop.example/done" in text_of(page.find(id="redirect_allowlist-hint"))  # TOLLGATE_REDIRECT_ALLOWLIST
    assert page.find(id="name")["value"] == "Test tenant"


def test_saving_settings_stores_overrides_and_audits_before_and_after(admin, app, tenant):
    response = save_settings(
        admin, name="Acme Bank", logo_url="https://cdn.acme.example/logo.svg", webauthn_rp_id="acme.example",
        webauthn_rp_name="Acme", webauthn_origins="https://login.acme.example\nhttps://acme.example/",
        redirect_allowlist="https://acme.example/return\n\nhttps://m.acme.example", client_token_ttl="900",
    )

    assert response.status_code == 303 and response.headers["Location"].endswith("/console/settings")
    row = tenant_row(app, tenant.id)
    assert row.name == "Acme Bank" and row.logo_url == "https://cdn.acme.example/logo.svg"
    assert (row.webauthn_rp_id, row.webauthn_rp_name) == ("acme.example", "Acme")
    assert row.webauthn_origins == ["https://login.acme.example", "https://acme.example"]
    assert row.redirect_allowlist == ["https://acme.example/return", "https://m.acme.example"]
    assert row.client_token_ttl == 900
    event = audit_events(app)[-1]
    assert (event.event, event.target_type, event.actor_email) == ("tenant.settings_updated", "tenant", "admin@example.com")
    assert event.before["name"] == "Test tenant" and event.before["client_token_ttl"] is None
    assert event.after["name"] == "Acme Bank" and event.after["client_token_ttl"] == 900
    assert flash_messages(admin.get("/console/settings")) == ["Settings saved. They apply to the next request."]


def test_empty_fields_go_back_to_the_environment_defaults(admin, app, tenant):
    save_settings(admin, webauthn_rp_name="Acme", client_token_ttl="900", redirect_allowlist="https://a.example")

    save_settings(admin)

    row = tenant_row(app, tenant.id)
    assert (row.webauthn_rp_name, row.client_token_ttl, row.redirect_allowlist) == (None, None, None)


def test_remembering_devices_is_a_number_of_days_and_empty_turns_it_off(admin, app, tenant):
    save_settings(admin, remember_device_days="14")
    assert tenant_row(app, tenant.id).remember_device_days == 14
    assert parse(admin.get("/console/settings")).find("input", attrs={"name": "remember_device_days"})["value"] == "14"

    save_settings(admin, remember_device_days="")

    assert tenant_row(app, tenant.id).remember_device_days == 0


def test_saving_without_changes_records_nothing(admin, app):
    save_settings(admin, name="Test tenant")

    assert audit_events(app) == []


def test_htmx_save_redirects_with_hx_redirect(admin):
    response = save_settings(admin, htmx=True)

    assert response.status_code == 204
    assert response.headers["HX-Redirect"].endswith("/console/settings")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "", "Enter the name"),
    ("name", "x" * 121, "at most 120"),
    ("logo_url", "ftp://example.com/logo.png", "absolute https:// URL"),
    ("logo_url", "http://cdn.example.com/logo.png", "http only for localhost"),
    ("logo_url", "https://exa;mple.com/logo.png", "not a valid domain"),
    ("webauthn_rp_id", "https://example.com", "domain name"),
    ("webauthn_rp_id", "example.com", "parent domain of origin http://localhost:5000 (an environment default)"),
    ("webauthn_origins", "https://example.com/path", "not an origin"),
    ("webauthn_origins", "https://other.example", "parent domain of origin https://other.example."),
    ("redirect_allowlist", "javascript:alert(1)", "not an absolute http(s) URL"),
    ("redirect_allowlist", "https://a.example/?q=1", "scheme://host[:port][/path] only"),
    ("client_token_ttl", "59", "between 60 and 86400"),
    ("client_token_ttl", "86401", "between 60 and 86400"),
    ("client_token_ttl", "ten", "Not a valid integer"),
    ("remember_device_days", "91", "1 to 90 days, or 0 for never"),
    ("remember_device_days", "-1", "1 to 90 days, or 0 for never"),
])
def test_each_field_is_validated_with_the_message_next_to_it(admin, app, tenant, field, value, message):
    response = save_settings(admin, **{field: value})

    assert response.status_code == 400
    page = parse(response)
    assert message in field_error(page, field)
    assert "Some fields need a change" in text_of(page.select_one('.error-summary[role="alert"]'))
    assert tenant_row(app, tenant.id).name == "Test tenant"  # nothing saved


def test_rp_id_and_origins_are_checked_together(admin, app, tenant):
    response = save_settings(admin, webauthn_rp_id="acme.example", webauthn_origins="https://login.acme.example")

    assert response.status_code == 303
    assert tenant_row(app, tenant.id).webauthn_rp_id == "acme.example"


def test_validation_errors_come_back_as_a_fragment_for_htmx(admin):
    response = save_settings(admin, htmx=True, client_token_ttl="5")

    assert response.status_code == 400
    assert fragment_root(response).get("id") == "tenant-settings"
    assert "between 60 and 86400" in field_error(response, "client_token_ttl")


# -- tenant settings take effect --------------------------------------------------------------------


def test_a_redirect_allowed_only_by_the_tenant_is_accepted_by_track(admin, api, app, tenant):
    body = {"redirectUrl": "https://acme.example/return/ok"}
    assert api.post("/users/alice/actions/sign-in", json=body).status_code == 400

    save_settings(admin, redirect_allowlist="https://acme.example/return")

    assert api.post("/users/alice/actions/sign-in", json=body).status_code == 200
    # The tenant's list replaces the environment's, it does not add to it.
    assert api.post("/users/alice/actions/sign-in", json={"redirectUrl": "https://app.example/x"}).status_code == 400


def test_client_token_lifetime_comes_from_the_tenant(admin, api):
    save_settings(admin, client_token_ttl="120")

    token = api.post("/users/alice/actions/sign-in", json={}).get_json()["token"]

    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120


def test_passkey_registration_uses_the_tenant_relying_party(admin, api, app, tenant, client):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")
    save_settings(admin, webauthn_rp_id="acme.example", webauthn_rp_name="Acme Bank",
                  webauthn_origins="https://login.acme.example")
    token = api.post("/users/alice/actions/withdraw-funds", json={}).get_json()["token"]

    response = client.post("/v1/client/user-authenticators/passkey/registration-options",
                           headers={"Authorization": f"Bearer {token}"}, json={"username": "alice"})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["options"]["rp"] == {"id": "acme.example", "name": "Acme Bank"}


def test_client_api_cors_allows_the_tenant_origins(admin, client):
    preflight = {"Origin": "https://login.acme.example", "Access-Control-Request-Method": "POST"}
    before = client.options("/v1/client/challenge", headers=preflight)
    save_settings(admin, webauthn_rp_id="acme.example", webauthn_origins="https://login.acme.example")

    after = client.options("/v1/client/challenge", headers=preflight)

    assert "Access-Control-Allow-Origin" not in before.headers
    assert after.headers["Access-Control-Allow-Origin"] == "https://login.acme.example"


def test_hosted_pages_show_the_tenant_name_and_logo_and_allow_it_in_the_csp(admin, api, app, tenant, client):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")
    save_settings(admin, name="Acme Bank", logo_url="https://cdn.acme.example/brand/logo.svg",
                  redirect_allowlist="https://acme.example/return")
    url = api.post("/users/alice/actions/withdraw-funds", json={}).get_json()["url"]

    page = client.get(url.removeprefix("http://localhost:5000") + "&mode=popup")

    hosted = parse(page)
    logo = hosted.select_one("img.tenant-logo")
    assert (logo["src"], logo["alt"]) == ("https://cdn.acme.example/brand/logo.svg", "Acme Bank logo")
    assert text_of(hosted.select_one(".tenant")) == "Acme Bank"
    csp = page.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://cdn.acme.example;" in csp
    assert "frame-ancestors https://acme.example" in csp  # popup framing follows the tenant's allow-list
    assert "form-action 'self' https://acme.example;" in csp


def test_hosted_pages_without_a_logo_keep_the_strict_img_src(api, app, tenant, client):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")
    url = api.post("/users/alice/actions/withdraw-funds", json={}).get_json()["url"]

    page = client.get(url.removeprefix("http://localhost:5000"))

    assert "img-src 'self' data:;" in page.headers["Content-Security-Policy"]
    assert parse(page).select(".tenant-logo") == []


# -- API keys ---------------------------------------------------------------------------------------


def test_a_new_key_is_shown_once_and_works(admin, app, tenant, client):
    response = admin.post("/console/settings/api-keys", data={"name": "Payments backend"})

    raw = shown_key(response)
    assert any("shown only this once" in alert for alert in alerts(response))
    assert client.get("/v1/users/alice", headers=basic(raw)).status_code == 200
    # Never shown again: not anywhere in the list's bytes (text, attributes or scripts alike).
    assert raw not in admin.get("/console/settings/api-keys").get_data(as_text=True)
    assert key_rows(admin)["Payments backend"]["Key"].endswith("…" + raw[-4:])
    with app.app_context():
        stored = db.session.execute(select(ApiKey).where(ApiKey.name == "Payments backend")).scalar_one()
        assert raw not in (stored.digest, stored.secret_ciphertext)
    event = audit_events(app)[-1]
    assert (event.event, event.target_id, event.after["name"]) == ("api_key.created", stored.id, "Payments backend")
    assert raw not in repr(event.after)


def test_key_creation_with_htmx_swaps_in_the_key(admin):
    response = admin.post("/console/settings/api-keys", data={"name": "CI"}, htmx=True)

    assert response.status_code == 200
    assert is_fragment(response) and shown_key(response)


def test_a_key_needs_a_name(admin, app, tenant):
    response = admin.post("/console/settings/api-keys", data={"name": "  "})

    assert response.status_code == 400
    assert "Give the key a name" in field_error(response, "name")
    assert len(key_ids(app, tenant.id)) == 1


def test_revoking_a_key_refuses_it_at_once(admin, app, tenant, client):
    raw = create_key(admin)
    new_id = key_ids(app, tenant.id)[1]

    response = admin.post(f"/console/settings/api-keys/{new_id}/revoke")

    assert response.status_code == 303
    assert client.get("/v1/users/alice", headers=basic(raw)).status_code == 401
    assert client.get("/v1/users/alice", headers=basic(tenant.api_key)).status_code == 200
    listing = admin.get("/console/settings/api-keys")
    assert key_rows(admin)["Payments backend"]["Status"].startswith("Revoked")
    assert any("is revoked" in message for message in flash_messages(listing))
    event = audit_events(app)[-1]
    assert (event.event, event.before["revoked"], event.after["revoked"]) == ("api_key.revoked", False, True)


def test_revoking_with_htmx_redirects(admin, app, tenant):
    create_key(admin)

    response = admin.post(f"/console/settings/api-keys/{key_ids(app, tenant.id)[1]}/revoke", htmx=True)

    assert response.status_code == 204 and response.headers["HX-Redirect"].endswith("/console/settings/api-keys")


def test_the_last_active_key_cannot_be_revoked(admin, app, tenant, client):
    only = key_ids(app, tenant.id)[0]
    [row] = key_rows(admin).values()
    assert row["Actions"] == "Last active key"

    response = admin.post(f"/console/settings/api-keys/{only}/revoke")

    assert response.status_code == 409
    assert any("at least one active key at all times" in alert for alert in alerts(response))
    assert client.get("/v1/users/alice", headers=basic(tenant.api_key)).status_code == 200
    assert audit_events(app) == []


def test_a_revoked_key_cannot_be_revoked_again(admin, app, tenant):
    create_key(admin)
    new_id = key_ids(app, tenant.id)[1]
    admin.post(f"/console/settings/api-keys/{new_id}/revoke")

    response = admin.post(f"/console/settings/api-keys/{new_id}/revoke")

    assert response.status_code == 409
    assert alerts(response) == ["This key is already revoked."]


def test_keys_of_another_tenant_are_not_found(admin, app):
    from app.services.tenancy.api_keys import create_api_key

    with app.app_context():
        other = Tenant(name="Other")
        db.session.add(other)
        db.session.commit()
        key, _ = create_api_key(other.id, name="theirs", settings=app.config["TOLLGATE"])
        key_id = key.id

    assert admin.get(f"/console/settings/api-keys/{key_id}/revoke").status_code == 404
    assert admin.post(f"/console/settings/api-keys/{key_id}/revoke").status_code == 404


# -- the team ---------------------------------------------------------------------------------------


def test_inviting_someone_shows_their_first_password_once(admin, app):
    response = admin.post("/console/settings/team", data={"email": "Rita@Example.com", "name": "Rita", "role": "reviewer"})

    assert response.status_code == 200 and any("shown only this once" in alert for alert in alerts(response))
    password = shown_secret(response, "First password")
    newcomer = app.test_client()
    assert sign_in(newcomer, "rita@example.com", password).status_code == 302
    # It only gets them as far as choosing their own (tests/web/test_console_password.py).
    assert newcomer.get("/console/activity").headers["Location"].endswith("/console/account/password")
    assert "rita@example.com" in team_rows(admin)
    # Never shown again: not anywhere in the list's bytes (text, attributes or scripts alike).
    assert password not in admin.get("/console/settings/team").get_data(as_text=True)
    event = audit_events(app)[-1]
    assert (event.event, event.after) == ("console_user.invited",
                                          {"email": "rita@example.com", "name": "Rita", "role": "reviewer"})


def test_the_invite_form_says_no_email_is_sent(admin):
    assert "Tollgate does not send email" in text_of(parse(admin.get("/console/settings/team/new")).find("main"))


def test_invite_with_htmx_swaps_in_the_password(admin):
    response = admin.post("/console/settings/team", data={"email": "a@example.com", "role": "admin"}, htmx=True)

    assert response.status_code == 200 and is_fragment(response)
    assert shown_secret(response, "First password")


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"email": "", "role": "reviewer"}, "email", "Enter their email address."),
    ({"email": "not-an-email", "role": "reviewer"}, "email", "email must be an email address."),
    ({"email": "admin@example.com", "role": "reviewer"}, "email", "already exists"),
    ({"email": "b@example.com", "role": "owner"}, "role", "Not a valid choice"),
])
def test_invite_errors_are_shown_next_to_the_field(admin, data, field, message):
    response = admin.post("/console/settings/team", data=data)

    assert response.status_code == 400
    assert message in field_error(response, field)


def test_disabling_someone_ends_their_sessions_and_enabling_lets_them_back(admin, app, reviewer):
    reviewer_id = user_id(app, "reviewer@example.com")

    response = admin.post(f"/console/settings/team/{reviewer_id}/disable")

    assert response.status_code == 303
    assert reviewer.get("/console/activity").status_code == 302
    assert alerts(sign_in(app.test_client(), "reviewer@example.com")) == ["This account is disabled."]
    assert team_rows(admin)["reviewer@example.com"]["Status"].startswith("Disabled")

    assert admin.post(f"/console/settings/team/{reviewer_id}/enable").status_code == 303
    assert sign_in(app.test_client(), "reviewer@example.com").status_code == 302
    assert [e.event for e in audit_events(app)] == ["console_user.disabled", "console_user.enabled"]


def test_admins_cannot_disable_themselves(admin, app):
    response = admin.post(f"/console/settings/team/{user_id(app, 'admin@example.com')}/disable", htmx=True)

    assert response.status_code == 400
    assert fragment_root(response).get("id") == "team" and alerts(response) == ["You cannot disable yourself."]
    assert admin.get("/console/settings").status_code == 200


def test_the_team_list_has_no_disable_button_for_yourself(admin, app, make_console_user):
    make_console_user("other@example.com", "reviewer")

    page = parse(admin.get("/console/settings/team"))

    buttons = {text_of(row.td).removesuffix(" (you)"): [text_of(b) for b in row.find_all("button")]
               for row in page.select("#team tbody tr")}
    forms = page.select("#team tbody form")
    posts = {form["action"] for form in forms} | {form["hx-post"] for form in forms}
    assert buttons == {"admin@example.com": [], "other@example.com": ["Disable other@example.com"]}
    assert f"/console/settings/team/{user_id(app, 'other@example.com')}/disable" in posts
    assert not any(user_id(app, "admin@example.com") in url for url in posts)


# -- audit log --------------------------------------------------------------------------------------


@pytest.fixture
def some_history(admin, app, make_console_user):
    """A key created, settings changed, someone disabled (three events, in that order)."""
    create_key(admin, "Audit me")
    save_settings(admin, name="Renamed", client_token_ttl="120")
    make_console_user("r@example.com", "reviewer")
    admin.post(f"/console/settings/team/{user_id(app, 'r@example.com')}/disable")


def test_the_audit_log_lists_changes_newest_first_with_a_readable_diff(admin, some_history):
    page = parse(admin.get("/console/settings/audit"))

    rows = {text_of(row.select_one("td code")): row for row in page.select("#audit-results tbody tr")}
    assert list(rows) == ["console_user.disabled", "tenant.settings_updated", "api_key.created"]
    diff = rows["tenant.settings_updated"].select_one("dl.diff")
    assert [text_of(dt) for dt in diff.find_all("dt")] == ["name", "client_token_ttl"]  # unchanged keys are left out
    name = diff.find("dt", string="name").find_next_sibling("dd")
    assert (text_of(name.find("del")), text_of(name.find("ins"))) == ("Test tenant", "Renamed")
    assert "r@example.com" in text_of(rows["console_user.disabled"])
    assert {row["Who"] for row in table_rows(page, "#audit-results table")} == {"admin@example.com"}


def test_the_audit_log_shows_json_values_as_people_read_them(admin, app, tenant):
    from app.services.tenancy.audit import record_change

    conditions = {">": [{"var": "custom.amount"}, 1000], "note": "<b> & ünïcode"}
    with app.app_context():
        record_change("cli", "rule.created", "r1", "rule", tenant_id=tenant.id, after={"conditions": conditions})
        db.session.commit()

    page = parse(admin.get("/console/settings/audit"))

    shown = page.select_one("#audit-results dl.diff ins code")
    assert text_of(shown) == '{">": [{"var": "custom.amount"}, 1000], "note": "<b> & ünïcode"}'


@pytest.mark.parametrize(("query", "shown", "hidden"), [
    ("event=api_key.created", "api_key.created", "tenant.settings_updated"),
    ("target_type=console_user", "console_user.disabled", "api_key.created"),
    ("actor=ADMIN@example.com", "api_key.created", None),
    ("actor=nobody@example.com", "No change matches these filters.", "api_key.created"),
])
def test_the_audit_log_filters(admin, some_history, query, shown, hidden):
    full = admin.get(f"/console/settings/audit?{query}")
    fragment = admin.get(f"/console/settings/audit?{query}", headers={"HX-Request": "true"})

    for response in (full, fragment):
        rows = text_of(parse(response).select_one("#audit-results tbody"))
        assert shown in rows
        if hidden:
            assert hidden not in rows
    assert fragment_root(fragment).get("id") == "audit-results"


def test_the_filter_menus_offer_what_was_recorded(admin, some_history):
    page = parse(admin.get("/console/settings/audit"))

    assert "api_key.created" in option_texts(page, "event") and "console_user" in option_texts(page, "target_type")


def test_the_audit_log_pages_by_keyset(admin, app, tenant):
    from app.services.tenancy.audit import PAGE_SIZE, record_change

    with app.app_context():
        actor = db.session.execute(select(ConsoleUser)).scalar_one()
        for number in range(PAGE_SIZE + 3):
            record_change(actor, "test.event", f"target-{number}", "test", after={"n": number})
        db.session.commit()

    first = parse(admin.get("/console/settings/audit?event=test.event"))
    older = pager_link(first)
    second = parse(admin.get(older, headers={"HX-Request": "true"}))

    def targets(page):
        return [text_of(target) for target in page.select("#audit-results tbody .id")]

    assert targets(first) == [f"target-{n}" for n in reversed(range(3, PAGE_SIZE + 3))]
    assert targets(second) == ["target-2", "target-1", "target-0"]
    assert re.search(r"before=\d+", older) and "event=test.event" in older
    assert pager_link(second) is None and second.find("a", string="← Newest") is not None


# -- guards -----------------------------------------------------------------------------------------


def settings_urls(app) -> list[tuple[str, str]]:
    return [(method, rule.rule.replace("<key_id>", "x").replace("<user_id>", "x"))
            for rule in app.url_map.iter_rules() if rule.endpoint.startswith("console.settings")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def test_settings_are_for_admins_only(app, reviewer):
    urls = settings_urls(app)
    # With the management keys (4) and Brand (5: the page, its save, the preview, the sample and its stylesheet).
    assert len(urls) == 24

    for method, url in urls:
        response = reviewer.client.open(url, method=method, headers={"X-CSRFToken": reviewer.csrf})
        assert response.status_code == 403, (method, url, response.status_code)


def test_reviewers_see_no_settings_link(reviewer):
    response = reviewer.get("/console/activity")

    assert parse(response).select('a[href^="/console/settings"]') == []
    assert "/console/settings" not in response.get_data(as_text=True)  # nor any other way there (a form, an hx-get)



@pytest.mark.parametrize("path", [
    "/console/settings", "/console/settings/api-keys", "/console/settings/team", "/console/settings/team/x/disable",
    "/console/settings/api-keys/x/revoke",
])
def test_settings_changes_without_a_csrf_token_are_refused(admin, app, tenant, path):
    response = admin.client.post(path, data={**VALID, "name": "Hijacked", "email": "evil@example.com", "role": "admin"})

    assert response.status_code == 400
    assert tenant_row(app, tenant.id).name == "Test tenant"
    assert audit_events(app) == []


def test_a_form_token_works_like_the_header(admin, app, tenant):
    page = admin.get("/console/settings")

    response = admin.client.post("/console/settings", data={**VALID, "name": "Via form", "csrf_token": csrf_from(page)})

    assert response.status_code == 303
    assert tenant_row(app, tenant.id).name == "Via form"


# ---------------------------------------------------------------------------------------------
# Review reasons


def reasons_text(page) -> str:
    """The reasons box's text as a browser reads it (which drops a newline right after <textarea>)."""
    return parse(page).find("textarea", attrs={"name": "reasons"}).get_text().removeprefix("\r\n")


def test_admins_edit_the_review_reasons_starting_from_the_defaults(app, admin):
    from tests.web.conftest import audit_events

    shown = admin.get("/console/settings/review-reasons")
    saved = admin.post("/console/settings/review-reasons", data={"reasons": "Fraud\n\n  Known   customer \nKYC/AML"})
    again = admin.get("/console/settings/review-reasons")

    assert shown.status_code == 200 and reasons_text(shown) == "Confirmed by customer\nFraud\nPolicy"
    assert saved.status_code == 303 and flash_messages(again) == ["Review reasons saved."]
    assert reasons_text(again) == "Fraud\nKnown customer\nKYC/AML"
    [event] = audit_events(app, "review.reasons_changed")
    assert event.before == {"reasons": ["Confirmed by customer", "Fraud", "Policy"]}
    assert event.after == {"reasons": ["Fraud", "Known customer", "KYC/AML"]}
    with app.app_context():
        from app.services.reviews.reasons import tenant_reasons

        assert [(r.code, r.label) for r in tenant_reasons(event.tenant_id)] == [
            ("fraud", "Fraud"), ("known-customer", "Known customer"), ("kyc-aml", "KYC/AML")]


@pytest.mark.parametrize(("text", "message"), [
    ("Fraud\nfraud!", "Line 2: “fraud!” is the same reason as “Fraud”."),
    ("x" * 81, "Line 1: a reason is at most 80 characters."),
    ("Fraud\n---", "Line 2: a reason needs a letter or a digit."),
    ("\n".join(f"Reason {i}" for i in range(21)), "At most 20 reasons."),
])
def test_bad_review_reasons_re_render_with_a_message_and_change_nothing(app, admin, text, message):
    response = admin.post("/console/settings/review-reasons", data={"reasons": text}, headers={"HX-Request": "true"})

    assert response.status_code == 400 and fragment_root(response).get("id") == "review-reasons"
    assert field_error(response, "reasons") == message
    assert reasons_text(response) == text  # what was typed stays
    assert reasons_text(admin.get("/console/settings/review-reasons")) == "Confirmed by customer\nFraud\nPolicy"


def test_with_no_reasons_listed_reviewers_write_every_reason(app, api, admin, reviewer, tenant):
    make_action(app, tenant.id, "withdraw", default_outcome="REVIEW")
    api.post("/users/alice/actions/withdraw", json={})
    admin.post("/console/settings/review-reasons", data={"reasons": ""})
    with app.app_context():
        from app.models import UserAction

        case = db.session.execute(select(UserAction.id)).scalar_one()

    decision = parse(reviewer.get(f"/review/{case}")).find(id="decision")
    refused = reviewer.post(f"/review/{case}/decision", data={"decision": "approve", "reason_code": "fraud"})

    assert decision.find("input", attrs={"name": "reason_code"}) is None
    assert decision.find("textarea", attrs={"name": "reason"}).has_attr("required")
    assert refused.status_code == 400 and "Pick a reason from the list." in alerts(refused)
