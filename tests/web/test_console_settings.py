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
from tests.web.conftest import csrf_from, sign_in

SETTINGS_PAGES = [
    "/console/settings",
    "/console/settings/api-keys",
    "/console/settings/api-keys/new",
    "/console/settings/team",
    "/console/settings/team/new",
    "/console/settings/audit",
]
RAW_KEY = re.compile(r"<code>(tg_sk_[A-Za-z0-9_-]+)</code>")
PASSWORD_SHOWN = re.compile(r'aria-labelledby="new-password-label" tabindex="0"><code>([^<]+)</code>')
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
    return RAW_KEY.search(response.get_data(as_text=True)).group(1)


def user_id(app, email: str) -> str:
    with app.app_context():
        return db.session.execute(select(ConsoleUser.id).where(ConsoleUser.email == email)).scalar_one()


def field_error(html: str, field: str) -> str:
    """The error text next to a field, checking that the input points at it."""
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    assert match, f"no error shown for {field}"
    control = re.search(rf'<(?:input|textarea|select)[^>]*\bid="{field}"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in control, control
    assert f"{field}-error" in re.search(r'aria-describedby="([^"]*)"', control).group(1)
    return match.group(1)


# -- pages and fragments ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", SETTINGS_PAGES)
def test_every_settings_page_renders_in_full_and_as_an_htmx_fragment(admin, path):
    page = admin.get(path)
    fragment = admin.get(path, headers={"HX-Request": "true"})

    assert page.status_code == fragment.status_code == 200
    assert b"<html" in page.data and b"<html" not in fragment.data
    assert b'aria-label="Settings"' in page.data  # the settings tabs
    assert "HX-Request" in page.headers["Vary"]


def test_revoke_confirmation_renders_in_full_and_as_a_fragment(admin, app, tenant):
    create_key(admin)
    path = f"/console/settings/api-keys/{key_ids(app, tenant.id)[0]}/revoke"

    page, fragment = admin.get(path), admin.get(path, headers={"HX-Request": "true"})

    assert page.status_code == fragment.status_code == 200
    assert b"<html" in page.data and b"<html" not in fragment.data
    assert b"Revoke key" in fragment.data


def test_unknown_ids_are_404(admin):
    assert admin.get("/console/settings/api-keys/nope/revoke").status_code == 404
    assert admin.post("/console/settings/api-keys/nope/revoke").status_code == 404
    assert admin.post("/console/settings/team/nope/disable").status_code == 404


def test_settings_link_in_the_top_bar_is_current(admin):
    html = admin.get("/console/settings/audit").get_data(as_text=True)

    assert re.search(r'href="/console/settings"\s+aria-current="page">Settings', html)


# -- tenant settings --------------------------------------------------------------------------------


def test_settings_form_shows_environment_defaults(admin):
    html = admin.get("/console/settings").get_data(as_text=True)

    for label in ("Name", "Logo URL", "Passkey relying party ID (RP ID)", "Allowed passkey origins",
                  "Redirect URL allow-list", "Client token lifetime (seconds)"):
        assert f">{label}</label>" in html
    assert 'placeholder="localhost"' in html  # RP ID from TOLLGATE_PUBLIC_URL
    assert "Default: 600." in html
    assert "https://shop.example/done" in html  # TOLLGATE_REDIRECT_ALLOWLIST
    assert 'value="Test tenant"' in html


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
    assert "Settings saved" in admin.get("/console/settings").get_data(as_text=True)


def test_empty_fields_go_back_to_the_environment_defaults(admin, app, tenant):
    save_settings(admin, webauthn_rp_name="Acme", client_token_ttl="900", redirect_allowlist="https://a.example")

    save_settings(admin)

    row = tenant_row(app, tenant.id)
    assert (row.webauthn_rp_name, row.client_token_ttl, row.redirect_allowlist) == (None, None, None)


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
])
def test_each_field_is_validated_with_the_message_next_to_it(admin, app, tenant, field, value, message):
    response = save_settings(admin, **{field: value})

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in field_error(html, field)
    assert "Some fields need a change" in html
    assert tenant_row(app, tenant.id).name == "Test tenant"  # nothing saved


