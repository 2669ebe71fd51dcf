"""How refusals reach the official Python SDK: ApiException with status, errorCode and description."""

from __future__ import annotations

import pytest
from authsignal.client import ApiException

pytestmark = pytest.mark.sdk


def test_a_wrong_secret_is_unauthorized(client_with_secret):
    client = client_with_secret("not-the-secret")

    with pytest.raises(ApiException) as raised:
        client.get_action("ann", "signIn", "some-key")

    assert raised.value.status_code == 401
    assert raised.value.error_code == "unauthorized"
    assert raised.value.error_description == (
        "The request is unauthorized. Check that your API key and region base URL are correctly configured."
    )


def test_a_wrong_secret_cannot_track(client_with_secret):
    with pytest.raises(ApiException) as raised:
        client_with_secret("not-the-secret").track("ann", "signIn")

    assert raised.value.status_code == 401
    assert raised.value.error_code == "unauthorized"


def test_update_action_refuses_an_unknown_state(authsignal_client):
    tracked = authsignal_client.track("ann", "signIn")

    with pytest.raises(ApiException) as raised:
        authsignal_client.update_action("ann", "signIn", tracked["idempotency_key"], {"state": "APPROVED"})

    assert raised.value.status_code == 400
    assert raised.value.error_code == "invalid_request"
    assert "state" in raised.value.error_description


def test_get_action_for_an_unknown_idempotency_key_is_not_found(authsignal_client):
    with pytest.raises(ApiException) as raised:
        authsignal_client.get_action("ann", "signIn", "no-such-key")

    assert raised.value.status_code == 404
    assert raised.value.error_code == "action_not_found"


def test_track_refuses_an_invalid_action_code(authsignal_client):
    with pytest.raises(ApiException) as raised:
        authsignal_client.track("ann", "sign in!")

    assert raised.value.status_code == 400
    assert raised.value.error_code == "invalid_action_code"


def test_enrolling_an_authenticator_app_needs_an_otp_uri(authsignal_client):
    with pytest.raises(ApiException) as raised:
        authsignal_client.enroll_verified_authenticator("ann", {"verificationMethod": "AUTHENTICATOR_APP"})

    assert raised.value.status_code == 400
    assert raised.value.error_code == "otp_uri_required"


def test_validate_refuses_a_forged_token(authsignal_client):
    with pytest.raises(ApiException) as raised:
        authsignal_client.validate_challenge({"token": "not-a-token"})

    assert raised.value.status_code == 400
    assert raised.value.error_code == "invalid_token"
