"""Webhook signatures: the same bytes Authsignal sends, checked like the SDKs' constructEvent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from app.domain.webhook_signing import InvalidSignature, compute_signature, parse, sign, verify

KEY = "sk_test_0123456789abcdefghijklmnopqrstuv"
OTHER_KEY = "sk_test_zyxwvutsrqponmlkjihgfedcba9876543"
BODY = json.dumps({"version": 1, "id": "5f0c", "type": "action.created", "data": {"userId": "alice"}})
T = 1_764_000_000


def independent_signature(body: str, key: str, t: int) -> str:
    """Written out here from the contract, not taken from the module under test."""
    mac = hmac.new(key.encode("utf-8"), (str(t) + "." + body).encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii").replace("=", "")


def test_signature_matches_an_independent_computation():
    assert compute_signature(BODY, KEY, T) == independent_signature(BODY, KEY, T)
    assert "=" not in compute_signature(BODY, KEY, T)


def test_a_known_vector():
    # HMAC-SHA256(key="secret", msg="1700000000.{}") in base64, padding removed.
    expected = base64.b64encode(hmac.new(b"secret", b"1700000000.{}", hashlib.sha256).digest()).decode().rstrip("=")
    assert sign("{}", ["secret"], 1_700_000_000) == f"t=1700000000,v2={expected}"


def test_one_v2_per_key_in_order():
    header = sign(BODY, [KEY, OTHER_KEY], T)

    assert header == f"t={T},v2={independent_signature(BODY, KEY, T)},v2={independent_signature(BODY, OTHER_KEY, T)}"


def test_bytes_and_text_bodies_sign_the_same():
    assert compute_signature(BODY.encode(), KEY, T) == compute_signature(BODY, KEY, T)


def test_signing_needs_a_key():
    with pytest.raises(ValueError):
        sign(BODY, [], T)


@pytest.mark.parametrize("key", [KEY, OTHER_KEY])
def test_verify_accepts_any_of_several_signatures(key):
    header = sign(BODY, [KEY, OTHER_KEY], T)

    assert verify(BODY, header, key, now=T + 10) == json.loads(BODY)


def test_verify_refuses_a_different_key():
    with pytest.raises(InvalidSignature, match="^Signature mismatch.$"):
        verify(BODY, sign(BODY, [KEY], T), OTHER_KEY, now=T)


def test_verify_refuses_a_changed_body():
    with pytest.raises(InvalidSignature, match="^Signature mismatch.$"):
        verify(BODY.replace("alice", "mallory"), sign(BODY, [KEY], T), KEY, now=T)


def test_verify_refuses_a_changed_timestamp():
    header = sign(BODY, [KEY], T).replace(f"t={T}", f"t={T + 1}")
    with pytest.raises(InvalidSignature, match="^Signature mismatch.$"):
        verify(BODY, header, KEY, now=T)


def test_tolerance_is_in_minutes_and_old_timestamps_are_refused():
    header = sign(BODY, [KEY], T)

    assert verify(BODY, header, KEY, now=T + 5 * 60)
    with pytest.raises(InvalidSignature, match="^Timestamp is outside the tolerance zone.$"):
        verify(BODY, header, KEY, now=T + 5 * 60 + 1)
    assert verify(BODY, header, KEY, now=T + 9 * 60, tolerance_minutes=10)


def test_tolerance_zero_or_less_turns_the_check_off_and_future_timestamps_pass():
    header = sign(BODY, [KEY], T)

    assert verify(BODY, header, KEY, now=T + 86_400 * 365, tolerance_minutes=0)
    assert verify(BODY, header, KEY, now=T + 86_400, tolerance_minutes=-1)
    assert verify(BODY, header, KEY, now=T - 3600)


def test_the_tolerance_check_comes_before_the_signature_check():
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(BODY, f"t={T},v2=wrong", KEY, now=T + 3600)


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", f"t={T}", "v2=abc", "t=soon,v2=abc", f"t={T},v1=abc", f"t={T},v2="],
)
def test_bad_formats_are_refused(header):
    with pytest.raises(InvalidSignature, match="^Signature format is invalid.$"):
        verify(BODY, header, KEY, now=T)


def test_parse_tolerates_spaces_and_unknown_items():
    assert parse(f" t={T} , v0=x, v2=abc ,v2=def") == (T, ["abc", "def"])
