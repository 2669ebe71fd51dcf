"""Back-tests in the console: asking for one on an action's Back-tests tab, following it while a
worker replays, reading its result, cancelling it, and the draft page's impact preview that
publishing records."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ActionVersion, BacktestChange, BacktestRun
from app.services.decisions import backtest_runner
from tests.backtest_history import seed_withdrawals, work_off
from tests.factories import make_action
from tests.html import alerts, definitions, flash_messages, pager_link, parse, section, table_rows, text_of

CODE = "withdraw"
BASE = f"/console/actions/{CODE}/backtests"


@pytest.fixture
def history(app, api, tenant):
    return seed_withdrawals(app, api, tenant)


def ask(admin, **form):
    """Submit the Back-tests form; the run's page it leads to."""
    response = admin.post(BASE, data={"candidate": "draft", "window": "24h", **form})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def run_id_of(location: str) -> str:
    return location.rstrip("/").rsplit("/", 1)[1]


def polls(page) -> str | None:
    """The URL the page polls (hx-trigger every …), None when it polls nothing."""
    element = parse(page).select_one('[hx-trigger^="every"]')
    return None if element is None else element["hx-get"]


def test_the_tab_starts_empty_and_offers_the_draft_every_version_and_the_windows(app, admin, history):
    page = admin.get(BASE)

    assert page.status_code == 200
    assert "No back-tests of withdraw yet" in text_of(parse(page).select_one("main .card:not(form)"))
    options = [text_of(option) for option in parse(page).select("select[name=candidate] option")]
    assert options[0] == "The draft"
    assert [option.split(":")[0] for option in options[1:]] == ["Version 2 (live)", "Version 1"]
    assert [option["value"] for option in parse(page).select("select[name=window] option")] == \
        ["24h", "7d", "30d", "dates"]


def test_a_back_test_is_queued_its_page_polls_and_then_shows_the_exact_result(app, admin, history):
    location = ask(admin)

    queued = admin.get(location)
    assert "Waiting for a worker" in text_of(parse(queued).select_one("#backtest-status"))
    progress_url = polls(queued)
    assert progress_url == f"{location}/progress"

    assert work_off(app, run_id_of(location)) == "done"
    finished = admin.get(progress_url)
    assert polls(finished) is None  # the answer for a finished run stops the polling
    assert "the deciding versions reproduce all 6 stored outcomes" in text_of(parse(finished).select_one(".ok"))
    assert text_of(parse(finished).select_one("#backtest-summary")).startswith("5 of 6 actions (83.3%)")
    matrix = {row["Stored"]: row for row in table_rows(finished, "#transition-matrix")}
    assert (matrix["Allow"]["Actions"], matrix["Allow"]["Allow"], matrix["Allow"]["Review required"]) == \
        ("4", "1 (25.0%)", "3 (75.0%)")
    assert matrix["Review required"]["Block"] == "2 (100.0%)"
    assert {cell for cell in (text_of(td) for td in parse(finished).select("#transition-matrix td.differs"))} == \
        {"3 (75.0%)", "2 (100.0%)"}
    rules = {row["Rule"]: (row["Stored"], row["The draft"]) for row in table_rows(finished, "#deciding-rules")}
    assert rules == {"No rule (the action's default)": ("4", "0"), "Large amount": ("2", "0"), "From 400": ("0", "3"),
                     "From 4000": ("0", "2"), "Small": ("0", "1")}
    effects = definitions(parse(finished).select_one("#backtest-effects"))
    assert effects["Review cases per day"].startswith("+1.0 (3 added, 2 removed over 1.0 days); today's queue: 2 open")
    assert effects["New challenges for users with nothing enrolled"] == \
        "1, which the unenrolled policy makes allow"


def test_the_changed_actions_are_listed_in_order_each_linking_to_its_replay(app, admin, history):
    location = ask(admin)
    work_off(app, run_id_of(location))

    page = admin.get(location)

    rows = table_rows(page, "#backtest-changes table")
    assert [(row["User"], row["Stored"], row["The draft"]) for row in rows] == [
        ("u0", "Allow", "Review required"), ("u1", "Allow", "Review required"), ("u2", "Allow", "Review required"),
        ("u3", "Review required", "Block"), ("u4", "Review required", "Block")]
    first = parse(page).select_one("#backtest-changes tbody a")
    replay = admin.get(first["href"])
    assert replay.status_code == 200
    assert parse(replay).select_one("#replay") is not None
    assert pager_link(page) is None


