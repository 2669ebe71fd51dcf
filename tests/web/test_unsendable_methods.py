"""In production an action cannot allow a method whose messages this server has no way to send:
email codes and links without SMTP or an email.created webhook, SMS and WhatsApp without Twilio or
an sms.created one. The console's settings form says so on the field; the management API answers 400."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import ActionConfiguration
from app.services.tenancy.audit import Agent
from app.services.tenancy.management_keys import create_management_key
from tests.api.test_bad_management_input_properties import ManagementClient
from tests.api.test_webhooks_outbox import add_endpoint
from tests.conftest import use_twilio
from tests.factories import make_action
from tests.html import field_error

SETTINGS = {"name": "Sign in", "default_outcome": "CHALLENGE", "default_verification_method": "",
            "unenrolled_policy": "ALLOW"}


@pytest.fixture
def production(app, override_settings):
    override_settings(env="production")


def save(admin, methods: list[str]):
    return admin.post("/console/actions/signIn/settings", data={**SETTINGS, "verification_methods": methods})


def allowed(app, code: str = "signIn") -> list[str]:
    with app.app_context():
        return list(db.session.query(ActionConfiguration).filter_by(code=code).one().verification_methods)


def test_in_production_sms_without_twilio_or_webhook_is_refused_on_its_field(app, admin, tenant, production):
    make_action(app, tenant.id, "signIn", verification_methods=["PASSKEY"])

    refused = save(admin, ["PASSKEY", "SMS", "EMAIL_OTP"])

    assert refused.status_code == 400
    message = field_error(refused, "verification_methods")
    assert "SMS, EMAIL_OTP cannot be enabled" in message and "TOLLGATE_TWILIO_*" in message
    assert allowed(app) == ["PASSKEY"]


def test_a_twilio_account_or_an_sms_created_webhook_makes_sms_allowed(app, admin, tenant, production, monkeypatch):
    make_action(app, tenant.id, "signIn", verification_methods=["PASSKEY"])
    add_endpoint(app, tenant.id, events=["sms.created"])
    assert save(admin, ["PASSKEY", "SMS", "WHATSAPP"]).status_code == 303

    use_twilio(app, monkeypatch, "https://api.twilio.com")
    assert save(admin, ["SMS"]).status_code == 303
    assert allowed(app) == ["SMS"]


def test_outside_production_the_development_outbox_sends_everything(app, admin, tenant):
    make_action(app, tenant.id, "signIn", verification_methods=["PASSKEY"])

    assert save(admin, ["SMS", "WHATSAPP", "EMAIL_OTP", "EMAIL_MAGIC_LINK"]).status_code == 303


def test_the_management_api_refuses_them_with_a_400(app, client, tenant, production):
    with app.app_context():
        _, raw = create_management_key(Agent("test", tenant.id), name="ops", access="publish")
    management = ManagementClient(client, raw)

    created = management.post("/action-configurations", json={"actionCode": "payout", "defaultUserActionResult": "ALLOW",
                                                              "verificationMethods": ["SMS"]})
    fine = management.post("/action-configurations", json={"actionCode": "payout", "defaultUserActionResult": "ALLOW",
                                                           "verificationMethods": ["PASSKEY"]})
    updated = management.patch("/action-configurations/payout", json={"verificationMethods": ["PASSKEY", "WHATSAPP"]})

    assert created.status_code == 400
    assert created.get_json()["errorCode"] == "verification_method_not_configured"
    assert fine.status_code == 200, fine.get_json()
    assert updated.status_code == 400 and "WHATSAPP" in updated.get_json()["errorDescription"]


def test_a_rule_cannot_allow_them_either(app, admin, client, tenant, production):
    make_action(app, tenant.id, "signIn", verification_methods=["PASSKEY"])
    rule = {"name": "Step up", "description": "", "outcome": "CHALLENGE", "is_active": "y", "mode": "builder",
            "g-0-join": "and", "verification_methods": ["SMS"]}

    refused = admin.post("/console/actions/signIn/rules/new", data=rule)

    assert refused.status_code == 400
    assert "SMS cannot be enabled" in field_error(refused, "verification_methods")
    with app.app_context():
        _, raw = create_management_key(Agent("test", tenant.id), name="ops", access="publish")
    by_api = ManagementClient(client, raw).post("/action-configurations/signIn/rules", json={
        "name": "Step up", "priority": 0, "type": "CHALLENGE", "verificationMethods": ["WHATSAPP"]})
    assert by_api.status_code == 400 and by_api.get_json()["errorCode"] == "verification_method_not_configured"
