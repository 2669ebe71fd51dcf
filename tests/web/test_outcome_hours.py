"""The hourly counts behind the Overview: each ended hour counted once, the open hours live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.domain.decision import ActionState, VerificationMethod
from app.extensions import db, upsert
from app.models import OutcomeHour
from app.services.console import outcome_hours
from app.services.console.outcome_hours import SETTLE, count_hour, hour_counts, start_of_hour
from tests.web.test_console_activity import add_action

NOW = datetime(2026, 3, 10, 12, 20, tzinfo=UTC)  # 12:00 is open; 11:00 ended 20 min ago, more than SETTLE


def outcomes(hours: outcome_hours.HourCounts, code: str = "sign-in") -> dict[str, int]:
    total: dict[str, int] = {}
    for counts in hours.hours.values():
        for bucket, count in counts.get(code, {}).get("outcomes", {}).items():
            total[bucket] = total.get(bucket, 0) + count
    return total


def stored_hours(app, tenant_id: str) -> list[datetime]:
    with app.app_context():
        return list(db.session.execute(
            select(OutcomeHour.hour).where(OutcomeHour.tenant_id == tenant_id).order_by(OutcomeHour.hour)).scalars())



def test_closed_hours_and_the_live_hour_add_up_to_a_direct_count(app, tenant):
    for minutes, state in [(-300, ActionState.ALLOW), (-250, ActionState.BLOCK), (-130, ActionState.CHALLENGE_SUCCEEDED),
                           (-70, ActionState.CHALLENGE_FAILED), (-61, ActionState.REVIEW_REQUIRED), (-5, ActionState.ALLOW),
                           (-1, ActionState.REVIEW_FAILED)]:
        add_action(app, tenant.id, created_at=NOW + timedelta(minutes=minutes), state=state)
    add_action(app, tenant.id, created_at=NOW - timedelta(hours=9))  # before the range
    with app.app_context():
        since = start_of_hour(NOW) - timedelta(hours=5)
        counted = hour_counts(tenant.id, since, now=NOW)
        assert outcomes(counted) == {"ALLOW": 2, "BLOCK": 1, "CHALLENGE": 2, "REVIEW": 2}
        # The ended hours (07:00 to 11:00) are stored, the open one (12:00) is not.
        assert set(stored_hours(app, tenant.id)) == {since + timedelta(hours=n) for n in range(5)}
        assert counted.uncounted == 0


def test_an_hour_is_counted_once_and_then_read(app, tenant):
    add_action(app, tenant.id, created_at=NOW - timedelta(minutes=90))
    with app.app_context():
        since = start_of_hour(NOW) - timedelta(hours=2)
        assert outcomes(hour_counts(tenant.id, since, now=NOW)) == {"ALLOW": 1}
    # A row that appears in an hour already counted (only a clock far off could do that) is not
    # seen: the hour is read from its stored row, not counted again.
    add_action(app, tenant.id, created_at=NOW - timedelta(minutes=90))
    with app.app_context():
        assert outcomes(hour_counts(tenant.id, since, now=NOW)) == {"ALLOW": 1}
        assert db.session.scalar(select(func.count()).select_from(OutcomeHour)) == 2  # 10:00 and 11:00, once each


def test_an_hour_that_just_ended_stays_live_until_it_has_settled(app, tenant):
    just_after = NOW.replace(minute=5)  # 11:00 ended 5 minutes ago
    add_action(app, tenant.id, created_at=just_after - timedelta(minutes=10))
    with app.app_context():
        since = start_of_hour(just_after) - timedelta(hours=1)
        assert outcomes(hour_counts(tenant.id, since, now=just_after)) == {"ALLOW": 1}
        assert stored_hours(app, tenant.id) == []
    # A track that began before 12:00 and committed after it: still in the hour when it is counted.
    add_action(app, tenant.id, created_at=just_after - timedelta(minutes=6))
    with app.app_context():
        later = just_after.replace(minute=0) + SETTLE
        assert outcomes(hour_counts(tenant.id, since, now=later)) == {"ALLOW": 2}
        assert stored_hours(app, tenant.id) == [since]


def test_two_instances_counting_the_same_hour_store_it_once(app, tenant):
    hour = start_of_hour(NOW) - timedelta(hours=1)
    add_action(app, tenant.id, created_at=hour + timedelta(minutes=3), state=ActionState.BLOCK)
    with app.app_context():
        # The other instance won the race between this read's look-up and its insert.
        db.session.execute(upsert(OutcomeHour).values(tenant_id=tenant.id, hour=hour, counts=count_hour(tenant.id, hour),
                                                      counted_at=NOW))
        db.session.commit()
        lost = upsert(OutcomeHour).values(tenant_id=tenant.id, hour=hour, counts=count_hour(tenant.id, hour),
                                          counted_at=NOW).on_conflict_do_nothing(index_elements=["tenant_id", "hour"])
        db.session.execute(lost)
        db.session.commit()
        assert outcomes(hour_counts(tenant.id, hour, now=NOW)) == {"BLOCK": 1}
    assert stored_hours(app, tenant.id) == [hour]


def test_a_read_counts_a_bounded_number_of_hours_the_newest_first(app, tenant):
    add_action(app, tenant.id, created_at=NOW - timedelta(hours=4))
    add_action(app, tenant.id, created_at=NOW - timedelta(minutes=70))
    with app.app_context():
        since = start_of_hour(NOW) - timedelta(hours=6)
        first = hour_counts(tenant.id, since, now=NOW, limit=2)
        assert first.uncounted == 4 and outcomes(first) == {"ALLOW": 1}  # 11:00 and 10:00 counted
        assert stored_hours(app, tenant.id) == [since + timedelta(hours=4), since + timedelta(hours=5)]
        hour_counts(tenant.id, since, now=NOW, limit=2)
        last = hour_counts(tenant.id, since, now=NOW, limit=2)
        assert last.uncounted == 0 and outcomes(last) == {"ALLOW": 2}


def test_counts_keep_the_deciding_rule_and_the_method_of_ended_challenges(app, tenant):
    hour = start_of_hour(NOW) - timedelta(hours=1)
    for state, method, rule_id in [(ActionState.CHALLENGE_SUCCEEDED, VerificationMethod.PASSKEY, "r1"),
                                   (ActionState.CHALLENGE_SUCCEEDED, VerificationMethod.PASSKEY, "r1"),
                                   (ActionState.CHALLENGE_FAILED, None, "r1"),
                                   (ActionState.CHALLENGE_REQUIRED, None, "r1"), (ActionState.ALLOW, None, None)]:
        add_action(app, tenant.id, created_at=hour + timedelta(minutes=1), state=state, verification_method=method,
                   priority_rule_id=rule_id)
    with app.app_context():
        assert count_hour(tenant.id, hour) == {"sign-in": {
            "outcomes": {"CHALLENGE": 4, "ALLOW": 1},
            "rules": {"r1": 4, "": 1},
            "methods": {"PASSKEY": {"CHALLENGE_SUCCEEDED": 2}, "": {"CHALLENGE_FAILED": 1}},
        }}
