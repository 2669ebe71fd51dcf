"""Tenant overrides of the environment: the settings in effect, and the rules a saved value must meet."""

from __future__ import annotations

import pytest

from app.config import load_settings
from app.domain.redirects import AllowedRedirect
from app.models import Tenant
from app.services.tenancy.tenant_settings import (
    InvalidTenantSettings,
    TenantSettingsInput,
    effective_settings,
    validate_tenant_settings,
)


@pytest.fixture
def base(tmp_path):
    return load_settings(
        {"TOLLGATE_ENV": "test", "TOLLGATE_PUBLIC_URL": "https://auth.example.com",
         "TOLLGATE_REDIRECT_ALLOWLIST": "https://app.example.com"},
        instance_path=tmp_path,
    )


def problems(base, **fields) -> dict[str, list[str]]:
    with pytest.raises(InvalidTenantSettings) as caught:
        validate_tenant_settings(TenantSettingsInput(**{"name": "Acme", **fields}), base=base)
    return caught.value.fields


def test_a_tenant_without_overrides_gets_the_environment_itself(base):
    assert effective_settings(base, Tenant(name="Acme")) is base
    assert effective_settings(base, None) is base


def test_overrides_replace_the_environment_values(base):
    tenant = Tenant(name="Acme", webauthn_rp_id="acme.example", webauthn_rp_name="Acme",
                    webauthn_origins=["https://login.acme.example"], redirect_allowlist=["https://acme.example/back"],
                    client_token_ttl=120)

    effective = effective_settings(base, tenant)

    assert effective.webauthn_rp_id == "acme.example" and effective.webauthn_rp_name == "Acme"
    assert effective.webauthn_origins == ("https://login.acme.example",)
    assert effective.redirect_allowlist == (AllowedRedirect("https", "acme.example", 443, "/back"),)
    assert effective.client_token_ttl == 120
    # Everything else (secrets, URLs, other lifetimes) stays the environment's.
    assert (effective.secret_key, effective.public_url, effective.result_token_ttl) == (
        base.secret_key, base.public_url, base.result_token_ttl)


def test_only_the_overridden_fields_change(base):
    effective = effective_settings(base, Tenant(name="Acme", client_token_ttl=900))

    assert effective.client_token_ttl == 900
    assert effective.redirect_allowlist == base.redirect_allowlist
    assert effective.webauthn_rp_id == base.webauthn_rp_id == "auth.example.com"


def test_a_stored_entry_that_no_longer_parses_is_skipped_not_fatal(base):
    tenant = Tenant(name="Acme", redirect_allowlist=["https://ok.example", "not a url"])

    assert effective_settings(base, tenant).redirect_allowlist == (AllowedRedirect("https", "ok.example", 443, ""),)


def test_valid_input_is_cleaned(base):
    cleaned = validate_tenant_settings(TenantSettingsInput(
        name="  Acme  ", logo_url=" ", webauthn_rp_id="Example.COM", webauthn_rp_name="",
        webauthn_origins=["https://Login.Example.com/", "https://login.example.com", " "],
        redirect_allowlist=["https://example.com/back", "https://example.com/back"], client_token_ttl=60,
        publish_needs_second_admin=True,
    ), base=base)

    assert cleaned == {
        "name": "Acme", "logo_url": None, "webauthn_rp_id": "example.com", "webauthn_rp_name": None,
        "webauthn_origins": ["https://login.example.com"], "redirect_allowlist": ["https://example.com/back"],
        "client_token_ttl": 60, "remember_device_days": 0, "publish_needs_second_admin": True,
    }


def test_empty_input_means_use_the_environment(base):
    cleaned = validate_tenant_settings(TenantSettingsInput(name="Acme", webauthn_origins=[], redirect_allowlist=[]),
                                       base=base)

    assert {k: v for k, v in cleaned.items() if k != "name"} == {**dict.fromkeys(
        ("logo_url", "webauthn_rp_id", "webauthn_rp_name", "webauthn_origins", "redirect_allowlist",
         "client_token_ttl")), "remember_device_days": 0, "publish_needs_second_admin": False}


