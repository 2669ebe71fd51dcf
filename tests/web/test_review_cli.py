"""flask reviews set-sla / apply-sla: the SLA job as cron (or the run loop) uses it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import ActionConfiguration, UserAction
from app.models.base import utcnow
from tests.factories import make_action


def test_set_sla_then_apply_it(app, api, tenant):
    make_action(app, tenant.id, "withdraw", default_outcome="REVIEW")
    runner = app.test_cli_runner()

    configured = runner.invoke(args=["reviews", "set-sla", "withdraw", "--deadline", "15", "--policy", "AUTO_REJECT"])
    key = api.post("/users/alice/actions/withdraw", json={}).get_json()["idempotencyKey"]
    with app.app_context():
        db.session.execute(UserAction.__table__.update().values(state_updated_at=utcnow() - timedelta(minutes=16)))
        db.session.commit()
    applied = runner.invoke(args=["reviews", "apply-sla"])

    assert configured.exit_code == 0 and "within 15 minutes, then AUTO_REJECT" in configured.output
    assert applied.exit_code == 0 and "0 approved, 1 rejected, 0 flagged overdue" in applied.output
    assert api.get(f"/users/alice/actions/withdraw/{key}").get_json()["state"] == "REVIEW_FAILED"


def test_apply_sla_every_seconds_loops_until_interrupted(app, monkeypatch):
    import time

    rounds = []

    def sleep(seconds):
        rounds.append(seconds)
        if len(rounds) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", sleep)
    result = app.test_cli_runner().invoke(args=["reviews", "apply-sla", "--every", "60"])

    assert result.exit_code == 0 and rounds == [60, 60]
    assert result.output.count("review SLA:") == 2


def test_the_loop_rides_out_a_round_the_database_fails(app, monkeypatch):
    """PostgreSQL restarting under the loop: that round is logged and the next one runs, as the web
    servers beside it serve again without a restart. Once (cron), the error is the command's."""
    import time

    from app.services.reviews import sla

    real_apply = sla.apply_sla
    rounds = []

    def apply_sla(**kwargs):
        rounds.append("round")
        if len(rounds) == 1:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
        return real_apply(**kwargs)

    def sleep(seconds):
        if len(rounds) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(sla, "apply_sla", apply_sla)
    monkeypatch.setattr(time, "sleep", sleep)
    looping = app.test_cli_runner().invoke(args=["reviews", "apply-sla", "--every", "5"])
    rounds.clear()
    once = app.test_cli_runner().invoke(args=["reviews", "apply-sla"])

    assert looping.exit_code == 0
    assert [line.split(" ", 1)[1] for line in looping.output.splitlines()] == [
        "database error, trying again in 5s: OperationalError: server closed the connection unexpectedly",
        "review SLA: 0 approved, 0 rejected, 0 flagged overdue",
    ]
    assert isinstance(once.exception, OperationalError)


def test_set_sla_errors_and_clearing(app, tenant):
    make_action(app, tenant.id, "withdraw")
    runner = app.test_cli_runner()

    missing = runner.invoke(args=["reviews", "set-sla", "nope", "--deadline", "5"])
    cleared = runner.invoke(args=["reviews", "set-sla", "withdraw"])

    assert missing.exit_code != 0 and "no action 'nope'" in missing.output
    assert cleared.exit_code == 0 and "no review deadline" in cleared.output
    with app.app_context():
        assert db.session.execute(select(ActionConfiguration.review_deadline_minutes)).scalar_one() is None
