"""The redirect allow-list: parsed parts, never string prefixes."""

import pytest

from app.domain.redirects import DEVELOPMENT_REDIRECTS, is_allowed, parse_allowed_redirect, with_token

ALLOWED = tuple(parse_allowed_redirect(e) for e in ["https://app.example.com/callback", "http://localhost:3000"])


@pytest.mark.parametrize("url", [
    "https://app.example.com/callback",
    "https://app.example.com/callback/step-2?x=1",
    "https://APP.example.com:443/callback",
    "http://localhost:3000/anything",
])
def test_allowed(url):
    assert is_allowed(url, ALLOWED)


@pytest.mark.parametrize("url", [
    "https://app.example.com/callbacks",  # a sibling path, not below the prefix
    "https://app.example.com/",
    "http://app.example.com/callback",  # scheme downgrade
    "https://app.example.com:8443/callback",
    "https://app.example.com.evil.io/callback",
    "https://app.example.com@evil.io/callback",
    "https://evil.io/https://app.example.com/callback",
    "http://localhost:3001/",
    "javascript:alert(1)",
    "//app.example.com/callback",
    "https://app.example.com:99999/callback",
])
def test_refused(url):
    assert not is_allowed(url, ALLOWED)


@pytest.mark.parametrize("entry", ["app.example.com", "ftp://x.example", "https://x.example/?q=1", "https://u@x.example"])
def test_unusable_entries(entry):
    with pytest.raises(ValueError):
        parse_allowed_redirect(entry)


def test_token_is_appended_keeping_existing_parameters():
    assert with_token("https://app.example.com/cb?state=abc&token=old#frag", "T") == (
        "https://app.example.com/cb?state=abc&token=T#frag"
    )


def test_the_development_entries_allow_any_port_of_this_machine_only_over_http():
    assert is_allowed("http://localhost:5173/callback", DEVELOPMENT_REDIRECTS)
    assert is_allowed("http://127.0.0.1:8080/", DEVELOPMENT_REDIRECTS)
    assert not is_allowed("https://localhost:5173/", DEVELOPMENT_REDIRECTS)  # another scheme
    assert not is_allowed("http://localhost@evil.io:5173/", DEVELOPMENT_REDIRECTS)
    assert [rule.origin for rule in DEVELOPMENT_REDIRECTS] == ["http://localhost:*", "http://127.0.0.1:*"]
    assert [rule.exact_origin for rule in DEVELOPMENT_REDIRECTS] == [None, None]  # no postMessage target
