"""Authenticator-app codes (RFC 6238): a ±1 step window, and no code accepted twice."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from app.domain.errors import InvalidRequest
from app.domain.totp import TotpSeed, new_seed, parse_otp_uri, verify_code

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SEED = TotpSeed(secret=SECRET)
NOW = datetime(2026, 11, 26, 12, 0, 10, tzinfo=UTC)  # 10 s into a 30 s step
STEP = int(NOW.timestamp()) // 30


def code_at(step: int, seed: TotpSeed = SEED) -> str:
    return seed._totp().generate_otp(step)


def verify(code, *, now=NOW, last_accepted_step=None, seed=SEED):
    return verify_code(seed, code, now=now, last_accepted_step=last_accepted_step)


# -- the window -----------------------------------------------------------------------------------


def test_current_code_is_accepted_and_names_its_step():
    assert verify(pyotp.TOTP(SECRET).at(NOW)) == STEP


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_codes_one_step_either_side_are_accepted(offset):
    assert verify(code_at(STEP + offset)) == STEP + offset


@pytest.mark.parametrize("offset", [-2, 2, -10, 10])
def test_codes_two_or_more_steps_away_are_refused(offset):
    assert verify(code_at(STEP + offset)) is None


def test_step_boundaries_follow_the_clock():
    last_second_of_step = datetime.fromtimestamp((STEP + 1) * 30 - 1, UTC)
    first_second_of_next = last_second_of_step + timedelta(seconds=1)

    assert verify(code_at(STEP + 2), now=last_second_of_step) is None
    assert verify(code_at(STEP + 2), now=first_second_of_next) == STEP + 2
    assert verify(code_at(STEP - 1), now=first_second_of_next) is None


def test_spaces_typed_into_a_code_are_ignored():
    code = code_at(STEP)
    assert verify(f" {code[:3]} {code[3:]} ") == STEP


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "12345a", "abcdef", "-12345", "１２３４５６", "12 34 5", None])
def test_anything_but_the_right_number_of_digits_is_refused(bad):
    assert verify(bad) is None


def test_an_eight_digit_sha256_seed_uses_its_own_parameters():
    seed = TotpSeed(secret=SECRET, digits=8, period=60, algorithm="SHA256")
    reference = pyotp.TOTP(SECRET, digits=8, interval=60, digest="sha256")

    assert verify(reference.at(NOW), seed=seed) == int(NOW.timestamp()) // 60
    assert verify(reference.at(NOW)[:6], seed=seed) is None


# -- replay (RFC 6238 §5.2) -----------------------------------------------------------------------


def test_a_code_from_the_last_accepted_step_is_a_replay():
    assert verify(code_at(STEP), last_accepted_step=STEP) is None


def test_codes_from_steps_before_the_last_accepted_one_are_refused():
    assert verify(code_at(STEP - 1), last_accepted_step=STEP) is None
    assert verify(code_at(STEP), last_accepted_step=STEP + 1) is None


def test_a_newer_step_than_the_last_accepted_one_is_accepted():
    assert verify(code_at(STEP), last_accepted_step=STEP - 1) == STEP
    assert verify(code_at(STEP + 1), last_accepted_step=STEP) == STEP + 1


# -- seeds and otpauth URIs -----------------------------------------------------------------------


def test_new_seeds_are_random_160_bit_plus_sha1_six_digit_thirty_second():
    first, second = new_seed(), new_seed()

    assert first.secret != second.secret
    assert len(first.secret) == 32  # 160 bits of base32
    assert (first.digits, first.period, first.algorithm) == (6, 30, "SHA1")


def test_a_provisioning_uri_parses_back_to_its_seed():
    seed = new_seed()
    uri = seed.provisioning_uri(account="alice@example.com", issuer="Acme")

    assert uri.startswith("otpauth://totp/Acme:alice%40example.com?")
    assert parse_otp_uri(uri) == seed


def test_parse_otp_uri_defaults_and_lower_case_secret():
    seed = parse_otp_uri(f"otpauth://totp/Acme:alice?secret={SECRET.lower()}&issuer=Acme")
    assert seed == TotpSeed(secret=SECRET, digits=6, period=30, algorithm="SHA1")


def test_parse_otp_uri_reads_digits_period_and_algorithm():
    seed = parse_otp_uri(f"otpauth://totp/alice?secret={SECRET}&digits=8&period=60&algorithm=SHA256")
    assert seed == TotpSeed(secret=SECRET, digits=8, period=60, algorithm="SHA256")


@pytest.mark.parametrize(
    "uri",
    [
        pytest.param(f"otpauth://hotp/alice?secret={SECRET}&counter=0", id="hotp"),
        pytest.param(f"https://example.com/?secret={SECRET}", id="not otpauth"),
        pytest.param("otpauth://totp/alice", id="no secret"),
        pytest.param("otpauth://totp/alice?secret=NOT-BASE32!", id="not base32"),
        pytest.param("otpauth://totp/alice?secret=JBSWY3DP", id="too short"),
        pytest.param(f"otpauth://totp/alice?secret={SECRET}&digits=12", id="digits"),
        pytest.param(f"otpauth://totp/alice?secret={SECRET}&period=0", id="period zero"),
        pytest.param(f"otpauth://totp/alice?secret={SECRET}&period=abc", id="period text"),
        pytest.param(f"otpauth://totp/alice?secret={SECRET}&algorithm=MD5", id="algorithm"),
        pytest.param(f"otpauth://totp/alice?secret={SECRET}&x=" + "a" * 2048, id="too long"),
        pytest.param("", id="empty"),
        pytest.param(None, id="none"),
    ],
)
def test_parse_otp_uri_refuses(uri):
    with pytest.raises(InvalidRequest) as raised:
        parse_otp_uri(uri)
    assert raised.value.code == "invalid_otp_uri"