def test_a_page_of_changed_actions_continues_after_the_change_it_names(app, admin, history):
    location = ask(admin)
    work_off(app, run_id_of(location))
    with app.app_context():
        third = db.session.execute(select(BacktestChange.id).order_by(BacktestChange.id).offset(2)).scalar()

    fragment = admin.get(f"{location}?after={third}", headers={"HX-Request": "true"})

    assert parse(fragment).select_one("#backtest-status") is None  # the list alone, for htmx to swap
    assert [row["User"] for row in table_rows(fragment, "table")] == ["u3", "u4"]
    assert [text_of(link) for link in parse(fragment).select("nav.pager a")] == ["First page"]


def test_the_list_shows_each_run_with_its_status_and_what_it_changed(app, admin, history):
    done = ask(admin)
    work_off(app, run_id_of(done))
    ask(admin, candidate="2", window="7d")

    rows = table_rows(admin.get(BASE), "table.backtests")

    assert [(row["Rules tested"], row["Window"], row["Status"], row["Changed"]) for row in rows] == [
        ("Version 2", "7d", "Queued", "–"), ("The draft", "24h", "Done", "5 of 6")]
    assert rows[0]["Asked for by"] == "admin@example.com"


def test_cancelling_a_queued_back_test_from_its_page(app, admin, history):
    location = ask(admin)

    response = admin.post(f"{location}/cancel")

    assert response.status_code == 303
    page = admin.get(location)
    assert polls(page) is None
    assert text_of(parse(page).select_one("#backtest-status [role=status]")).startswith("Cancelled after 0 actions")
    again = admin.post(f"{location}/cancel", follow_redirects=True)
    assert flash_messages(again) == ["This back-test has already ended (cancelled)."]


@pytest.mark.parametrize(("form", "message"), [
    ({"window": "dates", "since": "2026-01-01", "until": "2026-12-01"}, "at most 90 days"),
    ({"window": "dates", "since": "2026-12-01", "until": "2026-11-01"}, "before its first"),
    ({"window": "dates"}, "Give the first day"),
    ({"candidate": "9"}, "Action 'withdraw' has no version 9."),
    ({"candidate": "latest"}, "Choose the draft or a version number"),
])
def test_bad_input_re_renders_the_form_with_what_is_wrong_and_queues_nothing(app, admin, history, form, message):
    response = admin.post(BASE, data={"candidate": "draft", "window": "24h", **form})

    assert response.status_code == 400
    assert any(message in alert for alert in alerts(response))
    chosen = parse(response).select_one("select[name=window] option[selected]")
    assert chosen["value"] == form.get("window", "24h")
    with app.app_context():
        assert db.session.execute(select(BacktestRun)).first() is None


def test_an_unknown_run_is_not_found(admin, history):
    assert admin.get(f"{BASE}/no-such-run").status_code == 404


def test_reviewers_may_not_open_back_tests(reviewer, history):
    assert reviewer.get(BASE).status_code == 403
    assert reviewer.post(BASE, data={"window": "24h"}).status_code == 403


# ---------------------------------------------------------------------------------------------
# The impact preview on the draft page, and what publishing records


def impact(admin, htmx=True):
    return admin.post(f"/console/actions/{CODE}/draft/impact", htmx=htmx)


def test_the_draft_page_asks_for_its_impact_once_and_shows_it_when_done(app, admin, history):
    draft = admin.get(f"/console/actions/{CODE}/draft")
    assert parse(draft).select_one("#impact")["hx-post"] == f"/console/actions/{CODE}/draft/impact"

    running = impact(admin)
    assert "waiting for a worker" in text_of(parse(running).select_one("#impact"))
    again = impact(admin)  # the page opened twice within the hour: the same run, not a second one
    with app.app_context():
        runs = db.session.execute(select(BacktestRun)).scalars().all()
    assert [(run.purpose, run.window_label) for run in runs] == [("impact", "7d")]
    assert polls(again) == f"{BASE}/{runs[0].id}/progress?for=impact"

    work_off(app, runs[0].id)
    done = admin.get(polls(again))
    assert polls(done) is None
    assert text_of(parse(done).select_one("#impact-summary")) == "5 of 6 actions (83.3%) would have ended differently:"
    assert [text_of(item) for item in parse(done).select("#impact-transitions li")] == [
        "Allow → Review required: 3", "Review required → Block: 2",
        "Review cases: +0.1 a day (today's queue: 2 open)",
        "New challenges for users with nothing enrolled: 1, made allow by the unenrolled policy"]
    hidden = parse(done).select_one("input[name=impact_run_id]")
    assert (hidden["value"], hidden["form"]) == (runs[0].id, "publish-form")