def test_rp_id_and_origins_are_checked_together(admin, app, tenant):
    response = save_settings(admin, webauthn_rp_id="acme.example", webauthn_origins="https://login.acme.example")

    assert response.status_code == 303
    assert tenant_row(app, tenant.id).webauthn_rp_id == "acme.example"


def test_validation_errors_come_back_as_a_fragment_for_htmx(admin):
    response = save_settings(admin, htmx=True, client_token_ttl="5")

    assert response.status_code == 400
    assert b"<html" not in response.data
    assert b'id="tenant-settings"' in response.data
    assert "between 60 and 86400" in field_error(response.get_data(as_text=True), "client_token_ttl")


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

    html = page.get_data(as_text=True)
    assert '<img class="tenant-logo" src="https://cdn.acme.example/brand/logo.svg" alt="Acme Bank logo"' in html
    assert "Acme Bank" in html
    csp = page.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://cdn.acme.example;" in csp
    assert "frame-ancestors https://acme.example" in csp  # popup framing follows the tenant's allow-list
    assert "form-action 'self' https://acme.example;" in csp


def test_hosted_pages_without_a_logo_keep_the_strict_img_src(api, app, tenant, client):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")
    url = api.post("/users/alice/actions/withdraw-funds", json={}).get_json()["url"]

    page = client.get(url.removeprefix("http://localhost:5000"))

    assert "img-src 'self' data:;" in page.headers["Content-Security-Policy"]
    assert b"tenant-logo" not in page.data


# -- API keys ---------------------------------------------------------------------------------------


def test_a_new_key_is_shown_once_and_works(admin, app, tenant, client):
    response = admin.post("/console/settings/api-keys", data={"name": "Payments backend"})

    html = response.get_data(as_text=True)
    raw = RAW_KEY.search(html).group(1)
    assert "shown only this once" in html
    assert client.get("/v1/users/alice", headers=basic(raw)).status_code == 200
    listing = admin.get("/console/settings/api-keys").get_data(as_text=True)
    assert raw not in listing and "Payments backend" in listing and "…" + raw[-4:] in listing
    with app.app_context():
        stored = db.session.execute(select(ApiKey).where(ApiKey.name == "Payments backend")).scalar_one()
        assert raw not in (stored.digest, stored.secret_ciphertext)
    event = audit_events(app)[-1]
    assert (event.event, event.target_id, event.after["name"]) == ("api_key.created", stored.id, "Payments backend")
    assert raw not in repr(event.after)


def test_key_creation_with_htmx_swaps_in_the_key(admin):
    response = admin.post("/console/settings/api-keys", data={"name": "CI"}, htmx=True)

    assert response.status_code == 200
    assert b"<html" not in response.data and RAW_KEY.search(response.get_data(as_text=True))


def test_a_key_needs_a_name(admin, app, tenant):
    response = admin.post("/console/settings/api-keys", data={"name": "  "})

    assert response.status_code == 400
    assert "Give the key a name" in field_error(response.get_data(as_text=True), "name")
    assert len(key_ids(app, tenant.id)) == 1


def test_revoking_a_key_refuses_it_at_once(admin, app, tenant, client):
    raw = create_key(admin)
    new_id = key_ids(app, tenant.id)[1]

    response = admin.post(f"/console/settings/api-keys/{new_id}/revoke")

    assert response.status_code == 303
    assert client.get("/v1/users/alice", headers=basic(raw)).status_code == 401
    assert client.get("/v1/users/alice", headers=basic(tenant.api_key)).status_code == 200
    listing = admin.get("/console/settings/api-keys").get_data(as_text=True)
    assert "Revoked" in listing and "is revoked" in listing
    event = audit_events(app)[-1]
    assert (event.event, event.before["revoked"], event.after["revoked"]) == ("api_key.revoked", False, True)


