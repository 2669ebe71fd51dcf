"""Activity → Download all as CSV: the filtered list, every page of it, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.services.console import activity_export
from app.services.console.activity import ActivityFilters
from tests.factories import make_action, rule
from tests.html import parse


def rows_of(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_export_is_the_filtered_list_newest_first(app, tenant, api, admin):
    make_action(app, tenant.id, "payout", rules=[rule("Large", 0, "BLOCK", {">": [{"var": "custom.amount"}, 1000]})])
    api.post("/users/ann/actions/payout", json={"custom": {"amount": 5}, "ipAddress": "203.0.113.9"})
    api.post("/users/bo/actions/payout", json={"custom": {"amount": 5000}})
    api.post("/users/ann/actions/sign-in", json={})

    response = admin.get("/console/activity/export.csv?action=payout")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="tollgate-activity-')
    rows = rows_of(response)
    assert [(r["user_id"], r["state"], r["deciding_rule"]) for r in rows] == [("bo", "BLOCK", "Large"),
                                                                           ("ann", "ALLOW", "")]
    assert rows[1]["ip_address"] == "203.0.113.9" and rows[1]["created_at"].endswith("Z")
    assert list(rows[0]) == list(activity_export.COLUMNS)


def test_every_page_is_exported(app, tenant, api):
    for n in range(5):
        api.post(f"/users/user-{n}/actions/sign-in", json={})

    with app.app_context():
        text = "".join(activity_export.csv_chunks(tenant.id, ActivityFilters(), page_size=2))  # 3 pages

    assert [r["user_id"] for r in csv.DictReader(io.StringIO(text))] == [f"user-{n}" for n in reversed(range(5))]


def test_values_a_spreadsheet_would_run_stay_text(api, admin):
    for user_id in ("=1+2", "+1", "-1", "@SUM(1)", "plain"):
        assert api.post(f"/users/{user_id}/actions/sign-in", json={}).status_code == 200

    user_ids = [r["user_id"] for r in rows_of(admin.get("/console/activity/export.csv"))]

    assert user_ids == ["plain", "'@SUM(1)", "'-1", "'+1", "'=1+2"]


def test_an_export_is_audited_with_its_filters(app, admin):
    admin.get("/console/activity/export.csv?state=BLOCK&user=ann")

    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.event == "activity.exported")).scalar_one()
    assert event.after == {"filters": {"state": "BLOCK", "user": "ann"}}
    assert event.actor_email == "admin@example.com"


def test_reviewers_may_read_activity_but_not_export_it(reviewer):
    assert reviewer.get("/console/activity").status_code == 200
    assert reviewer.get("/console/activity/export.csv").status_code == 403


def test_the_list_links_to_the_export_of_what_it_shows(api, admin):
    api.post("/users/ann/actions/sign-in", json={})

    page = parse(admin.get("/console/activity?action=sign-in"))

    download = page.find("a", string="Download all as CSV")
    assert download["href"] == "/console/activity/export.csv?action=sign-in" and download.has_attr("download")

