"""Client and result tokens: bound to one action, short-lived, tamper-evident."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.domain.tokens import (
    ActionRef,
    ExpiredToken,
    InvalidToken,
    TokenKind,
    derive_signing_key,
    issue_token,
    read_token,
)

KEY = derive_signing_key("s" * 40)
ISSUER = "https://tollgate.example"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ACTION = ActionRef(tenant_id="t-1", user_id="alice", action_code="withdraw-funds", idempotency_key="k-1")


def issue(kind=TokenKind.CLIENT, *, now=NOW, ttl=600, key=KEY, issuer=ISSUER):
    return issue_token(ACTION, kind=kind, scope=("read:authenticators",), signing_key=key, issuer=issuer, now=now,
                       ttl_seconds=ttl)


def read(token, *, kinds=(TokenKind.CLIENT,), now=NOW, key=KEY):
    return read_token(token, kinds=kinds, signing_key=KEY if key is None else key, issuer=ISSUER, now=now)


def test_round_trip_keeps_the_action_binding():
    claims = read(issue())

    assert claims.action == ACTION
    assert claims.kind is TokenKind.CLIENT
    assert claims.scope == ("read:authenticators",)
    assert claims.expires_at - claims.issued_at == timedelta(minutes=10)


def test_payload_has_authsignals_historic_layout():
    # Only the layout is under test here. Expiry is tested below against the fixed NOW; checking it
    # against the wall clock made this test fail from ten minutes after NOW onwards.
    payload = jwt.decode(issue(), KEY, algorithms=["HS256"], audience=TokenKind.CLIENT.value,
                         options={"verify_iat": False, "verify_exp": False})

    assert payload["sub"] == "alice"
    assert payload["other"] == {"tenantId": "t-1", "userId": "alice", "actionCode": "withdraw-funds",
                                "idempotencyKey": "k-1"}
    assert payload["exp"] - payload["iat"] == 600


def test_each_token_is_unique():
    assert read(issue()).token_id != read(issue()).token_id


@pytest.mark.parametrize("age", [timedelta(minutes=10), timedelta(minutes=11), timedelta(days=1)])
def test_expired(age):
    with pytest.raises(ExpiredToken):
        read(issue(), now=NOW + age)


def test_valid_until_the_last_second():
    assert read(issue(), now=NOW + timedelta(minutes=10) - timedelta(seconds=1)).action == ACTION


def test_wrong_audience_result_token_is_not_a_client_token():
    with pytest.raises(InvalidToken, match="not valid for this use"):
        read(issue(TokenKind.RESULT), kinds=(TokenKind.CLIENT,))


def test_result_tokens_read_when_asked_for():
    assert read(issue(TokenKind.RESULT), kinds=(TokenKind.RESULT,)).kind is TokenKind.RESULT


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-3] + ("xyz" if not t.endswith("xyz") else "abc"),  # signature
    lambda t: ".".join([t.split(".")[0], t.split(".")[1][:-2] + "AA", t.split(".")[2]]),  # payload
    lambda t: "",
    lambda t: "not.a.token",
    lambda t: "x" * 5000,
])
def test_tampered_or_malformed(mangle):
    with pytest.raises(InvalidToken):
        read(mangle(issue()))


def test_signed_with_another_key():
    with pytest.raises(InvalidToken):
        read(issue(key=derive_signing_key("other" * 10)))


def test_issued_by_another_instance():
    with pytest.raises(InvalidToken):
        read(issue(issuer="https://evil.example"))


def test_alg_none_is_refused():
    forged = jwt.encode({"aud": TokenKind.CLIENT.value, "iss": ISSUER}, key=None, algorithm="none")
    with pytest.raises(InvalidToken):
        read(forged)
