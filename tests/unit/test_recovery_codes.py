"""Recovery codes: ten unguessable codes, typed forgivingly, stored only as keyed digests."""

import pytest

from app.domain.recovery_codes import ALPHABET, COUNT, LENGTH, digest_code, display, generate_codes, normalise

KEY = b"k" * 32


def test_ten_unique_codes_from_an_alphabet_without_look_alikes():
    codes = generate_codes()

    assert len(codes) == COUNT == 10
    assert len(set(codes)) == 10
    assert all(len(code) == LENGTH and set(code) <= set(ALPHABET) for code in codes)
    assert not set("01IO") & set(ALPHABET)


def test_each_batch_is_new():
    assert set(generate_codes()).isdisjoint(generate_codes())


def test_display_splits_a_code_in_two_groups():
    assert display("ABCDE23456") == "ABCDE-23456"


@pytest.mark.parametrize("typed", ["ABCDE-23456", "abcde-23456", " abcde 23456 ", "ABCDE23456", "ab-cde-234-56\n"])
def test_normalise_forgives_case_spaces_and_dashes(typed):
    assert normalise(typed) == "ABCDE23456"


def test_normalise_of_nothing_is_empty():
    assert normalise(None) == normalise("") == ""


def test_a_displayed_code_digests_like_the_generated_one():
    code = generate_codes()[0]
    assert digest_code(display(code).lower(), key=KEY) == digest_code(code, key=KEY)


def test_digest_is_a_keyed_hex_sha256():
    digest = digest_code("ABCDE23456", key=KEY)

    assert len(digest) == 64 and int(digest, 16) >= 0
    assert "ABCDE23456" not in digest


def test_a_different_key_gives_a_different_digest():
    assert digest_code("ABCDE23456", key=KEY) != digest_code("ABCDE23456", key=b"other-key")


def test_different_codes_give_different_digests():
    assert digest_code("ABCDE23456", key=KEY) != digest_code("ABCDE23457", key=KEY)