def test_publishing_after_the_preview_records_the_impact_with_the_version(app, admin, history):
    impact(admin)
    with app.app_context():
        run_id = db.session.execute(select(BacktestRun.id)).scalar_one()
    work_off(app, run_id)
    digest = parse(admin.get(f"/console/actions/{CODE}/draft")).select_one("input[name=draft_digest]")["value"]

    admin.post(f"/console/actions/{CODE}/publish",
               data={"note": "Review from 400.", "draft_digest": digest, "impact_run_id": run_id})

    page = admin.get(f"/console/actions/{CODE}/versions/3")
    assert definitions(page)["Impact preview"] == (
        "Back-tested over 7d before publishing: 5 of 6 actions would change: Allow → Review required 3, "
        "Review required → Block 2. The back-test")
    history_rows = table_rows(admin.get(f"/console/actions/{CODE}/versions"))
    assert history_rows[0]["Change note"] == "Review from 400. Back-tested: 5 of 6 would change"
    with app.app_context():
        version = db.session.execute(select(ActionVersion).where(ActionVersion.number == 3)).scalar_one()
        assert version.impact["runId"] == run_id


def test_a_preview_of_an_older_draft_is_not_recorded(app, admin, history):
    impact(admin)
    with app.app_context():
        run_id = db.session.execute(select(BacktestRun.id)).scalar_one()
    work_off(app, run_id)
    admin.post(f"/console/actions/{CODE}/rules/new", data={
        "name": "Tiny", "description": "", "outcome": "BLOCK", "is_active": "y", "mode": "builder", "g-0-join": "and",
        "c-0-0-field": "custom", "c-0-0-custom": "amount", "c-0-0-type": "number", "c-0-0-op": "lt",
        "c-0-0-value": "1"})
    digest = parse(admin.get(f"/console/actions/{CODE}/draft")).select_one("input[name=draft_digest]")["value"]

    admin.post(f"/console/actions/{CODE}/publish",
               data={"note": "Four rules.", "draft_digest": digest, "impact_run_id": run_id})

    page = admin.get(f"/console/actions/{CODE}/versions/3")
    assert definitions(page)["Impact preview"] == "None recorded: published without a finished back-test"


def test_an_action_without_a_draft_has_nothing_to_preview(app, admin, tenant):
    make_action(app, tenant.id, CODE)

    response = impact(admin)

    assert text_of(parse(response).select_one("#impact p")) == "Nothing to preview: the draft is the live version."
    assert section(response, "Impact over the last 7 days") is not None


def test_a_version_page_offers_to_back_test_that_version(app, admin, history):
    version = parse(admin.get(f"/console/actions/{CODE}/versions/1"))
    link = version.find("a", string="Back-test version 1…")

    form = admin.get(link["href"])

    assert parse(form).select_one("select[name=candidate] option[selected]")["value"] == "1"


def test_a_running_back_test_shows_rows_done_of_total_and_keeps_polling(app, admin, history):
    location = ask(admin)
    stop = threading.Event()
    stop.set()  # the worker stops after its first batch of two: the run is left running, a third done
    with app.app_context():
        assert backtest_runner.run_due(app.config["TOLLGATE"], batch=2, stop=stop) == "running"

    fragment = admin.get(f"{location}/progress", headers={"HX-Request": "true"})

    assert polls(fragment) == f"{location}/progress"
    progress = parse(fragment).select_one("progress")
    assert (progress["value"], progress["max"]) == ("2", "6")
    assert text_of(parse(fragment).select_one("#progress-text")).startswith("2 of 6 actions (33%)")
    assert parse(fragment).find("button", string="Cancel back-test") is not None