@pytest.mark.parametrize("days", [-1, 91, 365])
def test_remembering_devices_is_off_or_one_to_ninety_days(base, days):
    assert problems(base, remember_device_days=days)["remember_device_days"] == [
        "Remember devices for 1 to 90 days, or 0 for never."]
    cleaned = validate_tenant_settings(TenantSettingsInput(name="Acme", remember_device_days=90), base=base)
    assert cleaned["remember_device_days"] == 90


def test_rp_id_is_checked_against_the_environment_origins_when_origins_are_not_overridden(base):
    assert "webauthn_rp_id" in problems(base, webauthn_rp_id="other.example")
    # A parent domain of the environment's origin (auth.example.com) is fine.
    validate_tenant_settings(TenantSettingsInput(name="Acme", webauthn_rp_id="example.com"), base=base)


def test_overridden_origins_are_checked_against_the_rp_id_in_effect(base):
    assert "webauthn_origins" in problems(base, webauthn_origins=["https://elsewhere.example"])
    assert "webauthn_origins" in problems(base, webauthn_rp_id="acme.example",
                                          webauthn_origins=["https://acme.example.evil.io"])
    validate_tenant_settings(TenantSettingsInput(name="Acme", webauthn_rp_id="acme.example",
                                                 webauthn_origins=["https://a.acme.example:8443"]), base=base)


@pytest.mark.parametrize("origin", ["example.com", "https://auth.example.com/path", "ftp://auth.example.com",
                                    "https://user@auth.example.com", "https://auth.example.com:99999"])
def test_origins_must_be_scheme_host_port(base, origin):
    assert "webauthn_origins" in problems(base, webauthn_origins=[origin])


@pytest.mark.parametrize(("url", "ok"), [
    ("https://cdn.example.com/logo.svg", True),
    ("http://localhost:3000/logo.png", True),
    ("http://127.0.0.1/logo.png", True),
    ("http://cdn.example.com/logo.svg", False),
    ("data:image/svg+xml;base64,AAAA", False),
    ("javascript:alert(1)", False),
    ("https://user:pw@cdn.example.com/logo.svg", False),
    ("https://cdn.example.com;script-src */x.png", False),
    ("https://" + "a" * 2048 + ".example/logo.png", False),
])
def test_logo_url(base, url, ok):
    if ok:
        validate_tenant_settings(TenantSettingsInput(name="Acme", logo_url=url), base=base)
    else:
        assert "logo_url" in problems(base, logo_url=url)


@pytest.mark.parametrize("rp_id", ["https://example.com", "example.com:443", "exa mple.com", "-bad.example", "a..b"])
def test_rp_id_must_be_a_domain(base, rp_id):
    assert "webauthn_rp_id" in problems(base, webauthn_rp_id=rp_id)


@pytest.mark.parametrize(("ttl", "ok"), [(59, False), (60, True), (86400, True), (86401, False)])
def test_client_token_lifetime_range(base, ttl, ok):
    if ok:
        validate_tenant_settings(TenantSettingsInput(name="Acme", client_token_ttl=ttl), base=base)
    else:
        assert "client_token_ttl" in problems(base, client_token_ttl=ttl)


def test_redirect_entries_use_the_allow_list_parser(base):
    found = problems(base, redirect_allowlist=["https://ok.example", "https://bad.example/?q=1", "mailto:x@y"])

    assert len(found["redirect_allowlist"]) == 2


def test_every_bad_field_is_reported_at_once(base):
    assert set(problems(base, name="", client_token_ttl=1, logo_url="ftp://x")) == {"name", "client_token_ttl", "logo_url"}


def test_too_many_entries(base):
    assert "redirect_allowlist" in problems(base, redirect_allowlist=[f"https://h{i}.example" for i in range(51)])
