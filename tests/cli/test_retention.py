"""flask tollgate purge: old actions go (with everything hanging off them), pending reviews stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import ActionStateChange, AddressFailure, EndUser, ReviewNote, UserAction, VerificationAttempt
from app.models.base import utcnow
from app.services.operations.retention import purge_expired
from tests.factories import make_action, rule
from tests.rows import count

RETENTION_DAYS = 365
BIG = {">": [{"var": "custom.amount"}, 1000]}


@pytest.fixture
def retention(override_settings):
    return override_settings(action_retention_days=RETENTION_DAYS)


@pytest.fixture
def payout(app, tenant):
    make_action(app, tenant.id, "payout", rules=[rule("Large", 0, "REVIEW", BIG)])


def track(api, user_id: str, amount: int = 5) -> str:
    return api.post(f"/users/{user_id}/actions/payout", json={"custom": {"amount": amount}}).get_json()["idempotencyKey"]


def age(app, idempotency_key: str, days: int) -> None:
    with app.app_context():
        db.session.execute(update(UserAction).where(UserAction.idempotency_key == idempotency_key)
                           .values(created_at=utcnow() - timedelta(days=days)))
        db.session.commit()


def remaining(app) -> set[str]:
    with app.app_context():
        return set(db.session.execute(select(UserAction.idempotency_key)).scalars())


def purge(app, **kwargs):
    with app.app_context():
        return purge_expired(settings=app.config["TOLLGATE"], now=utcnow(), **kwargs)


def test_actions_past_retention_are_deleted_with_their_history(app, api, payout, retention):
    old, young = track(api, "ann", amount=5000), track(api, "ann", amount=5000)
    for key in (old, young):  # a decided review: one history row each, after the first state
        assert api.patch(f"/users/ann/actions/payout/{key}", json={"state": "REVIEW_SUCCEEDED"}).status_code == 200
    age(app, old, RETENTION_DAYS + 1)
    age(app, young, RETENTION_DAYS - 1)

    report = purge(app)

    assert report.actions == 1
    assert remaining(app) == {young}
    assert count(app, ActionStateChange) == 1  # the young action's own
    assert count(app, EndUser) == 1  # users are the integrator's to delete, not retention's


def test_a_case_still_waiting_for_review_is_kept_whatever_its_age(app, api, payout, retention):
    pending = track(api, "bo", amount=50000)
    age(app, pending, RETENTION_DAYS * 3)

    assert purge(app).actions == 0
    assert remaining(app) == {pending}


def test_a_decided_case_goes_with_its_notes(app, api, payout, retention):
    decided = track(api, "cy", amount=50000)
    api.patch(f"/users/cy/actions/payout/{decided}", json={"state": "REVIEW_FAILED"})
    with app.app_context():
        action_id = db.session.execute(select(UserAction.id).where(UserAction.idempotency_key == decided)).scalar_one()
        db.session.add(ReviewNote(user_action_id=action_id, author_email="rita@example.com", text="Called the customer."))
        db.session.commit()
    age(app, decided, RETENTION_DAYS + 1)

    assert purge(app).actions == 1
    assert count(app, ReviewNote) == 0


def test_without_a_retention_setting_every_action_is_kept(app, api, payout):
    old = track(api, "di")
    age(app, old, 10 * 365)

    assert purge(app).actions == 0
    assert remaining(app) == {old}


def test_many_old_actions_go_in_several_short_transactions(app, api, payout, retention):
    keys = [track(api, f"user-{n}") for n in range(5)]
    for key in keys:
        age(app, key, RETENTION_DAYS + 1)

    assert purge(app, batch=2).actions == 5
    assert remaining(app) == set()


def test_verification_attempts_older_than_any_signal_window_go(app, api, payout):
    track(api, "ed")
    with app.app_context():
        user_id = db.session.execute(select(EndUser.id)).scalar_one()
        db.session.add_all([
            VerificationAttempt(end_user_id=user_id, verification_method="AUTHENTICATOR_APP",
                                attempted_at=utcnow() - timedelta(days=91)),
            VerificationAttempt(end_user_id=user_id, verification_method="AUTHENTICATOR_APP",
                                attempted_at=utcnow() - timedelta(days=89)),
        ])
        db.session.commit()

    assert purge(app).verification_attempts == 1
    assert count(app, VerificationAttempt) == 1


def test_failed_sign_ins_go_once_the_per_address_limit_no_longer_counts_them(app):
    with app.app_context():
        db.session.add_all([
            AddressFailure(kind="sign_in", client_ip="203.0.113.9", failed_at=utcnow() - timedelta(minutes=16)),
            AddressFailure(kind="sign_in", client_ip="203.0.113.9", failed_at=utcnow() - timedelta(minutes=1)),
        ])
        db.session.commit()

    assert purge(app).sign_in_failures == 1
    assert count(app, AddressFailure) == 1


def test_invalid_api_keys_go_after_their_own_minute_and_sign_ins_after_theirs(app):
    two_minutes_ago = utcnow() - timedelta(minutes=2)
    with app.app_context():
        db.session.add_all([
            AddressFailure(kind="api_key", client_ip="203.0.113.9", failed_at=two_minutes_ago),
            AddressFailure(kind="api_key", client_ip="203.0.113.9", failed_at=utcnow() - timedelta(seconds=30)),
            AddressFailure(kind="sign_in", client_ip="203.0.113.9", failed_at=two_minutes_ago),
        ])
        db.session.commit()

    report = purge(app)

    assert (report.api_key_failures, report.sign_in_failures) == (1, 0)
    with app.app_context():
        assert sorted(db.session.execute(select(AddressFailure.kind)).scalars()) == ["api_key", "sign_in"]


def test_the_command_reports_what_it_deleted(app, api, payout, retention):
    age(app, track(api, "fi"), RETENTION_DAYS + 1)

    result = app.test_cli_runner().invoke(args=["tollgate", "purge"])

    assert result.exit_code == 0, result.output
    assert (f"purge: 1 actions (older than {RETENTION_DAYS} days), 0 old verification attempts, 0 old failed sign-ins, "
            "0 old invalid API keys, 0 old audit events deleted") in result.output


def test_the_command_says_when_retention_is_off(app):
    result = app.test_cli_runner().invoke(args=["tollgate", "purge"])

    assert result.exit_code == 0, result.output
    assert "TOLLGATE_ACTION_RETENTION_DAYS is not set" in result.output
