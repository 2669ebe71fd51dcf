"""Erasing a data subject (POST /v1/users/{userId}/erase): afterwards no table holds their user id,
contact details, addresses or user agents; other users' rows, the counts the console and /metrics
show, and the decisions taken stay as they were; one audit event says it happened, holding none of it."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import delete, func, select

from app.domain.audit_chain import Tamper
from app.domain.decision import ActionState
from app.extensions import db
from app.models import AuditEvent, ConsoleUser, EndUser, UserAction, WebhookDelivery, WebhookEvent
from app.models.base import utcnow
from app.services.challenges.codes import issue_recovery_codes
from app.services.challenges.sessions import open_session
from app.services.console.action_stats import outcome_counts
from app.services.console.activity import ActivityFilters
from app.services.console.activity_export import record_export
from app.services.console.console_users import create_console_user, invite_console_user
from app.services.decisions.replay import explanation
from app.services.end_users import authenticators
from app.services.operations import erasure, metrics
from app.services.reviews.cases import add_note, claim_case
from app.services.reviews.decisions import decide_case
from app.services.tenancy import audit_chain
from tests.api.test_client_api_totp import enroll, verify, wrong_code
from tests.api.test_webhooks_outbox import add_endpoint
from tests.conftest import ApiClient
from tests.factories import add_tenant_with_key, make_action, rule
from tests.personal_data import rows_keyed_by, tables_holding

ACTION = "withdraw-funds"
SUBJECT = "ada-lovelace-1815"
EMAIL = "ada@analytical.example"
PHONE = "+447400123456"
IPS = ("203.0.113.77", "2001:db8::77")
USER_AGENTS = ("AdaBrowser/1.0 (Analytical Engine)", "AdaPhone/2.0 (Difference Engine)")
DEVICE = "ada-device-0001"
NICKNAME, DISPLAY_NAME = "Countess of Lovelace", "Augusta Ada King"
SUBJECT_DATA = (SUBJECT, EMAIL, PHONE, *IPS, *USER_AGENTS, DEVICE, NICKNAME, DISPLAY_NAME)

OTHER = "bob-builder-42"
OTHER_IP, OTHER_UA, OTHER_EMAIL = "198.51.100.9", "BobBrowser/3.1", "bob@site.example"


@pytest.fixture
def withdraw(app, tenant):
    """Rules that read the IP, the amount and the email, so the decision traces observe them."""
    make_action(app, tenant.id, ACTION, unenrolled_policy="REQUIRE_ENROLLMENT", rules=[
        rule("Blocked address", 0, "BLOCK", {"==": [{"var": "ip.address"}, "192.0.2.1"]}),
        rule("Large", 1, "REVIEW", {">=": [{"var": "custom.amount"}, 10000]}),
        rule("Medium", 2, "CHALLENGE", {">=": [{"var": "custom.amount"}, 1000]}),
        rule("Staff", 3, "ALLOW", {"==": [{"var": "user.email"}, "staff@bank.example"]}),
    ])


@pytest.fixture
def admin_id(app, tenant) -> str:
    with app.app_context():
        return create_console_user(tenant.id, email="admin@example.com", password="correct horse battery staple",
                                   role="admin", settings=app.config["TOLLGATE"]).id


def track(api, user_id: str, amount: int, *, ip: str, ua: str, custom: dict | None = None, **attributes) -> dict:
    response = api.post(f"/users/{user_id}/actions/{ACTION}", json={
        "ipAddress": ip, "userAgent": ua, "custom": {"amount": amount, **(custom or {})}, **attributes})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def action_id(app, idempotency_key: str) -> int:
    with app.app_context():
        return db.session.execute(select(UserAction.id).where(UserAction.idempotency_key == idempotency_key)).scalar_one()


def as_admin(app, admin_id: str, work) -> None:
    """Run a console service as the admin (it takes the ConsoleUser row)."""
    with app.app_context():
        work(db.session.get(ConsoleUser, admin_id))


@pytest.fixture
def held(app, api, client, tenant, settings, withdraw, admin_id) -> dict:
    """Everything Tollgate keeps about the subject, made the way production makes it: attributes,
    actions of each outcome, an authenticator app with a wrong code and recovery codes, imported
    authenticators (one removed in the console), a decided and a waiting review case with notes,
    webhook events of all of it, and an audited export of their activity. Another user beside them."""
    add_endpoint(app, tenant.id)
    api.patch(f"/users/{SUBJECT}", json={"email": EMAIL, "phoneNumber": PHONE, "username": "ada",
                                         "displayName": DISPLAY_NAME, "custom": {"nickname": NICKNAME}})
    allowed = track(api, SUBJECT, 5, ip=IPS[0], ua=USER_AGENTS[0], deviceId=DEVICE, email=EMAIL,
                    custom={"nickname": NICKNAME}, redirectUrl=f"https://app.example/done?user={SUBJECT}")
    challenged = track(api, SUBJECT, 2000, ip=IPS[1], ua=USER_AGENTS[1], deviceId=DEVICE)
    secret = enroll(client, challenged["token"]).get_json()["secret"]
    assert verify(client, challenged["token"], wrong_code(secret))["isVerified"] is False
    assert verify(client, challenged["token"], pyotp.TOTP(secret).now())["isVerified"] is True
    with app.app_context():
        issue_recovery_codes(open_session(challenged["token"], settings=settings, now=utcnow()), settings=settings,
                             now=utcnow())
    api.post(f"/users/{SUBJECT}/authenticators", json={"verificationMethod": "EMAIL_OTP", "email": EMAIL})
    sms = api.post(f"/users/{SUBJECT}/authenticators", json={"verificationMethod": "SMS", "phoneNumber": PHONE})
    sms_id = sms.get_json()["authenticator"]["userAuthenticatorId"]
    decided = action_id(app, track(api, SUBJECT, 20000, ip=IPS[0], ua=USER_AGENTS[0])["idempotencyKey"])
    waiting = action_id(app, track(api, SUBJECT, 30000, ip=IPS[1], ua=USER_AGENTS[1])["idempotencyKey"])

    def console_work(admin):
        claim_case(admin, decided, settings=settings, now=utcnow())
        add_note(admin, decided, f"Phoned {PHONE}, she said no", settings=settings, now=utcnow())
        decide_case(admin, decided, ActionState.REVIEW_FAILED, f"{SUBJECT} denied it", now=utcnow())
        add_note(admin, waiting, f"Emailed {EMAIL}", settings=settings, now=utcnow())
        authenticators.remove_authenticator(admin, SUBJECT, sms_id, now=utcnow())
        record_export(admin, ActivityFilters(user_id=SUBJECT), now=utcnow())

    as_admin(app, admin_id, console_work)

    api.patch(f"/users/{OTHER}", json={"email": OTHER_EMAIL})
    other = [track(api, OTHER, amount, ip=OTHER_IP, ua=OTHER_UA) for amount in (5, 20000)]
    return {"allowed": allowed, "other": other, "waiting": waiting}


def erase(api, user_id: str = SUBJECT):
    return api.post(f"/users/{user_id}/erase")


def test_afterwards_no_table_holds_the_subjects_data(app, api, held):
    before = tables_holding(app, SUBJECT_DATA)
    with app.app_context():
        subject_pk = db.session.execute(select(EndUser.id).where(EndUser.user_id == SUBJECT)).scalar_one()
    keyed_before = rows_keyed_by(app, "end_user", subject_pk)
    # The setup really put the data where people's data goes (or this test would prove nothing).
    assert {"end_user", "user_authenticator", "user_action", "review_decision", "review_note", "webhook_event",
            "audit_event"} <= set(before)
    # The phone number only through the stored user's facts in the decisions' input snapshots.
    assert set(before["user_action"]) == {SUBJECT, EMAIL, PHONE, *IPS, *USER_AGENTS, DEVICE, NICKNAME}
    assert {"user_authenticator", "verification_attempt", "recovery_code"} <= set(keyed_before)

    response = erase(api)

    assert response.status_code == 200, response.get_json()
    assert tables_holding(app, SUBJECT_DATA) == {}
    assert rows_keyed_by(app, "end_user", subject_pk) == {}


def test_the_answer_counts_what_was_erased(app, api, held):
    with app.app_context():
        their_events = db.session.execute(select(func.count()).select_from(WebhookEvent).where(
            WebhookEvent.data["userId"].as_string() == SUBJECT)).scalar_one()
    assert their_events == 11  # 4 tracked, 2 state changes, 1 review decided, 3 authenticators added, 1 removed

    response = erase(api)

    assert response.get_json() == {"success": True, "erased": {
        "userRecords": 1, "authenticators": 2, "actions": 4, "reviewDecisions": 1, "reviewNotes": 2,
        "webhookEvents": their_events, "auditEvents": 3,  # the review decision, the removal, the export
    }}


def test_other_users_rows_and_replays_are_unchanged(app, api, held):
    def others() -> tuple:
        with app.app_context():
            actions = [row._asdict() for row in db.session.execute(
                select(UserAction.__table__).where(UserAction.user_id == OTHER).order_by(UserAction.id))]
            user = db.session.execute(select(EndUser.__table__).where(EndUser.user_id == OTHER)).one()._asdict()
            events = db.session.execute(select(WebhookEvent.id, WebhookEvent.data).where(
                WebhookEvent.data["userId"].as_string() == OTHER).order_by(WebhookEvent.id)).all()
            deliveries = db.session.execute(select(WebhookDelivery.__table__).where(
                WebhookDelivery.event_id.in_([event.id for event in events])).order_by(WebhookDelivery.id)).all()
            return actions, user, events, deliveries

    def replays() -> list[dict]:
        # Tracking again with an action's idempotency key answers with the stored decision.
        return [track(api, OTHER, 999_999, ip=OTHER_IP, ua=OTHER_UA, idempotencyKey=tracked["idempotencyKey"])
                for tracked in held["other"]]

    replayed = replays()
    before = others()

    erase(api)

    assert others() == before
    assert [r["state"] for r in replayed] == ["ALLOW", "REVIEW_REQUIRED"]
    assert [without_token(r) for r in replays()] == [without_token(r) for r in replayed]


def without_token(tracked: dict) -> dict:
    return {key: value for key, value in tracked.items() if key not in ("token", "url")}


def test_the_counts_the_console_and_metrics_show_stay_the_same(app, api, tenant, held):
    def counts():
        with app.app_context():
            now = utcnow()
            return outcome_counts(tenant.id, now=now), metrics.take_snapshot(settings=app.config["TOLLGATE"], now=now)

    stats_before, metrics_before = counts()

    erased = erase(api).get_json()["erased"]["webhookEvents"]

    stats_after, metrics_after = counts()
    assert stats_after == stats_before
    assert stats_before[ACTION] == {"ALLOW": 2, "CHALLENGE": 1, "REVIEW": 3, "BLOCK": 0}
    assert metrics_after.recent_actions == metrics_before.recent_actions
    assert metrics_after.reviews_waiting == metrics_before.reviews_waiting == 2  # theirs still waits, anonymous
    assert metrics_after.reviews_overdue == metrics_before.reviews_overdue
    assert metrics_after.oldest_review_age >= metrics_before.oldest_review_age
    # What goes on purpose: their wrong code (a rate limit's row) and their undelivered webhooks
    # (one endpoint: a delivery per event).
    assert metrics_after.recent_failed_verifications == metrics_before.recent_failed_verifications - 1 == 0
    assert metrics_after.webhook_deliveries["pending"] == metrics_before.webhook_deliveries["pending"] - erased


def test_the_actions_keep_their_decisions_under_one_pseudonym(app, api, held):
    with app.app_context():
        before = db.session.execute(select(UserAction).where(UserAction.user_id == SUBJECT)
                                    .order_by(UserAction.id)).scalars().all()
        kept = [(a.id, a.action_code, a.state, a.rule_ids, a.priority_rule_id, a.created_at,
                 [(r["ruleId"], r["matched"]) for r in explanation(a)["rules"]]) for a in before]

    erase(api)

    with app.app_context():
        after = db.session.execute(select(UserAction).where(UserAction.id.in_([k[0] for k in kept]))
                                   .order_by(UserAction.id)).scalars().all()
        [event] = db.session.execute(select(AuditEvent).where(AuditEvent.event == erasure.EVENT)).scalars().all()
        assert [(a.id, a.action_code, a.state, a.rule_ids, a.priority_rule_id, a.created_at,
                 [(r["ruleId"], r["matched"]) for r in explanation(a)["rules"]]) for a in after] == kept
        assert {a.user_id for a in after} == {event.target_id}
        assert all(a.attributes == {} and a.ip_address is None and a.redirect_url is None for a in after)
        assert all(condition_free(explanation(a)) for a in after)
        assert [a.state for a in after].count(ActionState.REVIEW_REQUIRED) == 1


def condition_free(output: dict) -> bool:
    return all("conditions" not in r for r in output["rules"])


def test_one_audit_event_says_an_erasure_happened_and_holds_none_of_the_data(app, api, tenant, held):
    erased = erase(api).get_json()["erased"]

    with app.app_context():
        [event] = db.session.execute(select(AuditEvent).where(AuditEvent.event == erasure.EVENT)).scalars().all()
        assert (event.tenant_id, event.actor_id, event.actor_email) == (tenant.id, None, "api")
        assert event.target_type == "end_user" and event.target_id.startswith(erasure.PSEUDONYM_PREFIX)
        redacted = db.session.execute(select(AuditEvent.id).where(AuditEvent.event.in_(
            ["review.rejected", "authenticator.removed", "activity.exported"])).order_by(AuditEvent.id)).scalars().all()
        assert (event.before, event.after) == (None, erased | {"redactedAuditEvents": redacted})
        held_by_event = " ".join(str(value) for value in (event.target_id, event.actor_email, event.before, event.after))
    assert not [needle for needle in SUBJECT_DATA if needle.lower() in held_by_event.lower()]


def test_the_audit_chain_verifies_after_the_erasure_redacted_entries_in_it(app, api, tenant, held):
    erase(api)

    with app.app_context():
        assert audit_chain.verify_tenant(tenant.id).ok
        # Without the erasure's entry naming it, a redacted entry is an edit like any other.
        erasure_entry = db.session.execute(select(AuditEvent).where(AuditEvent.event == erasure.EVENT)).scalar_one()
        first_redacted = min(erasure_entry.after["redactedAuditEvents"])
        db.session.execute(delete(AuditEvent).where(AuditEvent.id == erasure_entry.id))
        db.session.commit()
        problem = audit_chain.verify_tenant(tenant.id).report.problem
    assert (problem.entry.id, problem.kind) == (first_redacted, Tamper.EDITED)


def test_audit_entries_about_the_subject_keep_who_did_what(app, api, held):
    erase(api)

    with app.app_context():
        entries = {e.event: e for e in db.session.execute(select(AuditEvent)).scalars()}
    removed = entries["authenticator.removed"]
    assert (removed.actor_email, removed.before["verificationMethod"]) == ("admin@example.com", "SMS")
    assert removed.before["userId"] == removed.before["phoneNumber"] == "[erased]"
    assert entries["activity.exported"].after == {"filters": {"user": "[erased]"}}
    assert entries["review.rejected"].after == {"state": "REVIEW_FAILED", "reason": "[erased]", "source": "console"}


def test_entries_about_someone_else_stay_whole_whatever_the_subject_sent(app, api, admin_id, settings, withdraw):
    # A track's attributes are the caller's to choose: here the subject's email and username are a
    # colleague's. Erasing the subject must not blank the colleague's own entries.
    def invite(admin):
        invite_console_user(admin, email="colleague@example.com", name="Col", role="reviewer", settings=settings)
        db.session.commit()

    as_admin(app, admin_id, invite)
    track(api, SUBJECT, 5, ip=IPS[0], ua=USER_AGENTS[0], email="colleague@example.com", username="reviewer")
    with app.app_context():
        invited_before = db.session.execute(select(AuditEvent.after).where(AuditEvent.event == "console_user.invited")
                                            ).scalar_one()

    assert erase(api).status_code == 200

    with app.app_context():
        invited_after = db.session.execute(select(AuditEvent.after).where(AuditEvent.event == "console_user.invited")
                                           ).scalar_one()
    assert invited_after == invited_before and invited_after["email"] == "colleague@example.com"


def test_a_user_deleted_through_the_contract_can_still_be_erased(app, api, held):
    assert api.delete(f"/users/{SUBJECT}").get_json() == {"success": True}
    assert "user_action" in tables_holding(app, (SUBJECT,))  # DELETE keeps the history, as the contract has it

    erased = erase(api).get_json()["erased"]

    assert (erased["userRecords"], erased["authenticators"], erased["actions"]) == (0, 0, 4)
    assert tables_holding(app, SUBJECT_DATA) == {}


def test_an_unknown_user_is_a_404_json_error(api, held):
    response = erase(api, "nobody-at-all")

    assert response.status_code == 404 and response.content_type == "application/json"
    assert response.get_json() == {"error": "user_not_found", "errorCode": "user_not_found",
                                   "errorDescription": "Nothing is held about this user id."}


def test_erasing_again_finds_nothing(api, held):
    assert erase(api).status_code == 200

    assert erase(api).get_json()["errorCode"] == "user_not_found"


def test_an_invalid_user_id_is_a_400(api):
    response = erase(api, "x" * 256)

    assert response.status_code == 400 and response.get_json()["errorCode"] == "invalid_user_id"


def test_another_tenants_key_erases_nothing_here(app, api, client, held):
    _, raw = add_tenant_with_key(app, "Other tenant")

    assert erase(ApiClient(client, raw)).status_code == 404
    assert "end_user" in tables_holding(app, (SUBJECT,))


def test_a_failure_part_way_leaves_everything_as_it_was(app, tenant, held, monkeypatch):
    before = tables_holding(app, SUBJECT_DATA)

    def audit_fails(*args, **kwargs):
        raise RuntimeError("the audit write failed")

    monkeypatch.setattr(erasure, "record_change", audit_fails)
    with app.app_context(), pytest.raises(RuntimeError):
        erasure.erase_user(tenant.id, SUBJECT, by="api", now=utcnow())

    assert tables_holding(app, SUBJECT_DATA) == before


def test_an_action_purged_while_the_erasure_runs_does_not_fail_it(app, tenant, held, monkeypatch):
    read_held = erasure._read_held

    def purged_meanwhile(tenant_id, user_id):
        found = read_held(tenant_id, user_id)
        # What the retention purge, in another process, may do between the read and the writes.
        db.session.execute(delete(UserAction).where(UserAction.id == found.actions[0].id))
        return found

    monkeypatch.setattr(erasure, "_read_held", purged_meanwhile)
    with app.app_context():
        erasure.erase_user(tenant.id, SUBJECT, by="api", now=utcnow())

    assert tables_holding(app, SUBJECT_DATA) == {}
