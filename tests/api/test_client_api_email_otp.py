"""Email codes (EMAIL_OTP) through the client API, as @authsignal/browser's ``email`` module calls it,
delivered by a real SMTP server on 127.0.0.1 (aiosmtpd) and read from the received message.

A code is six digits, good once, for one action, for TOLLGATE_CODE_TTL; the fifth wrong code ends
the challenge; a resend waits 30 seconds and stops after five codes; a mail server that is down
loses nothing: the message waits in the outbox and the worker sends it later.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.domain.smtp_url import SmtpSecurity, SmtpTarget
from app.extensions import db
from app.models import CodeChallenge, OutboundMessage
from app.models.base import utcnow
from app.services.challenges.sent_codes import purge_challenges
from app.services.delivery import messages
from app.services.delivery.smtp import SmtpConnection, SmtpError, build_email
from tests.concurrency import at_once
from tests.conftest import SMTP_SENDER as SENDER
from tests.conftest import use_smtp
from tests.factories import make_action
from tests.personal_data import tables_holding
from tests.smtp_server import free_port, running_mail_server

ACTION = "change-email"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def track(api, user_id: str = "alice", action: str = ACTION) -> dict:
    response = api.post(f"/users/{user_id}/actions/{action}", json={})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def enroll(client, token: str, email: str = "alice@example.com"):
    return client.post("/v1/client/user-authenticators/email-otp", headers=bearer(token), json={"email": email})


def challenge(client, token: str):
    return client.post("/v1/client/challenge/email-otp", headers=bearer(token))  # no body, as the SDK sends it


def verify(client, token: str, code: str) -> dict:
    response = client.post("/v1/client/verify/email-otp", headers=bearer(token), json={"verificationCode": code})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert "error" not in body
    return body


def state_of(api, tracked: dict, user_id: str = "alice") -> str:
    return api.get(f"/users/{user_id}/actions/{ACTION}/{tracked['idempotencyKey']}").get_json()["state"]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.fixture(autouse=True)
def email_action(app, tenant):
    make_action(app, tenant.id, ACTION, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                verification_methods=["EMAIL_OTP", "AUTHENTICATOR_APP"])


@pytest.fixture
def enrolled(api):
    """Alice's address, enrolled by the integrator's backend."""
    response = api.post("/users/alice/authenticators", json={"verificationMethod": "EMAIL_OTP", "email": "alice@example.com"})
    assert response.status_code == 200, response.get_json()


# -- enrolment and a first code ---------------------------------------------------------------------


def test_enrolling_an_address_sends_a_code_whose_first_use_enrols_it_and_passes_the_challenge(api, client, mail):
    tracked = track(api)
    assert tracked["state"] == "CHALLENGE_REQUIRED"

    response = enroll(client, tracked["token"])

    assert response.status_code == 200, response.get_json()
    enrolled = response.get_json()
    assert set(enrolled) == {"userAuthenticatorId", "userId"}
    assert enrolled["userId"] == "alice"
    [received] = mail.wait_for(1)
    assert received.envelope_from == SENDER
    assert received.envelope_to == ["alice@example.com"]
    assert received.message["To"] == "alice@example.com"
    assert received.message["From"] == f"Test tenant <{SENDER}>"
    assert "Test tenant" in received.message["Subject"]
    assert received.code in received.html
    assert "Test tenant" in received.text

    verified = verify(client, tracked["token"], received.code)

    assert verified["isVerified"] is True
    assert verified["userAuthenticator"]["userAuthenticatorId"] == enrolled["userAuthenticatorId"]
    assert verified["userAuthenticator"]["verificationMethod"] == "EMAIL_OTP"
    assert verified["userAuthenticator"]["email"] == "alice@example.com"
    assert state_of(api, tracked) == "CHALLENGE_SUCCEEDED"
    assert api.post("/validate", json={"token": verified["accessToken"]}).get_json()["isValid"] is True
    user = api.get("/users/alice").get_json()
    assert user["email"] == "alice@example.com"
    assert "EMAIL_OTP" in user["enrolledVerificationMethods"]


def test_an_address_is_not_enrolled_until_its_code_comes_back(api, client, mail):
    tracked = track(api)
    enroll(client, tracked["token"])

    assert client.get("/v1/client/user-authenticators", headers=bearer(tracked["token"])).get_json() == []
    assert api.get("/users/alice").get_json()["enrolledVerificationMethods"] == []


def test_a_bad_address_is_a_400(api, client, mail):
    response = enroll(client, track(api)["token"], email="not an address")

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_email"
    assert mail.received == []


# -- challenges for an enrolled address ----------------------------------------------------------


def test_an_enrolled_user_gets_a_code_and_passes_with_it(api, client, mail, enrolled):
    tracked = track(api)
    assert tracked["state"] == "CHALLENGE_REQUIRED"

    started = challenge(client, tracked["token"])

    assert started.status_code == 200
    assert set(started.get_json()) == {"challengeId"}
    [received] = mail.wait_for(1)
    verified = verify(client, tracked["token"], received.code)
    assert verified["isVerified"] is True
    assert "userAuthenticator" not in verified  # only the code that enrols an address returns it
    assert api.post("/validate", json={"token": verified["accessToken"]}).get_json()["isValid"] is True


def test_a_user_without_an_address_cannot_ask_for_a_code(api, client, mail):
    response = challenge(client, track(api)["token"])

    assert response.status_code == 400
    assert response.get_json()["error"] == "authenticator_not_found"


def test_a_wrong_code_is_refused_and_the_fifth_ends_the_challenge(api, client, mail, enrolled):
    tracked = track(api)
    challenge(client, tracked["token"])
    code = mail.wait_for(1)[0].code

    answers = [verify(client, tracked["token"], wrong(code)) for _ in range(5)]

    assert [a["failureReason"] for a in answers] == ["CODE_INVALID_OR_EXPIRED"] * 4 + ["MAX_ATTEMPTS_EXCEEDED"]
    assert all(a["isVerified"] is False and "accessToken" not in a for a in answers)
    after = verify(client, tracked["token"], code)
    assert after == {"isVerified": False, "failureReason": "MAX_ATTEMPTS_EXCEEDED"}
    assert state_of(api, tracked) == "CHALLENGE_REQUIRED"


def test_a_code_works_once(api, client, mail, enrolled):
    tracked = track(api)
    challenge(client, tracked["token"])
    code = mail.wait_for(1)[0].code
    assert verify(client, tracked["token"], code)["isVerified"] is True

    again = verify(client, tracked["token"], code)

    assert again == {"isVerified": False, "failureReason": "CODE_INVALID_OR_EXPIRED"}


def test_an_expired_code_is_refused(app, api, client, mail, enrolled):
    tracked = track(api)
    challenge(client, tracked["token"])
    code = mail.wait_for(1)[0].code
    with app.app_context():
        db.session.execute(update(CodeChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()

    assert verify(client, tracked["token"], code) == {"isVerified": False, "failureReason": "CODE_INVALID_OR_EXPIRED"}


def test_a_code_lives_as_long_as_configured(app, api, client, mail, enrolled, override_settings):
    override_settings(code_ttl=120)
    tracked = track(api)
    before = utcnow()
    challenge(client, tracked["token"])

    with app.app_context():
        expires_at = db.session.execute(select(CodeChallenge.expires_at)).scalar_one()
    assert timedelta(seconds=119) < expires_at - before < timedelta(seconds=121)
    assert "next 2 minutes" in mail.wait_for(1)[0].text


def test_a_code_for_another_action_is_refused(app, api, client, tenant, mail, enrolled):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", verification_methods=["EMAIL_OTP"])
    other = track(api, action="withdraw-funds")
    challenge(client, other["token"])
    tracked = track(api)
    challenge(client, tracked["token"])
    other_code, code = (m.code for m in mail.wait_for(2))
    if other_code == code:  # one chance in a million: the same six digits, each right for its own action
        pytest.skip("both codes drew the same digits")

    assert verify(client, tracked["token"], other_code) == {"isVerified": False, "failureReason": "CODE_INVALID_OR_EXPIRED"}
    assert verify(client, tracked["token"], code)["isVerified"] is True


# -- resending -------------------------------------------------------------------------------------


def test_a_resend_waits_30_seconds_then_replaces_the_code(app, api, client, mail, enrolled):
    tracked = track(api)
    first = challenge(client, tracked["token"]).get_json()

    too_soon = challenge(client, tracked["token"])

    assert too_soon.status_code == 429
    assert too_soon.get_json()["error"] == "too_many_requests"
    assert 1 <= int(too_soon.headers["Retry-After"]) <= 30
    assert len(mail.wait_for(1)) == 1
    _age_last_send(app, seconds=31)

    resent = challenge(client, tracked["token"])

    assert resent.status_code == 200
    assert resent.get_json()["challengeId"] == first["challengeId"]
    old, new = (m.code for m in mail.wait_for(2))
    if old != new:  # a new code, drawn afresh: the same digits one time in a million
        assert verify(client, tracked["token"], old)["isVerified"] is False
    assert verify(client, tracked["token"], new)["isVerified"] is True


def test_resending_stops_after_five_codes(app, api, client, mail, enrolled):
    tracked = track(api)
    for _ in range(5):
        assert challenge(client, tracked["token"]).status_code == 200
        _age_last_send(app, seconds=31)

    sixth = challenge(client, tracked["token"])

    assert sixth.status_code == 429
    assert int(sixth.headers["Retry-After"]) > 30
    assert len(mail.wait_for(5)) == 5


def test_resending_does_not_buy_more_guesses(app, api, client, mail, enrolled):
    tracked = track(api)
    challenge(client, tracked["token"])
    first_code = mail.wait_for(1)[0].code
    for _ in range(4):
        verify(client, tracked["token"], wrong(first_code))
    _age_last_send(app, seconds=31)
    challenge(client, tracked["token"])
    new_code = mail.wait_for(2)[1].code

    assert verify(client, tracked["token"], wrong(new_code))["failureReason"] == "MAX_ATTEMPTS_EXCEEDED"
    assert verify(client, tracked["token"], new_code)["failureReason"] == "MAX_ATTEMPTS_EXCEEDED"


def _age_last_send(app, *, seconds: int) -> None:
    with app.app_context():
        for row in db.session.execute(select(CodeChallenge)).scalars():
            row.last_sent_at -= timedelta(seconds=seconds)
        db.session.commit()


# -- wrong codes in parallel -------------------------------------------------------------------------


def test_wrong_codes_sent_at_once_get_five_checks_between_them(app, api, mail, enrolled):
    tracked = track(api)
    app.test_client().post("/v1/client/challenge/email-otp", headers=bearer(tracked["token"]))
    code = mail.wait_for(1)[0].code

    def guess():
        return verify(app.test_client(), tracked["token"], wrong(code))["failureReason"]

    reasons = at_once(*[guess for _ in range(8)])

    assert reasons.count("CODE_INVALID_OR_EXPIRED") == 4
    assert reasons.count("MAX_ATTEMPTS_EXCEEDED") == 4
    with app.app_context():
        assert db.session.execute(select(CodeChallenge.failed_attempts)).scalar_one() == 5


# -- delivery ----------------------------------------------------------------------------------------


def test_a_mail_server_that_is_down_loses_nothing(app, api, client, monkeypatch, enrolled):
    port = free_port()
    smtp_settings = use_smtp(app, monkeypatch, f"smtp://127.0.0.1:{port}")
    tracked = track(api)

    started = challenge(client, tracked["token"])

    assert started.status_code == 200  # the code is on its way: queued, sent when the server is back
    with app.app_context():
        queued = db.session.execute(select(OutboundMessage)).scalar_one()
        assert (queued.status, queued.attempts) == ("queued", 1)
        assert "Connection" in queued.last_error or "refused" in queued.last_error.lower()
        due_at = queued.next_attempt_at
    with running_mail_server(port=port) as server, app.app_context():
        assert messages.send_due(settings=smtp_settings, now=due_at - timedelta(seconds=1)).attempted == 0
        report = messages.send_due(settings=smtp_settings, now=due_at)
        assert report.sent == 1
        code = server.wait_for(1)[0].code
        sent = db.session.execute(select(OutboundMessage)).scalar_one()
        assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)
    assert verify(client, tracked["token"], code)["isVerified"] is True


def test_after_the_last_attempt_a_message_is_failed_with_the_servers_error(app, api, client, monkeypatch, enrolled):
    smtp_settings = use_smtp(app, monkeypatch, f"smtp://127.0.0.1:{free_port()}")
    challenge(client, track(api)["token"])
    with app.app_context():
        later = utcnow()
        for _ in range(messages.MAX_ATTEMPTS):
            later += timedelta(minutes=10)
            messages.send_due(settings=smtp_settings, now=later)
        failed = db.session.execute(select(OutboundMessage)).scalar_one()
        assert (failed.status, failed.attempts) == ("failed", messages.MAX_ATTEMPTS)
        assert failed.last_error


def test_without_smtp_the_code_lands_in_the_development_outbox(app, api, client, tenant, enrolled):
    tracked = track(api)

    assert challenge(client, tracked["token"]).status_code == 200

    with app.app_context():
        [shown] = messages.recent_messages(tenant.id, settings=app.config["TOLLGATE"])
        assert (shown.message.status, shown.message.transport, shown.message.recipient) == ("sent", "outbox", "alice@example.com")
        code = next(line for line in shown.content["text"].splitlines() if line.isdigit())
    assert verify(client, tracked["token"], code)["isVerified"] is True


def test_in_production_without_smtp_email_codes_are_refused(app, api, client, override_settings, enrolled):
    override_settings(env="production")
    tracked = track(api)

    response = challenge(client, tracked["token"])

    assert response.status_code == 400
    assert response.get_json()["error"] == "email_not_configured"
    with app.app_context():
        assert db.session.execute(select(CodeChallenge)).first() is None


def test_the_code_is_stored_only_as_a_digest_and_the_message_encrypted(app, api, client, mail, enrolled):
    challenge(client, track(api)["token"])
    code = mail.wait_for(1)[0].code

    with app.app_context():
        stored = db.session.execute(select(CodeChallenge)).scalar_one()
        message = db.session.execute(select(OutboundMessage)).scalar_one()
        assert code not in (stored.code_digest or "")
        assert len(stored.code_digest) == 64
        assert code not in message.content_ciphertext


def test_erasing_the_user_erases_their_codes_and_the_emails_that_carried_them(app, api, client, mail, enrolled):
    challenge(client, track(api)["token"])
    mail.wait_for(1)

    assert api.post("/users/alice/erase").status_code == 200

    assert tables_holding(app, ("alice@example.com",)) == {}
    with app.app_context():
        assert db.session.execute(select(CodeChallenge)).first() is None
        assert db.session.execute(select(OutboundMessage)).first() is None


def test_the_worker_sweeps_old_challenges_and_finished_messages(app, api, client, enrolled):
    challenge(client, track(api)["token"])
    with app.app_context():
        assert messages.prune(older_than=timedelta(days=30), now=utcnow()) == 0
        assert purge_challenges(now=utcnow()) == 0
        assert messages.prune(older_than=timedelta(days=30), now=utcnow() + timedelta(days=31)) == 1
        assert purge_challenges(now=utcnow() + timedelta(days=2)) == 1


# -- SMTP transport -------------------------------------------------------------------------------


def test_credentials_in_the_smtp_url_are_used_to_log_in(app, api, client, monkeypatch, enrolled):
    with running_mail_server(credentials=("codes@tollgate.test", "p:ss word")) as server:
        use_smtp(app, monkeypatch, f"smtp://codes%40tollgate.test:p%3Ass%20word@127.0.0.1:{server.port}")
        tracked = track(api)

        challenge(client, tracked["token"])

        [received] = server.wait_for(1)
        assert received.logged_in_as == "codes@tollgate.test"
        assert verify(client, tracked["token"], received.code)["isVerified"] is True


def test_a_refused_login_leaves_the_message_queued_with_the_servers_answer(app, api, client, monkeypatch, enrolled):
    with running_mail_server(credentials=("codes@tollgate.test", "right")) as server:
        use_smtp(app, monkeypatch, f"smtp://codes%40tollgate.test:wrong@127.0.0.1:{server.port}")

        assert challenge(client, track(api)["token"]).status_code == 200

        assert server.received == []
        with app.app_context():
            queued = db.session.execute(select(OutboundMessage)).scalar_one()
            assert queued.status == "queued"
            assert "SMTPAuthenticationError" in queued.last_error


def test_plain_smtp_to_a_host_off_loopback_is_refused_before_anything_is_sent(app):
    # A target parsed from smtp://mail.example.com needs STARTTLS; aimed at a server without it
    # (here our loopback one, standing in for it), nothing is sent and the reason is given.
    with running_mail_server() as server:
        target = SmtpTarget(host=server.host, port=server.port, security=SmtpSecurity.STARTTLS)
        with SmtpConnection(target, sender=SENDER) as smtp, pytest.raises(SmtpError, match="does not offer STARTTLS"):
            smtp.send(build_email(sender=SENDER, sender_name="T", recipient="a@example.com", subject="s", text="t",
                                  html="<p>t</p>"))
        assert server.received == []


def test_no_code_is_sent_for_an_action_that_is_blocked(app, api, client, tenant, mail, enrolled):
    make_action(app, tenant.id, "close-account", default_outcome="BLOCK", verification_methods=["EMAIL_OTP"])
    blocked = track(api, action="close-account")
    assert blocked["state"] == "BLOCK"

    response = challenge(client, blocked["token"])

    assert response.status_code == 409
    assert response.get_json()["error"] == "action_not_pending"
    assert mail.received == []
