"""Console → Messages: every email with its status; without SMTP, the development outbox in full."""

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import OutboundMessage
from app.models.base import utcnow
from app.services.delivery import messages
from tests.conftest import use_smtp
from tests.factories import make_action
from tests.html import parse, table_rows, text_of
from tests.smtp_server import free_port


def send_code(app, api, tenant):
    make_action(app, tenant.id, "change-email", default_outcome="CHALLENGE", verification_methods=["EMAIL_OTP"])
    api.post("/users/alice/authenticators", json={"verificationMethod": "EMAIL_OTP", "email": "alice@example.com"})
    token = api.post("/users/alice/actions/change-email", json={}).get_json()["token"]
    response = api.client.post("/v1/client/challenge/email-otp", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()


def test_without_smtp_the_page_is_the_development_outbox_showing_each_email(app, api, tenant, admin):
    send_code(app, api, tenant)

    page = parse(admin.get("/console/messages"))

    assert "Development outbox" in text_of(page.find(id="development-outbox"))
    [row] = table_rows(page, "table.messages")
    assert row["To"] == "alice@example.com"
    assert row["Status"].startswith("Sent")
    body = page.select_one("table.messages pre").get_text()
    assert any(line.strip().isdigit() and len(line.strip()) == 6 for line in body.splitlines())


def test_a_message_the_mail_server_refused_shows_its_error_and_never_its_code(app, api, tenant, admin, monkeypatch):
    settings = use_smtp(app, monkeypatch, f"smtp://127.0.0.1:{free_port()}")
    send_code(app, api, tenant)
    with app.app_context():
        later = utcnow()
        for _ in range(messages.MAX_ATTEMPTS):
            later += timedelta(minutes=10)
            messages.send_due(settings=settings, now=later)
        assert db.session.execute(select(OutboundMessage.status)).scalar_one() == "failed"

    page = parse(admin.get("/console/messages"))

    [row] = table_rows(page, "table.messages")
    assert row["Status"] == "Failed"
    assert "Connection" in row["Details"] or "refused" in row["Details"].lower()
    assert page.select("table.messages pre") == []  # a real message's content (its code) is never shown
    assert page.find(id="development-outbox") is None


def test_reviewers_cannot_read_messages(reviewer):
    assert reviewer.get("/console/messages").status_code == 403


def test_without_twilio_the_development_outbox_shows_each_text_message(app, api, admin):
    response = api.post("/challenge", json={"verificationMethod": "SMS", "action": "sign-in",
                                            "phoneNumber": "+447400123456"})
    assert response.status_code == 200, response.get_json()

    page = parse(admin.get("/console/messages"))

    assert "No Twilio account" in text_of(page.find(id="development-sms-outbox"))
    [row] = table_rows(page, "table.messages")
    assert (row["To"], row["Channel"]) == ("+447400123456", "SMS")
    body = page.select_one("table.messages pre").get_text()
    assert body.split()[0].isdigit() and len(body.split()[0]) == 6 and "Test tenant" in body


def test_an_open_sms_country_list_is_warned_about_until_the_operator_sets_one(app, admin, override_settings):
    assert "TOLLGATE_SMS_ALLOWED_COUNTRIES" in text_of(parse(admin.get("/console/messages")).find(id="sms-countries"))

    override_settings(sms_allowed_countries=frozenset({"GB"}))

    assert parse(admin.get("/console/messages")).find(id="sms-countries") is None
