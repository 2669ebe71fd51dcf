"""The py_webauthn adapter, against a software authenticator: what registers, what signs in."""

import pytest

from app.domain.passkey import (
    InvalidCredential,
    KnownCredential,
    RelyingParty,
    SignCountRegressed,
    authentication_ceremony,
    new_user_handle,
    registration_ceremony,
    verify_assertion,
    verify_registration,
)
from tests.soft_authenticator import SoftAuthenticator, other_challenge

RP = RelyingParty(rp_id="localhost", name="Tollgate", origins=("http://localhost:5000",))


def registration_options(existing=()):
    return registration_ceremony(
        RP, user_handle=new_user_handle(), user_name="alice", display_name="Alice", existing=list(existing)
    )


def register(device: SoftAuthenticator, **variant):
    ceremony = registration_options()
    return verify_registration(RP, device.register(ceremony.options, **variant), expected_challenge=ceremony.challenge)


# -- registration ---------------------------------------------------------------------------------


def test_registration_options_require_a_discoverable_user_verified_passkey():
    options = registration_options().options

    assert options["rp"] == {"id": "localhost", "name": "Tollgate"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert {"type": "public-key", "alg": -7} in options["pubKeyCredParams"]


def test_registration_options_exclude_known_credentials():
    options = registration_options(existing=[KnownCredential("AAECAw", transports=("internal", "carrier-pigeon"))]).options

    assert options["excludeCredentials"] == [{"id": "AAECAw", "type": "public-key", "transports": ["internal"]}]


def test_registration_verifies():
    device = SoftAuthenticator(counter_step=0)

    new = register(device)

    assert new.credential_id == device.credentials[0].id
    assert new.sign_count == 0
    assert new.aaguid == "00000000-0000-0000-0000-000000000000"
    assert new.transports == ["hybrid", "internal"]
    assert new.attachment == "platform"
    assert new.backup_eligible is False and new.backup_state is False


def test_registration_of_a_synced_passkey_records_backup_flags():
    new = register(SoftAuthenticator(backed_up=True))
    assert new.backup_eligible is True and new.backup_state is True


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param({"origin": "https://evil.example"}, id="wrong origin"),
        pytest.param({"origin": "http://localhost:5001"}, id="wrong port"),
        pytest.param({"rp_id": "evil.example"}, id="wrong rp id"),
        pytest.param({"user_verified": False}, id="no user verification"),
        pytest.param({"challenge": other_challenge()}, id="wrong challenge"),
    ],
)
def test_registration_refuses(variant):
    with pytest.raises(InvalidCredential):
        register(SoftAuthenticator(), **variant)


@pytest.mark.parametrize("garbage", [{}, {"id": "x"}, "not json", None, 42, {"id": "x", "rawId": "x", "response": []}])
def test_registration_refuses_malformed_json(garbage):
    with pytest.raises(InvalidCredential):
        verify_registration(RP, garbage, expected_challenge=other_challenge())


# -- authentication -------------------------------------------------------------------------------


def sign_in(device: SoftAuthenticator, new, *, stored_sign_count=None, **variant):
    ceremony = authentication_ceremony(RP, allowed=[KnownCredential(new.credential_id)])
    return verify_assertion(
        RP,
        device.authenticate(ceremony.options, **variant),
        expected_challenge=ceremony.challenge,
        public_key=new.public_key,
        stored_sign_count=new.sign_count if stored_sign_count is None else stored_sign_count,
    )


def test_authentication_options_require_user_verification_and_name_the_allowed_credentials():
    options = authentication_ceremony(RP, allowed=[KnownCredential("AAECAw")]).options

    assert options["rpId"] == "localhost"
    assert options["userVerification"] == "required"
    assert options["allowCredentials"] == [{"id": "AAECAw", "type": "public-key"}]


def test_usernameless_authentication_options_allow_any_discoverable_passkey():
    assert not authentication_ceremony(RP, allowed=None).options.get("allowCredentials")


def test_assertion_verifies_and_returns_the_new_sign_count():
    device = SoftAuthenticator(counter_step=1)
    new = register(device)  # counter 1

    assert sign_in(device, new).new_sign_count == 2
    assert sign_in(device, new, stored_sign_count=2).new_sign_count == 3


def test_assertion_with_counters_that_stay_zero_is_allowed():
    device = SoftAuthenticator(counter_step=0)
    new = register(device)

    assert sign_in(device, new).new_sign_count == 0
    assert sign_in(device, new).new_sign_count == 0


@pytest.mark.parametrize("reported", [5, 4, 0])
def test_sign_count_not_above_the_stored_one_is_a_regression(reported):
    device = SoftAuthenticator()
    new = register(device)

    with pytest.raises(SignCountRegressed) as raised:
        sign_in(device, new, stored_sign_count=5, sign_count=reported)
    assert raised.value.code == "invalid_credential"


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param({"origin": "https://evil.example"}, id="wrong origin"),
        pytest.param({"rp_id": "evil.example"}, id="wrong rp id"),
        pytest.param({"user_verified": False}, id="no user verification"),
        pytest.param({"challenge": other_challenge()}, id="wrong challenge"),
    ],
)
def test_assertion_refuses(variant):
    device = SoftAuthenticator()
    new = register(device)

    with pytest.raises(InvalidCredential) as raised:
        sign_in(device, new, **variant)
    assert not isinstance(raised.value, SignCountRegressed)


def test_assertion_signed_by_another_key_is_refused():
    device, impostor = SoftAuthenticator(), SoftAuthenticator()
    new = register(device)
    register(impostor)
    impostor.credentials[0].credential_id = device.credentials[0].credential_id  # same id, other key

    with pytest.raises(InvalidCredential):
        sign_in(impostor, new)
