"""The Overview: an admin's home page of charts and tables, each number linked to the activity it counts."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from app.domain.decision import ActionState, VerificationMethod
from app.models.base import utcnow
from tests.factories import make_action, rule
from tests.html import definitions, parse, table_rows, text_of
from tests.web.conftest import sign_in
from tests.web.test_console_activity import add_action


@pytest.fixture
def tracked(app, tenant):
    """Two actions with a day of activity; the page's clock is the real one, so rows are placed before it."""
    [large] = make_action(app, tenant.id, "payout", rules=[rule("Large payout", 0, "REVIEW", {">": [1, 0]})])
    make_action(app, tenant.id, "sign-in")
    now = utcnow()
    at = now - timedelta(minutes=1)
    for state, code, rule_id, method in [
        (ActionState.ALLOW, "sign-in", None, None), (ActionState.ALLOW, "sign-in", None, None),
        (ActionState.CHALLENGE_SUCCEEDED, "sign-in", None, VerificationMethod.AUTHENTICATOR_APP),
        (ActionState.CHALLENGE_FAILED, "sign-in", None, None), (ActionState.BLOCK, "sign-in", None, None),
        (ActionState.REVIEW_REQUIRED, "payout", large, None), (ActionState.REVIEW_SUCCEEDED, "payout", large, None),
    ]:
        add_action(app, tenant.id, created_at=at, state=state, action_code=code, priority_rule_id=rule_id,
                   verification_method=method)
    add_action(app, tenant.id, created_at=now - timedelta(days=3), action_code="sign-in")  # in 7 days, not in 24 h
    return {"day": at.date().isoformat(), "hour": f"{at:%H}:00", "large": large}


def data_table(response) -> dict[str, dict[str, str]]:
    """The chart's numbers: period → {column: text}."""
    return {row["Hour"] if "Hour" in row else row["Day"]: row for row in table_rows(response, "#outcomes-chart table")}


def test_an_admin_signs_in_to_the_overview(app, make_console_user, client):
    make_console_user("admin@example.com", "admin")
    assert sign_in(client, "admin@example.com").headers["Location"].endswith("/console/overview")


def test_the_chart_and_its_table_count_the_last_24_hours_by_hour(admin, tracked):
    response = admin.get("/console/overview")
    assert response.status_code == 200
    page = parse(response)
    rows = data_table(response)
    assert len(rows) == 24
    assert rows[tracked["hour"]] == {"Hour": tracked["hour"], "Allow": "2", "Challenge": "2", "Review": "2",
                                     "Block": "1", "Total": "7"}
    svg = page.select_one('#outcomes-chart svg[role="img"]')
    assert svg["aria-label"].endswith("7 actions in 24 bars: Allow 2, Challenge 2, Review 2, Block 1.")
    assert len(svg.select("rect")) == 4  # one bar of four segments


def test_each_segment_and_cell_opens_the_activity_it_counts(admin, tracked):
    page = parse(admin.get("/console/overview?action=sign-in"))
    blocked = [a["href"] for a in page.select("#outcomes-chart svg a") if a.rect["data-series"] == "BLOCK"]
    cell = page.select_one('#outcomes-chart table td[data-series="BLOCK"] a')
    assert text_of(cell) == "1" and blocked == [cell["href"]]
    target = urlsplit(cell["href"])
    assert target.path == "/console/activity"
    assert parse_qs(target.query) == {"action": ["sign-in"], "outcome": ["BLOCK"], "from": [tracked["day"]],
                                      "to": [tracked["day"]]}


def test_a_challenge_segment_opens_every_challenged_action_passed_failed_or_pending(admin, tracked):
    cell = parse(admin.get("/console/overview")).select_one('#outcomes-chart table td[data-series="CHALLENGE"] a')
    listed = parse(admin.get(cell["href"])).select("#activity-results tbody tr")
    assert text_of(cell) == "2" and len(listed) == 2
    assert {text_of(row.select_one(".badge")) for row in listed} == {"Challenge succeeded", "Challenge failed"}


def test_one_action_picked_counts_only_its_actions(admin, tracked):
    response = admin.get("/console/overview?action=payout&window=7d")
    page = parse(response)
    assert page.select_one("#overview-action option[selected]")["value"] == "payout"
    assert page.select_one("#overview-window option[selected]")["value"] == "7d"
    rows = data_table(response)
    assert len(rows) == 7
    assert sum(int(row["Total"]) for row in rows.values()) == 2
    assert definitions(page.select_one("#review-backlog"))["Open cases"] == "1"


def test_the_week_has_one_bar_a_day(admin, tracked):
    rows = data_table(admin.get("/console/overview?window=7d"))
    assert len(rows) == 7 and sum(int(row["Total"]) for row in rows.values()) == 8


def test_challenges_by_method_backlog_and_top_rules(admin, tracked):
    response = admin.get("/console/overview")
    methods = table_rows(response, "#challenge-methods")
    assert methods == [
        {"Method": "Authenticator app", "Succeeded": "1", "Failed": "0", "Success rate": "100.0%"},
        {"Method": "Not recorded", "Succeeded": "0", "Failed": "1", "Success rate": "0.0%"},
    ]
    by_app = parse(response).select_one("#challenge-methods tbody tr:nth-of-type(1) td a")["href"]
    assert parse_qs(urlsplit(by_app).query)["method"] == ["AUTHENTICATOR_APP"]
    assert len(table_rows(admin.get(by_app), "#activity-results")) == 1
    backlog = definitions(parse(response).select_one("#review-backlog"))
    assert backlog["Open cases"] == "1" and backlog["Oldest waiting"] in ("1 min", "2 min")
    rules = table_rows(response, "#top-rules")
    assert rules[0] == {"Rule": "Default outcome", "Action": "sign-in", "Actions decided": "5", "Share": "71.4%"}
    assert rules[1] == {"Rule": "Large payout", "Action": "payout", "Actions decided": "2", "Share": "28.6%"}
    link = parse(response).select_one("#top-rules tbody tr:nth-of-type(2) a")
    assert parse_qs(urlsplit(link["href"]).query)["action"] == ["payout"]
    assert parse_qs(urlsplit(link["href"]).query)["rule"] != ["default"]
    listed = table_rows(admin.get(link["href"]), "#activity-results")
    assert len(listed) == 2, "the row's count opens the actions that rule decided"
    assert {row["State"] for row in listed} == {"Review required", "Review succeeded"}
    default = parse(response).select_one("#top-rules tbody tr:nth-of-type(1) a")["href"]
    assert len(table_rows(admin.get(default), "#activity-results")) == 5


def test_a_tenant_with_nothing_tracked_gets_the_get_started_panel(admin, app, tenant):
    make_action(app, tenant.id, "sign-in")
    page = parse(admin.get("/console/overview"))
    assert text_of(page.select_one("#getting-started-title")).startswith("Get started")
    assert page.select_one("#outcomes-chart") is None


def test_an_unknown_window_or_action_shows_the_default(admin, tracked):
    page = parse(admin.get("/console/overview?window=99y&action=nope"))
    assert page.select_one("#overview-window option[selected]")["value"] == "24h"
    assert page.select_one("#overview-action option[selected]")["value"] == ""


def test_a_reviewer_cannot_open_the_overview(reviewer):
    assert reviewer.get("/console/overview").status_code == 403
