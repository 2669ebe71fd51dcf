"""The WebAuthn relying party rules, shared by the environment's settings and a tenant's overrides."""

from __future__ import annotations

import pytest

from app.domain.relying_party import is_hostname, parse_origin, parse_rp_id, uncovered_origins


@pytest.mark.parametrize(("raw", "origin"), [
    ("https://Login.Example.com/", "https://login.example.com"),
    ("http://localhost:5000", "http://localhost:5000"),
])
def test_an_origin_is_scheme_host_and_port_normalised(raw, origin):
    assert parse_origin(raw) == origin


@pytest.mark.parametrize("raw", [
    "login.example.com", "ftp://example.com", "https://example.com/path", "https://example.com?q=1",
    "https://user@example.com", "https://example.com:99999", "https://",
])
def test_anything_else_is_not_an_origin(raw):
    with pytest.raises(ValueError, match="is not an origin like https://example.com"):
        parse_origin(raw)


def test_an_rp_id_is_a_bare_domain_name():
    assert parse_rp_id(" Example.COM ") == "example.com"
    assert is_hostname("localhost") and not is_hostname("-bad.example") and not is_hostname("a" * 64 + ".com")
    with pytest.raises(ValueError, match="must be a domain name"):
        parse_rp_id("https://example.com")


def test_an_rp_id_covers_its_own_host_and_subdomains_only():
    origins = ["https://example.com", "https://login.example.com", "https://example.com.evil.io", "https://notexample.com"]

    assert uncovered_origins("example.com", origins) == ["https://example.com.evil.io", "https://notexample.com"]
