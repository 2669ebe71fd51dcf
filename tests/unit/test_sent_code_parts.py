"""The pure parts of email codes: the codes themselves, masking, and TOLLGATE_SMTP_URL."""

import pytest

from app.domain.one_time_codes import code_matches, digest_code, mask_email, new_code
from app.domain.smtp_url import SmtpSecurity, parse_smtp_url

KEY = b"k" * 32


def test_codes_are_six_digits_and_vary():
    codes = {new_code() for _ in range(200)}
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert len(codes) > 150


def test_a_digest_matches_its_code_in_its_own_challenge_only():
    digest = digest_code("123456", key=KEY, context="challenge-1")
    assert code_matches("123 456", digest, key=KEY, context="challenge-1")
    assert not code_matches("123457", digest, key=KEY, context="challenge-1")
    assert not code_matches("123456", digest, key=KEY, context="challenge-2")
    assert not code_matches("123456", digest, key=b"x" * 32, context="challenge-1")
    assert not code_matches("123456", None, key=KEY, context="challenge-1")


def test_a_masked_address_shows_enough_to_recognise_ones_own():
    assert mask_email("jane@example.com") == "j***@example.com"


@pytest.mark.parametrize(("url", "host", "port", "security"), [
    ("smtps://mail.example.com", "mail.example.com", 465, SmtpSecurity.TLS),
    ("smtp://mail.example.com", "mail.example.com", 587, SmtpSecurity.STARTTLS),
    ("smtp://mail.example.com:2525", "mail.example.com", 2525, SmtpSecurity.STARTTLS),
    ("smtp://127.0.0.1:1025", "127.0.0.1", 1025, SmtpSecurity.STARTTLS_IF_OFFERED),
    ("smtp://localhost:1025", "localhost", 1025, SmtpSecurity.STARTTLS_IF_OFFERED),
    ("smtp://[::1]:1025", "::1", 1025, SmtpSecurity.STARTTLS_IF_OFFERED),
])
def test_smtp_urls_say_how_safely_mail_travels(url, host, port, security):
    target = parse_smtp_url(url)
    assert (target.host, target.port, target.security) == (host, port, security)
    assert target.username is None


def test_credentials_in_the_url_are_percent_decoded_and_never_printed():
    target = parse_smtp_url("smtp://codes%40example.com:p%3Ass@mail.example.com:587")
    assert (target.username, target.password) == ("codes@example.com", "p:ss")
    assert "p:ss" not in repr(target)


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "smtp://mail.example.com/path",
                                 "smtp://mail.example.com:99999", "mail.example.com"])
def test_bad_smtp_urls_are_refused(url):
    with pytest.raises(ValueError):
        parse_smtp_url(url)
