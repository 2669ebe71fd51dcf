"""Text messages (SMS, WhatsApp) leave through Twilio's Messages API, a webhook (``sms.created``),
or the development outbox; emails likewise through ``email.created`` when no mail server is set.

Twilio here is a real HTTP server on 127.0.0.1 (tests/twilio_server.py): the tests read the form
fields and credentials it received. Provider errors are kept on the message's row (failed, or
queued for the worker), never a 500; a webhook receiver (tests/webhook_receiver.py) checks the
signature as an integrator would, and the code it reads is the one that verifies.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import OutboundMessage, WebhookEvent
from app.models.base import utcnow
from app.services.delivery import messages
from app.services.delivery.worker import deliver_due
from tests.api.test_server_api_text_codes import ACTION, NUMBER, start, verify
from tests.api.test_webhooks_outbox import add_endpoint
from tests.conftest import use_twilio
from tests.twilio_server import ACCOUNT_SID, AUTH_TOKEN, SENDER
from tests.webhook_receiver import running_receiver


def outbox(app) -> list[OutboundMessage]:
    with app.app_context():
        rows = db.session.execute(select(OutboundMessage).order_by(OutboundMessage.created_at)).scalars().all()
        db.session.expunge_all()
        return rows


def stored_events(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.execute(select(WebhookEvent)).scalars().all()
        db.session.expunge_all()
        return rows


# -- Twilio ---------------------------------------------------------------------------------------------


def test_an_sms_code_is_posted_to_twilios_messages_api_with_basic_auth(app, api, twilio):
    started = start(api)

    [sent] = twilio.wait_for(1)
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert (sent.username, sent.password) == (ACCOUNT_SID, AUTH_TOKEN)
    assert sent.content_type.startswith("application/x-www-form-urlencoded")
    assert set(sent.form) == {"To", "From", "Body"}
    assert (sent.form["To"], sent.form["From"]) == (NUMBER, SENDER)
    assert "Test tenant" in sent.form["Body"] and sent.form["Body"].startswith(sent.code)
    [row] = outbox(app)
    assert (row.channel, row.transport, row.status, row.recipient, row.attempts) == ("sms", "twilio", "sent", NUMBER, 1)
    assert sent.code not in row.content_ciphertext
    assert verify(api, started["challengeId"], sent.code)["isVerified"] is True


@pytest.mark.parametrize("body", [{"verificationMethod": "WHATSAPP"}, {"smsChannel": "WHATSAPP"}])
def test_a_whatsapp_code_goes_to_and_from_whatsapp_addresses(app, api, twilio, body):
    start(api, **body)

    [sent] = twilio.wait_for(1)
    assert (sent.form["To"], sent.form["From"]) == (f"whatsapp:{NUMBER}", f"whatsapp:{SENDER}")
    assert outbox(app)[0].channel == "whatsapp"


def test_a_messaging_service_sends_instead_of_a_from_number(app, api, twilio, monkeypatch):
    use_twilio(app, monkeypatch, twilio.base_url, sender="MG0123456789abcdef0123456789abcdef")

    start(api)

    [sent] = twilio.wait_for(1)
    assert sent.form == {"To": NUMBER, "MessagingServiceSid": "MG0123456789abcdef0123456789abcdef",
                         "Body": sent.form["Body"]}


def test_a_number_twilio_refuses_fails_its_message_at_once_with_twilios_words(app, api, twilio):
    twilio.fail_next(400, code=21211, message="Invalid 'To' Phone Number")

    start(api)  # still 200: the challenge stands, the message is what failed

    [row] = outbox(app)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "Twilio answered 400: 21211 Invalid 'To' Phone Number"


@pytest.mark.parametrize("trouble", ["server error", "no json", "dropped"])
def test_a_provider_outage_leaves_the_message_to_the_worker_which_sends_it_later(app, api, twilio, settings, trouble):
    if trouble == "server error":
        twilio.fail_next(503, code=20500, message="Service unavailable")
    elif trouble == "no json":
        twilio.fail_next(502, raw=b"<html>Bad gateway</html>")
    else:
        twilio.drop_next()
    started = start(api)

    [row] = outbox(app)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.last_error.startswith("Twilio answered 50") if trouble != "dropped" else "Connection" in row.last_error
    with app.app_context():
        report = messages.send_due(settings=app.config["TOLLGATE"], now=row.next_attempt_at + timedelta(seconds=1))
    assert report.sent == 1
    [_, resent] = twilio.wait_for(2)
    assert outbox(app)[0].status == "sent"
    assert verify(api, started["challengeId"], resent.code)["isVerified"] is True


def test_with_no_twilio_account_a_queued_text_waits_with_a_clear_error(app, api, twilio, override_settings):
    twilio.drop_next()
    start(api)
    override_settings(twilio=None)

    with app.app_context():
        messages.send_due(settings=app.config["TOLLGATE"], now=utcnow() + timedelta(minutes=1))

    [row] = outbox(app)
    assert row.status == "queued" and "No Twilio account" in row.last_error


# -- delivery by webhook ------------------------------------------------------------------------------


def test_without_twilio_an_sms_created_endpoint_receives_the_code_signed(app, api, tenant, private_networks_allowed):
    with running_receiver(tenant.api_key) as (url, received):
        add_endpoint(app, tenant.id, events=["sms.created"], url=url)
        started = start(api, userId="jo", idempotencyKey="sign-in-42")

        [stored] = stored_events(app)
        assert stored.type == "sms.created" and "code" not in stored.data  # the code is kept sealed
        with app.app_context():
            assert deliver_due(settings=private_networks_allowed, now=utcnow()).sent == 1

    [event] = received
    data = event["data"]
    assert event["type"] == "sms.created"
    assert {key: data[key] for key in ("to", "userId", "actionCode", "idempotencyKey", "verificationMethod")} == {
        "to": NUMBER, "userId": "jo", "actionCode": ACTION, "idempotencyKey": "sign-in-42", "verificationMethod": "SMS"}
    [row] = outbox(app)
    assert (row.transport, row.status) == ("webhook", "sent")
    assert verify(api, started["challengeId"], data["code"])["isVerified"] is True


def test_without_smtp_an_email_created_endpoint_receives_the_email_code(app, api, tenant, private_networks_allowed):
    with running_receiver(tenant.api_key) as (url, received):
        add_endpoint(app, tenant.id, events=["email.created"], url=url)
        started = api.post("/challenge", json={"verificationMethod": "EMAIL_OTP", "action": ACTION,
                                               "email": "jo@example.com"}).get_json()
        with app.app_context():
            deliver_due(settings=private_networks_allowed, now=utcnow())

    [event] = received
    assert event["type"] == "email.created"
    assert (event["data"]["to"], event["data"]["verificationMethod"]) == ("jo@example.com", "EMAIL_OTP")
    assert verify(api, started["challengeId"], event["data"]["code"])["isVerified"] is True


def test_twilio_when_configured_wins_over_the_webhook(app, api, tenant, twilio):
    add_endpoint(app, tenant.id, events=["sms.created"])

    start(api)

    twilio.wait_for(1)
    assert stored_events(app) == []


# -- without any transport ------------------------------------------------------------------------------


def test_in_development_without_twilio_or_webhook_texts_land_in_the_development_outbox(app, api):
    start(api)

    [row] = outbox(app)
    assert (row.channel, row.transport, row.status) == ("sms", "outbox", "sent")


def test_in_production_without_twilio_or_webhook_text_codes_are_refused(app, api, override_settings):
    override_settings(env="production")

    response = api.post("/challenge", json={"verificationMethod": "SMS", "action": ACTION, "phoneNumber": NUMBER})

    assert response.status_code == 400
    assert response.get_json()["error"] == "sms_not_configured"
    assert outbox(app) == []


def test_a_number_outside_the_allowed_countries_is_refused_before_anything_is_sent(app, api, twilio,
                                                                                   override_settings):
    override_settings(sms_allowed_countries=frozenset({"DE", "GB"}))

    refused = api.post("/challenge", json={"verificationMethod": "SMS", "action": ACTION, "phoneNumber": "+64211234567"})
    start(api)  # GB is allowed

    assert refused.status_code == 400 and refused.get_json()["error"] == "unsupported_country"
    assert [message.form["To"] for message in twilio.wait_for(1)] == [NUMBER]
