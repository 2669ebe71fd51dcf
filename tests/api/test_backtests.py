"""Back-testing a draft over stored actions: the exact outcome matrix of a known change, the
self-check, the job's life (cancel, hand-back and resume, two at once) and bad input."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from app.backtest_worker import run_backtest_worker
from app.domain.backtest import parse_window
from app.domain.errors import InvalidRequest, NotFound
from app.extensions import db
from app.models import BacktestChange, BacktestRun, UserAction
from app.models.base import utcnow
from app.services.decisions import backtest_runner, backtests
from tests.backtest_history import LARGE, run_now, seed_withdrawals
from tests.factories import make_action


@pytest.fixture
def history(app, api, tenant):
    return seed_withdrawals(app, api, tenant)


def test_a_known_draft_change_gives_the_exact_outcome_matrix(app, history):
    status, view = run_now(app, history.id)

    assert status == "done"
    tally = view.tally
    assert (tally.total, tally.reproduced, tally.changed) == (6, 6, 5)
    assert dict(tally.transitions) == {("ALLOW", "REVIEW_REQUIRED"): 3, ("REVIEW_REQUIRED", "BLOCK"): 2,
                                       ("ALLOW", "ALLOW"): 1}
    rows = {stored: (total, {cell.candidate: (cell.count, round(cell.share, 3)) for cell in cells if cell.count})
            for stored, total, cells in tally.matrix().rows()}
    assert rows["ALLOW"] == (4, {"REVIEW_REQUIRED": (3, 0.75), "ALLOW": (1, 0.25)})
    assert rows["REVIEW_REQUIRED"] == (2, {"BLOCK": (2, 1.0)})
    # The small withdrawal would be challenged, but its user has nothing enrolled: the policy allows it.
    assert dict(tally.unenrolled_challenges) == {"ALLOW": 1}
    assert (tally.reviews_added, tally.reviews_removed) == (3, 2)
    assert view.open_reviews == 2
    assert {name: (stored, candidate) for name, stored, candidate in view.rule_rows()} == {
        "No rule (the action's default)": (4, 0), "Large amount": (2, 0), "From 400": (0, 3), "From 4000": (0, 2),
        "Small": (0, 1)}
    with app.app_context():
        page = backtests.changed_actions(view, limit=3)
        rest = backtests.changed_actions(view, after=page.next_after, limit=3)
        assert rest.next_after is None
        moved = [(row.user_id, row.stored_state, row.candidate_state) for row in page.rows + rest.rows]
    assert moved == [("u0", "ALLOW", "REVIEW_REQUIRED"), ("u1", "ALLOW", "REVIEW_REQUIRED"),
                     ("u2", "ALLOW", "REVIEW_REQUIRED"), ("u3", "REVIEW_REQUIRED", "BLOCK"),
                     ("u4", "REVIEW_REQUIRED", "BLOCK")]


def test_back_testing_the_deciding_version_changes_nothing_and_reproduces_everything(app, history):
    status, view = run_now(app, history.id, version=2)

    assert status == "done"
    assert (view.tally.total, view.tally.reproduced, view.tally.changed) == (6, 6, 0)
    assert view.tally.self_check_passed


def test_a_stored_decision_that_does_not_reproduce_fails_the_self_check_and_is_named(app, history):
    with app.app_context():
        tampered = db.session.execute(select(UserAction).order_by(UserAction.id).limit(1)).scalar_one()
        tampered.rule_ids, tampered.priority_rule_id = ["no-such-rule"], "no-such-rule"
        db.session.commit()
        tampered_id = tampered.id

    _, view = run_now(app, history.id)

    assert (view.tally.reproduced, view.tally.total) == (5, 6)
    assert view.tally.mismatches == [tampered_id]
    assert not view.tally.self_check_passed


def test_a_window_with_no_actions_ends_done_with_nothing_counted(app, tenant):
    make_action(app, tenant.id, "withdraw", rules=[LARGE])

    status, view = run_now(app, tenant.id, window="30d")

    assert status == "done"
    assert (view.run.rows_total, view.tally.total, view.progress) == (0, 0, 1.0)


def test_cancelling_a_queued_back_test_ends_it_before_any_worker_starts_it(app, history):
    with app.app_context():
        run = backtests.request_backtest("cli", history.id, "withdraw", version=None,
                                         window=parse_window("24h", now=utcnow()))
        backtests.cancel_backtest("cli", history.id, "withdraw", run.id)
        assert backtest_runner.run_due(app.config["TOLLGATE"]) is None
        assert db.session.get(BacktestRun, run.id).status == "cancelled"
        with pytest.raises(Exception, match="already ended"):
            backtests.cancel_backtest("cli", history.id, "withdraw", run.id)


def test_a_stopped_worker_hands_its_run_back_and_the_next_resumes_it_without_counting_twice(app, history):
    stop = threading.Event()
    stop.set()  # the worker is stopping: it ends the run's first batch, then hands it back
    with app.app_context():
        run = backtests.request_backtest("cli", history.id, "withdraw", version=None,
                                         window=parse_window("24h", now=utcnow()))
        settings = app.config["TOLLGATE"]
        assert backtest_runner.run_due(settings, batch=2, stop=stop) == "running"
        db.session.refresh(run)
        assert (run.rows_done, run.rows_total, run.locked_until) == (2, 6, None)

        assert backtest_runner.run_due(settings, batch=2) == "done"
        view = backtests.backtest_view(history.id, "withdraw", run.id)
    assert (view.run.rows_done, view.tally.total, view.tally.changed) == (6, 6, 5)


def test_cancelling_a_running_back_test_stops_it_at_its_next_checkpoint(app, history):
    stop = threading.Event()
    stop.set()
    with app.app_context():
        run = backtests.request_backtest("cli", history.id, "withdraw", version=None,
                                         window=parse_window("24h", now=utcnow()))
        settings = app.config["TOLLGATE"]
        backtest_runner.run_due(settings, batch=2, stop=stop)
        backtests.cancel_backtest("cli", history.id, "withdraw", run.id)
        assert db.session.get(BacktestRun, run.id).status == "running"  # until its worker next checkpoints

        assert backtest_runner.run_due(settings, batch=2) == "cancelled"
        db.session.refresh(run)
        assert (run.status, run.rows_done) == ("cancelled", 4)


def test_two_back_tests_run_at_once_each_by_one_worker_thread(app, history):
    with app.app_context():
        window = parse_window("24h", now=utcnow())
        ids = [backtests.request_backtest("cli", history.id, "withdraw", version=number, window=window).id
               for number in (None, 2)]
    stop = threading.Event()
    worker = threading.Thread(target=run_backtest_worker, args=(app,),
                              kwargs={"settings": app.config["TOLLGATE"], "jobs": 2, "interval": 0.05, "stop": stop})
    worker.start()
    try:
        with app.app_context():
            for _ in range(200):
                db.session.remove()
                statuses = db.session.execute(select(BacktestRun.status).where(BacktestRun.id.in_(ids))).scalars()
                if set(statuses) == {"done"}:
                    break
                stop.wait(0.05)
            views = [backtests.backtest_view(history.id, "withdraw", run_id) for run_id in ids]
            changes = db.session.execute(select(BacktestChange.run_id)).scalars().all()
    finally:
        stop.set()
        worker.join(10)
    assert [(view.run.status, view.tally.total, view.tally.changed) for view in views] == [("done", 6, 5), ("done", 6, 0)]
    assert sorted(changes) == sorted([ids[0]] * 5)


@pytest.mark.parametrize(("form", "message"), [
    ({"window": "365d"}, "Unknown window '365d'"),
    ({"window": "dates", "since": "2026-01-01", "until": "2026-12-01"}, "at most 90 days"),
    ({"window": "dates", "since": "2026-12-01", "until": "2026-11-01"}, "before its first"),
    ({"window": "dates", "since": "yesterday"}, "is not a date"),
    ({"window": "dates"}, "first day"),
    ({"candidate": "latest"}, "Choose the draft or a version number"),
])
def test_bad_windows_and_candidates_are_refused_with_what_is_wrong(app, history, form, message):
    with app.app_context(), pytest.raises(InvalidRequest, match=message):
        backtests.request_from_form("cli", history.id, "withdraw", form, now=utcnow())


def test_an_unknown_version_or_action_is_not_found(app, history):
    with app.app_context():
        with pytest.raises(NotFound, match="has no version 9"):
            backtests.request_from_form("cli", history.id, "withdraw", {"candidate": "9"}, now=utcnow())
        with pytest.raises(NotFound, match="No action 'payout'"):
            backtests.request_from_form("cli", history.id, "payout", {}, now=utcnow())


def test_the_window_bounds_which_actions_are_replayed(app, history):
    with app.app_context():
        first = db.session.execute(select(UserAction).order_by(UserAction.id).limit(1)).scalar_one()
        first.created_at = utcnow() - timedelta(days=3)
        db.session.commit()

    _, day = run_now(app, history.id, window="24h")
    _, week = run_now(app, history.id, window="7d")

    assert (day.tally.total, week.tally.total) == (5, 6)


def test_the_cli_back_tests_the_draft_and_prints_the_summary(app, history):
    result = app.test_cli_runner().invoke(args=["rules", "backtest", "withdraw", "--window", "24h"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Back-test of the draft of 'withdraw' over 24h: done."
    assert "Self-check: the deciding versions reproduce 6 of 6 stored outcomes." in lines
    assert "Changed: 5 of 6." in lines
    assert "  ALLOW (4): ALLOW 1 (25.0%), REVIEW_REQUIRED 3 (75.0%)" in lines


@pytest.mark.parametrize(("args", "message"), [
    (["--version", "9"], "Action 'withdraw' has no version 9."),
    (["--window", "1y"], "Unknown window '1y'"),
    (["--since", "2026-01-01", "--until", "2026-06-01"], "covers at most 90 days"),
])
def test_the_cli_refuses_bad_input_with_a_message(app, history, args, message):
    result = app.test_cli_runner().invoke(args=["rules", "backtest", "withdraw", *args])

    assert result.exit_code != 0
    assert message in result.output


def test_with_a_replica_configured_the_window_is_read_there_and_nothing_is_written_there(app, history):
    """PostgreSQL only. The "replica" is the test database over read-only connections (a hot standby
    refuses writes just so); every statement any engine sends over them is recorded."""
    primary = app.config["TOLLGATE"].database_url
    if not primary.startswith("postgresql"):
        pytest.skip("a read replica is a PostgreSQL feature")
    read_only = primary + ("&" if "?" in primary else "?") + "options=-c%20default_transaction_read_only%3Don"
    settings = dataclasses.replace(app.config["TOLLGATE"], replica_database_url=read_only)
    on_replica: list[str] = []

    def record(connection, cursor, statement, *_):
        if "default_transaction_read_only" in str(connection.engine.url):
            on_replica.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        with app.app_context():
            run = backtests.request_backtest("cli", history.id, "withdraw", version=None,
                                             window=parse_window("24h", now=utcnow()))
            status = backtest_runner.run_claimed(*backtest_runner.claim_backtest(now=utcnow(), run_id=run.id),
                                                 settings=settings)
            view = backtests.backtest_view(history.id, "withdraw", run.id)
    finally:
        event.remove(Engine, "before_cursor_execute", record)

    assert (status, view.tally.total, view.tally.changed) == ("done", 6, 5)
    assert on_replica and all(statement.lstrip().upper().startswith("SELECT") for statement in on_replica)
    assert any("FROM user_action" in statement for statement in on_replica)