def test_revoking_with_htmx_redirects(admin, app, tenant):
    create_key(admin)

    response = admin.post(f"/console/settings/api-keys/{key_ids(app, tenant.id)[1]}/revoke", htmx=True)

    assert response.status_code == 204 and response.headers["HX-Redirect"].endswith("/console/settings/api-keys")


def test_the_last_active_key_cannot_be_revoked(admin, app, tenant, client):
    only = key_ids(app, tenant.id)[0]
    assert "Last active key" in admin.get("/console/settings/api-keys").get_data(as_text=True)

    response = admin.post(f"/console/settings/api-keys/{only}/revoke")

    assert response.status_code == 409
    assert "at least one active key at all times" in response.get_data(as_text=True)
    assert client.get("/v1/users/alice", headers=basic(tenant.api_key)).status_code == 200
    assert audit_events(app) == []


def test_a_revoked_key_cannot_be_revoked_again(admin, app, tenant):
    create_key(admin)
    new_id = key_ids(app, tenant.id)[1]
    admin.post(f"/console/settings/api-keys/{new_id}/revoke")

    response = admin.post(f"/console/settings/api-keys/{new_id}/revoke")

    assert response.status_code == 409
    assert b"already revoked" in response.data


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

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "shown only this once" in html
    password = PASSWORD_SHOWN.search(html).group(1)
    newcomer = app.test_client()
    assert sign_in(newcomer, "rita@example.com", password).status_code == 302
    # It only gets them as far as choosing their own (tests/web/test_console_password.py).
    assert newcomer.get("/console/activity").headers["Location"].endswith("/console/account/password")
    team = admin.get("/console/settings/team").get_data(as_text=True)
    assert "rita@example.com" in team and password not in team
    event = audit_events(app)[-1]
    assert (event.event, event.after) == ("console_user.invited",
                                          {"email": "rita@example.com", "name": "Rita", "role": "reviewer"})


def test_the_invite_form_says_no_email_is_sent(admin):
    assert b"Tollgate does not send email" in admin.get("/console/settings/team/new").data


def test_invite_with_htmx_swaps_in_the_password(admin):
    response = admin.post("/console/settings/team", data={"email": "a@example.com", "role": "admin"}, htmx=True)

    assert response.status_code == 200 and b"<html" not in response.data
    assert PASSWORD_SHOWN.search(response.get_data(as_text=True))


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"email": "", "role": "reviewer"}, "email", "Enter their email address."),
    ({"email": "not-an-email", "role": "reviewer"}, "email", "email must be an email address."),
    ({"email": "admin@example.com", "role": "reviewer"}, "email", "already exists"),
    ({"email": "b@example.com", "role": "owner"}, "role", "Not a valid choice"),
])
def test_invite_errors_are_shown_next_to_the_field(admin, data, field, message):
    response = admin.post("/console/settings/team", data=data)

    assert response.status_code == 400
    assert message in field_error(response.get_data(as_text=True), field)


def test_disabling_someone_ends_their_sessions_and_enabling_lets_them_back(admin, app, reviewer):
    reviewer_id = user_id(app, "reviewer@example.com")

    response = admin.post(f"/console/settings/team/{reviewer_id}/disable")

    assert response.status_code == 303
    assert reviewer.get("/console/activity").status_code == 302
    assert b"disabled" in sign_in(app.test_client(), "reviewer@example.com").data
    assert "Disabled" in admin.get("/console/settings/team").get_data(as_text=True)

    assert admin.post(f"/console/settings/team/{reviewer_id}/enable").status_code == 303
    assert sign_in(app.test_client(), "reviewer@example.com").status_code == 302
    assert [e.event for e in audit_events(app)] == ["console_user.disabled", "console_user.enabled"]


def test_admins_cannot_disable_themselves(admin, app):
    response = admin.post(f"/console/settings/team/{user_id(app, 'admin@example.com')}/disable", htmx=True)

    assert response.status_code == 400
    assert b"You cannot disable yourself." in response.data and b"<html" not in response.data
    assert admin.get("/console/settings").status_code == 200


