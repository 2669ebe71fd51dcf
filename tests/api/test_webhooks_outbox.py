"""Webhook events: written to the outbox in the same transaction as the change, fanned out only to
active endpoints subscribed to them, for every change the API, the hosted pages and the console make."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import func, select

from app.domain.decision import ActionState
from app.extensions import db
from app.models import UserAction, WebhookDelivery, WebhookEndpoint, WebhookEvent
from app.models.base import new_id, utcnow
from app.services.console.console_users import create_console_user
from app.services.decisions.action_state import change_action_state
from app.services.delivery import events
from app.services.reviews.decisions import decide_case
from tests.api.test_client_api_totp import enroll, verify
from tests.factories import make_action, otp_uri

ALL_EVENTS = list(events.EVENT_TYPES)


def add_endpoint(app, tenant_id: str, *, events=ALL_EVENTS, active: bool = True, url: str = "https://hooks.example/in"):
    with app.app_context():
        endpoint = WebhookEndpoint(id=new_id(), tenant_id=tenant_id, url=url, description="", event_types=list(events),
                                   is_active=active, created_at=utcnow(), updated_at=utcnow())
        db.session.add(endpoint)
        db.session.commit()
        return endpoint.id


def events(app) -> list[tuple[str, dict]]:
    with app.app_context():
        return [(e.type, e.data) for e in db.session.execute(select(WebhookEvent).order_by(WebhookEvent.created_at))
                .scalars()]


def deliveries(app) -> list[tuple[str, str, str]]:
    """(event type, endpoint id, status) of every delivery."""
    with app.app_context():
        return sorted(tuple(row) for row in db.session.execute(
            select(WebhookEvent.type, WebhookDelivery.endpoint_id, WebhookDelivery.status)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        ).all())


def track(api, user_id="alice", action="withdraw-funds") -> dict:
    response = api.post(f"/users/{user_id}/actions/{action}", json={"ipAddress": "203.0.113.9"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_nothing_is_written_when_no_endpoint_exists(app, api):
    track(api)

    assert events(app) == []


def test_a_tracked_action_is_an_action_created_event(app, api, tenant):
    endpoint = add_endpoint(app, tenant.id)

    tracked = track(api)

    [(kind, data)] = events(app)
    assert kind == "action.created"
    assert data["userId"] == "alice" and data["actionCode"] == "withdraw-funds"
    assert data["idempotencyKey"] == tracked["idempotencyKey"] and data["state"] == tracked["state"]
    assert data["ipAddress"] == "203.0.113.9" and data["createdAt"].endswith("Z")
    assert deliveries(app) == [("action.created", endpoint, "pending")]


def test_fan_out_reaches_only_active_endpoints_subscribed_to_the_event(app, api, tenant):
    everything = add_endpoint(app, tenant.id)
    created_only = add_endpoint(app, tenant.id, events=["action.created"])
    add_endpoint(app, tenant.id, events=["authenticator.created"])
    add_endpoint(app, tenant.id, active=False)

    tracked = track(api)
    api.patch(f"/users/alice/actions/withdraw-funds/{tracked['idempotencyKey']}", json={"state": "BLOCK"})

    assert deliveries(app) == sorted([
        ("action.created", everything, "pending"),
        ("action.created", created_only, "pending"),
        ("action.state_changed", everything, "pending"),
    ])


def test_another_tenants_endpoint_hears_nothing(app, api):
    from app.models import Tenant

    with app.app_context():
        other = Tenant(id=new_id(), name="Other tenant")
        db.session.add(other)
        db.session.commit()
        other = other.id
    add_endpoint(app, other)

    track(api)

    assert events(app) == []


def test_a_rolled_back_change_writes_no_event(app, api, tenant):
    add_endpoint(app, tenant.id)
    tracked = track(api)
    with app.app_context():
        action = db.session.execute(select(UserAction)).scalar_one()
        change_action_state(action, ActionState.BLOCK, source="test", now=utcnow())
        db.session.flush()
        assert db.session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one() == 2  # inside
        db.session.rollback()

    assert [kind for kind, _ in events(app)] == ["action.created"]
    assert api.get(f"/users/alice/actions/withdraw-funds/{tracked['idempotencyKey']}").get_json()["state"] == "ALLOW"


def test_a_committed_change_and_its_event_land_together(app, api, tenant):
    add_endpoint(app, tenant.id, events=["action.state_changed"])
    tracked = track(api)
    with app.app_context():
        action = db.session.execute(select(UserAction)).scalar_one()
        change_action_state(action, ActionState.BLOCK, source="test", now=utcnow())
        db.session.commit()

    [(kind, data)] = events(app)
    assert kind == "action.state_changed"
    assert data["idempotencyKey"] == tracked["idempotencyKey"]
    assert (data["previousState"], data["state"], data["source"]) == ("ALLOW", "BLOCK", "test")


@pytest.mark.parametrize("outcome", ["REVIEW_SUCCEEDED", "REVIEW_FAILED"])
def test_a_review_outcome_is_also_a_review_decided_event_saying_who_and_why(app, api, tenant, outcome):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="REVIEW")
    add_endpoint(app, tenant.id, events=["action.state_changed", "action.review_decided"])
    tracked = track(api)
    assert tracked["state"] == "REVIEW_REQUIRED"
    with app.app_context():
        reviewer = create_console_user(tenant.id, email="rita@example.com", password="correct horse battery staple",
                                       role="reviewer", settings=app.config["TOLLGATE"])
        action = db.session.execute(select(UserAction)).scalar_one()
        decide_case(reviewer, action.id, ActionState(outcome), "Checked with the customer.", now=utcnow())

    kinds = {kind: data for kind, data in events(app)}
    assert set(kinds) == {"action.state_changed", "action.review_decided"}
    decided = kinds["action.review_decided"]
    assert (decided["previousState"], decided["state"], decided["source"]) == ("REVIEW_REQUIRED", outcome, "console")
    assert decided["review"]["decidedBy"] == "rita@example.com"
    assert decided["review"]["reason"] == "Checked with the customer."
    assert decided["review"]["outcome"] == outcome


def test_a_reason_code_goes_in_the_review_object_beside_the_actions_own_keys(app, api, tenant):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="REVIEW")
    add_endpoint(app, tenant.id, events=["action.review_decided"])
    track(api)
    track(api)
    with app.app_context():
        reviewer = create_console_user(tenant.id, email="rita@example.com", password="correct horse battery staple",
                                       role="reviewer", settings=app.config["TOLLGATE"])
        coded, written = db.session.execute(select(UserAction.id).order_by(UserAction.id)).scalars()
        decide_case(reviewer, coded, ActionState.REVIEW_FAILED, "", reason_code="fraud", now=utcnow())
        decide_case(reviewer, written, ActionState.REVIEW_SUCCEEDED, "Known payee", now=utcnow())

    [(_, with_code), (_, without)] = events(app)
    assert with_code["review"] == {"outcome": "REVIEW_FAILED", "decidedBy": "rita@example.com", "reason": "Fraud",
                                   "reasonCode": "fraud", "reasonLabel": "Fraud",
                                   "decidedAt": with_code["review"]["decidedAt"]}
    assert "reasonCode" not in without["review"] and without["review"]["reason"] == "Known payee"
    # The action's keys, as the server API spells them, are the same with and without a code.
    assert set(with_code) == set(without) and not {"reasonCode", "reasonLabel"} & set(with_code)


def test_other_state_changes_are_not_review_decisions(app, api, tenant):
    add_endpoint(app, tenant.id, events=["action.state_changed", "action.review_decided"])
    key = track(api)["idempotencyKey"]

    api.patch(f"/users/alice/actions/withdraw-funds/{key}", json={"state": "REVIEW_SUCCEEDED"})  # from ALLOW
    api.patch(f"/users/alice/actions/withdraw-funds/{key}", json={"state": "REVIEW_SUCCEEDED"})  # no change at all

    assert [kind for kind, _ in events(app)] == ["action.state_changed"]


def test_update_action_through_the_api_emits_state_changed(app, api, tenant):
    add_endpoint(app, tenant.id, events=["action.state_changed"])
    key = track(api)["idempotencyKey"]

    api.patch(f"/users/alice/actions/withdraw-funds/{key}", json={"state": "CHALLENGE_REQUIRED"})

    [(_, data)] = events(app)
    assert (data["previousState"], data["state"], data["source"]) == ("ALLOW", "CHALLENGE_REQUIRED", "api")


def test_enrolling_and_deleting_an_authenticator_through_the_api(app, api, tenant):
    add_endpoint(app, tenant.id)
    enrolled = api.post("/users/bob/authenticators",
                        json={"verificationMethod": "AUTHENTICATOR_APP", "otpUri": otp_uri()}).get_json()
    authenticator_id = enrolled["authenticator"]["userAuthenticatorId"]

    assert api.delete(f"/users/bob/authenticators/{authenticator_id}").status_code == 200

    (created_kind, created), (deleted_kind, deleted) = events(app)
    assert (created_kind, deleted_kind) == ("authenticator.created", "authenticator.deleted")
    for data in (created, deleted):
        assert data["userId"] == "bob" and data["userAuthenticatorId"] == authenticator_id
        assert data["verificationMethod"] == "AUTHENTICATOR_APP"
        assert "otpSecretCiphertext" not in data and "otpUri" not in data


def test_an_authenticator_app_counts_as_created_once_its_first_code_confirms_it(app, api, client, tenant):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")
    add_endpoint(app, tenant.id, events=["authenticator.created"])
    token = track(api)["token"]
    secret = enroll(client, token).get_json()["secret"]
    assert events(app) == []  # not yet: an unconfirmed secret is not an authenticator

    assert verify(client, token, pyotp.TOTP(secret).now())["isVerified"] is True

    [(kind, data)] = events(app)
    assert kind == "authenticator.created" and data["verificationMethod"] == "AUTHENTICATOR_APP"
    assert data["verifiedAt"]


def test_a_registered_passkey_is_created_and_its_challenge_a_state_change(app, api, client, tenant):
    from tests.api.test_client_api_passkeys import enroll_passkey
    from tests.soft_authenticator import SoftAuthenticator

    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")
    add_endpoint(app, tenant.id, events=["authenticator.created", "action.state_changed"])
    enroll_passkey(client, track(api)["token"], SoftAuthenticator())

    kinds = {kind: data for kind, data in events(app)}
    assert set(kinds) == {"authenticator.created", "action.state_changed"}
    assert kinds["authenticator.created"]["verificationMethod"] == "PASSKEY"
    assert kinds["authenticator.created"]["webauthnCredential"]["credentialId"]
    assert (kinds["action.state_changed"]["previousState"], kinds["action.state_changed"]["state"]) == (
        "CHALLENGE_REQUIRED", "CHALLENGE_SUCCEEDED")


def test_removing_an_authenticator_in_the_console_emits_deleted(app, api, tenant, make_console_user):
    from app.services.console.console_users import find_console_user
    from app.services.end_users.authenticators import remove_authenticator

    enrolled = api.post("/users/bob/authenticators",
                        json={"verificationMethod": "AUTHENTICATOR_APP", "otpUri": otp_uri()}).get_json()
    add_endpoint(app, tenant.id, events=["authenticator.deleted"])
    make_console_user("admin@example.com")
    with app.app_context():
        remove_authenticator(find_console_user("admin@example.com"), "bob",
                             enrolled["authenticator"]["userAuthenticatorId"], now=utcnow())

    assert [kind for kind, _ in events(app)] == ["authenticator.deleted"]


def test_each_event_has_its_own_stable_id_shared_by_its_deliveries(app, api, tenant):
    add_endpoint(app, tenant.id)
    add_endpoint(app, tenant.id)
    track(api)
    track(api)

    with app.app_context():
        rows = db.session.execute(select(WebhookDelivery.event_id)).scalars().all()
    assert len(rows) == 4 and len(set(rows)) == 2


@pytest.fixture
def make_console_user(app, tenant):
    from app.services.console.console_users import create_console_user
    from tests.web.conftest import PASSWORD

    def make(email: str, role: str = "admin"):
        with app.app_context():
            return create_console_user(tenant.id, email=email, password=PASSWORD, role=role,
                                       settings=app.config["TOLLGATE"]).id

    return make
