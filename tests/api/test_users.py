"""Users and their authenticators through the server API."""

import pytest

from tests.factories import enroll_authenticator_app, otp_uri


def test_unknown_user_is_200_and_not_enrolled(api):
    response = api.get("/users/nobody")

    assert response.status_code == 200
    assert response.get_json()["isEnrolled"] is False


def test_update_user_creates_and_reads_back(api):
    attributes = {"email": "alice@example.com", "emailVerified": True, "phoneNumber": "+64211234567",
                  "phoneNumberVerified": True, "username": "alice", "displayName": "Alice A",
                  "custom": {"tier": "gold"}, "locale": "en-NZ"}

    updated = api.patch("/users/alice", json=attributes).get_json()
    fetched = api.get("/users/alice").get_json()

    for body in (updated, fetched):
        for key, value in attributes.items():
            assert body[key] == value
        assert body["isEnrolled"] is False


def test_update_user_changes_only_given_attributes_and_merges_custom(api):
    api.patch("/users/alice", json={"email": "alice@example.com", "custom": {"a": 1, "b": 2}})
    body = api.patch("/users/alice", json={"username": "al", "custom": {"b": None, "c": 3}}).get_json()

    assert body["email"] == "alice@example.com"
    assert body["username"] == "al"
    assert body["custom"] == {"a": 1, "c": 3}


def test_update_user_keeps_a_phone_number_in_e164_as_an_sms_authenticator_does(api):
    updated = api.patch("/users/alice", json={"phoneNumber": "+44 7400 123-456"})

    assert updated.status_code == 200, updated.get_json()
    assert api.get("/users/alice").get_json()["phoneNumber"] == "+447400123456"


@pytest.mark.parametrize("attributes", [
    {"email": "not-an-email"},
    {"phoneNumber": "021 123"},
    {"phoneNumber": "+15551234567"},  # E.164 in shape, but no such number range
    {"emailVerified": "yes"},
    {"custom": []},
    {"displayName": "x" * 300},
])
def test_update_user_rejects_bad_attributes(api, attributes):
    response = api.patch("/users/alice", json=attributes)

    assert response.status_code == 400
    assert response.get_json()["errorCode"]
    assert api.get("/users/alice").get_json().get("email") is None


def test_delete_user_removes_user_and_authenticators(api):
    api.patch("/users/alice", json={"email": "alice@example.com"})
    enroll_authenticator_app(api, "alice")

    assert api.delete("/users/alice").status_code == 200
    assert api.get("/users/alice").get_json()["isEnrolled"] is False
    assert api.get("/users/alice").get_json().get("email") is None
    assert api.get("/users/alice/authenticators").get_json() == []


def test_query_users_filters_and_pages_by_user_id(api):
    for user_id in ("carol", "alice", "bob"):
        api.patch(f"/users/{user_id}", json={"email": f"{user_id}@example.com", "username": user_id})

    first = api.get("/users?limit=2").get_json()
    second = api.get(f"/users?limit=2&lastEvaluatedUserId={first['lastEvaluatedUserId']}").get_json()
    by_email = api.get("/users?email=bob@example.com").get_json()

    assert [u["userId"] for u in first["users"]] == ["alice", "bob"]
    assert [u["userId"] for u in second["users"]] == ["carol"]
    assert "lastEvaluatedUserId" not in second
    assert [u["userId"] for u in by_email["users"]] == ["bob"]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=ten"])
def test_query_users_rejects_bad_limits(api, query):
    assert api.get(f"/users?{query}").status_code == 400


def test_enroll_list_and_delete_authenticators(api):
    email = api.post("/users/alice/authenticators",
                     json={"verificationMethod": "EMAIL_OTP", "email": "alice@example.com"}).get_json()
    sms = api.post("/users/alice/authenticators",
                   json={"verificationMethod": "SMS", "phoneNumber": "+64211234567", "isDefault": True}).get_json()
    totp = enroll_authenticator_app(api, "alice")

    listed = api.get("/users/alice/authenticators").get_json()
    assert [a["verificationMethod"] for a in listed] == ["EMAIL_OTP", "SMS", "AUTHENTICATOR_APP"]
    assert listed[0]["email"] == "alice@example.com" and listed[0]["userId"] == "alice"
    assert listed[1]["isDefault"] is True
    assert "otpUri" not in totp and "secret" not in str(totp).lower()
    assert api.get("/users/alice").get_json()["enrolledVerificationMethods"] == ["EMAIL_OTP", "SMS", "AUTHENTICATOR_APP"]

    assert api.delete(f"/users/alice/authenticators/{email['authenticator']['userAuthenticatorId']}").status_code == 200
    remaining = [a["userAuthenticatorId"] for a in api.get("/users/alice/authenticators").get_json()]
    assert remaining == [sms["authenticator"]["userAuthenticatorId"], totp["userAuthenticatorId"]]


def test_totp_secret_is_stored_encrypted(api, app, tenant):
    uri = otp_uri()
    api.post("/users/alice/authenticators", json={"verificationMethod": "AUTHENTICATOR_APP", "otpUri": uri})
    secret = uri.split("secret=")[1].split("&")[0]

    with app.app_context():
        from app.services.end_users.authenticators import list_authenticators

        [stored] = list_authenticators(tenant.id, "alice")
        assert secret not in stored.otp_secret_ciphertext


def test_an_enrolled_number_is_kept_in_its_e164_form(api):
    whatsapp = api.post("/users/alice/authenticators",
                        json={"verificationMethod": "WHATSAPP", "phoneNumber": "+44 7400 123-456"})
    assert whatsapp.status_code == 200
    assert whatsapp.get_json()["authenticator"]["phoneNumber"] == "+447400123456"


@pytest.mark.parametrize(("body", "code"), [
    ({"verificationMethod": "EMAIL_OTP"}, "email_required"),
    ({"verificationMethod": "SMS", "phoneNumber": "12"}, "invalid_phone_number"),
    ({"verificationMethod": "SMS", "phoneNumber": "+15551234567"}, "invalid_phone_number"),  # no such range
    ({"verificationMethod": "WHATSAPP", "phoneNumber": "07400123456"}, "invalid_phone_number"),  # no country code
    ({"verificationMethod": "AUTHENTICATOR_APP"}, "otp_uri_required"),
    ({"verificationMethod": "AUTHENTICATOR_APP", "otpUri": "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXPJBSWY3DP&counter=1"},
     "invalid_otp_uri"),
    ({"verificationMethod": "PASSKEY"}, "unsupported_verification_method"),
    ({"verificationMethod": "CARRIER_PIGEON"}, "invalid_request"),
    ({}, "invalid_request"),
])
def test_enroll_rejects_bad_requests_and_stores_nothing(api, body, code):
    response = api.post("/users/alice/authenticators", json=body)

    assert response.status_code == 400
    assert response.get_json()["errorCode"] == code
    assert api.get("/users/alice/authenticators").get_json() == []


def test_deleting_an_unknown_authenticator_is_404(api):
    response = api.delete("/users/alice/authenticators/nope")

    assert response.status_code == 404
    assert response.get_json()["errorCode"] == "authenticator_not_found"


def test_deleting_a_user_cascades_to_their_authenticators(api, app):
    enroll_authenticator_app(api, "alice")
    api.delete("/users/alice")

    with app.app_context():
        from sqlalchemy import func, select

        from app.extensions import db
        from app.models import Authenticator

        assert db.session.execute(select(func.count()).select_from(Authenticator)).scalar_one() == 0