def test_the_team_list_has_no_disable_button_for_yourself(admin, app, make_console_user):
    make_console_user("other@example.com", "reviewer")

    html = admin.get("/console/settings/team").get_data(as_text=True)

    assert f"/team/{user_id(app, 'other@example.com')}/disable" in html
    assert f"/team/{user_id(app, 'admin@example.com')}/disable" not in html


# -- audit log --------------------------------------------------------------------------------------


@pytest.fixture
def some_history(admin, app, make_console_user):
    """A key created, settings changed, someone disabled (three events, in that order)."""
    create_key(admin, "Audit me")
    save_settings(admin, name="Renamed", client_token_ttl="120")
    make_console_user("r@example.com", "reviewer")
    admin.post(f"/console/settings/team/{user_id(app, 'r@example.com')}/disable")


def test_the_audit_log_lists_changes_newest_first_with_a_readable_diff(admin, some_history):
    html = admin.get("/console/settings/audit").get_data(as_text=True).split("<tbody>")[1]

    assert html.index("console_user.disabled") < html.index("tenant.settings_updated") < html.index("api_key.created")
    diff = html[html.index("tenant.settings_updated"):html.index("api_key.created")]
    assert "<dt>name</dt>" in diff and "Test tenant" in diff and "Renamed" in diff
    assert "<dt>client_token_ttl</dt>" in diff
    assert "<dt>logo_url</dt>" not in diff  # unchanged keys are left out
    assert "r@example.com" in html and "admin@example.com" in html


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
        rows = response.get_data(as_text=True).split("<tbody>")[1]
        assert shown in rows
        if hidden:
            assert hidden not in rows
    assert b"<html" not in fragment.data and b'id="audit-results"' in fragment.data


def test_the_filter_menus_offer_what_was_recorded(admin, some_history):
    html = admin.get("/console/settings/audit").get_data(as_text=True)

    assert '<option value="api_key.created">' in html and '<option value="console_user">' in html


def test_the_audit_log_pages_by_keyset(admin, app, tenant):
    from app.services.tenancy.audit import PAGE_SIZE, record_change

    with app.app_context():
        actor = db.session.execute(select(ConsoleUser)).scalar_one()
        for number in range(PAGE_SIZE + 3):
            record_change(actor, "test.event", f"target-{number}", "test", after={"n": number})
        db.session.commit()

    first = admin.get("/console/settings/audit?event=test.event").get_data(as_text=True)
    older = re.search(r'href="([^"]*before=\d+[^"]*)" rel="next"', first).group(1).replace("&amp;", "&")
    second = admin.get(older, headers={"HX-Request": "true"}).get_data(as_text=True)

    assert "target-52" in first and "target-3<" in first and "target-2<" not in first
    assert "target-2<" in second and "target-0<" in second and "target-3<" not in second
    assert "event=test.event" in older
    assert 'rel="next"' not in second and "← Newest" in second


# -- guards -----------------------------------------------------------------------------------------


def settings_urls(app) -> list[tuple[str, str]]:
    return [(method, rule.rule.replace("<key_id>", "x").replace("<user_id>", "x"))
            for rule in app.url_map.iter_rules() if rule.endpoint.startswith("console.settings")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def test_settings_are_for_admins_only(app, reviewer):
    urls = settings_urls(app)
    assert len(urls) == 13

    for method, url in urls:
        response = reviewer.client.open(url, method=method, headers={"X-CSRFToken": reviewer.csrf})
        assert response.status_code == 403, (method, url, response.status_code)


def test_reviewers_see_no_settings_link(reviewer):
    assert b"/console/settings" not in reviewer.get("/console/activity").data


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
    page = admin.get("/console/settings").get_data(as_text=True)

    response = admin.client.post("/console/settings", data={**VALID, "name": "Via form", "csrf_token": csrf_from(page)})

    assert response.status_code == 303
    assert tenant_row(app, tenant.id).name == "Via form"
