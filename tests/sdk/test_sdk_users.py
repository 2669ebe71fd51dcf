"""get_user / update_user / delete_user and the authenticator calls through the official Python SDK."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.sdk


def test_an_unknown_user_is_not_enrolled(authsignal_client):
    user = authsignal_client.get_user("nobody")

    assert user["is_enrolled"] is False


def test_update_user_stores_the_attributes_and_get_user_reads_them_back(authsignal_client):
    attributes = {
        "email": "ann@example.com",
        "phoneNumber": "+64211234567",
        "username": "ann",
        "displayName": "Ann Example",
        "custom": {"foo": "bar"},
    }

    updated = authsignal_client.update_user("ann", attributes)
    fetched = authsignal_client.get_user("ann")

    for user in (updated, fetched):
        assert user["email"] == "ann@example.com"
        assert user["phone_number"] == "+64211234567"
        assert user["username"] == "ann"
        assert user["display_name"] == "Ann Example"
        assert user["custom"] == {"foo": "bar"}
        assert user["is_enrolled"] is False


def test_update_user_changes_only_what_it_is_given(authsignal_client):
    authsignal_client.update_user("ann", {"email": "ann@example.com", "custom": {"foo": "bar"}})

    authsignal_client.update_user("ann", {"displayName": "Ann", "custom": {"tier": "gold"}})
    user = authsignal_client.get_user("ann")

    assert user["email"] == "ann@example.com"
    assert user["display_name"] == "Ann"
    assert user["custom"] == {"foo": "bar", "tier": "gold"}


def test_a_deleted_user_is_no_longer_enrolled(authsignal_client, enroll_totp):
    enroll_totp("ann")
    assert authsignal_client.get_user("ann")["is_enrolled"] is True

    authsignal_client.delete_user("ann")

    assert authsignal_client.get_user("ann")["is_enrolled"] is False
    assert authsignal_client.get_authenticators("ann") == []


def test_enroll_an_email_otp_authenticator(authsignal_client):
    enrolled = authsignal_client.enroll_verified_authenticator(
        "user12345", {"verificationMethod": "EMAIL_OTP", "email": "not-a-real-email@authsignal.com"}
    )

    authenticator = enrolled["authenticator"]
    assert authenticator["user_authenticator_id"]
    assert authenticator["verification_method"] == "EMAIL_OTP"
    assert authenticator["email"] == "not-a-real-email@authsignal.com"
    assert authenticator["user_id"] == "user12345"
    [listed] = authsignal_client.get_authenticators("user12345")
    assert listed["user_authenticator_id"] == authenticator["user_authenticator_id"]
    assert listed["verification_method"] == "EMAIL_OTP"
    assert listed["email"] == "not-a-real-email@authsignal.com"
    assert authsignal_client.get_user("user12345")["enrolled_verification_methods"] == ["EMAIL_OTP"]


def test_enroll_an_authenticator_app_from_its_otp_uri(authsignal_client, enroll_totp):
    enrolled = enroll_totp("ann")

    authenticator = enrolled["authenticator"]
    assert authenticator["verification_method"] == "AUTHENTICATOR_APP"
    assert authenticator["user_id"] == "ann"
    assert [a["verification_method"] for a in authsignal_client.get_authenticators("ann")] == ["AUTHENTICATOR_APP"]
    user = authsignal_client.get_user("ann")
    assert user["is_enrolled"] is True
    assert user["enrolled_verification_methods"] == ["AUTHENTICATOR_APP"]


def test_a_deleted_authenticator_is_gone_from_the_list(authsignal_client, enroll_totp):
    kept = authsignal_client.enroll_verified_authenticator(
        "ann", {"verificationMethod": "EMAIL_OTP", "email": "ann@example.com"}
    )["authenticator"]
    removed = enroll_totp("ann")["authenticator"]

    authsignal_client.delete_authenticator("ann", removed["user_authenticator_id"])

    remaining = [a["user_authenticator_id"] for a in authsignal_client.get_authenticators("ann")]
    assert remaining == [kept["user_authenticator_id"]]


def test_a_user_without_authenticators_has_an_empty_list(authsignal_client):
    assert authsignal_client.get_authenticators("nobody") == []
