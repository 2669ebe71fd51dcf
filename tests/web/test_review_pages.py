"""The review pages through the test client: full pages and htmx fragments, CSRF, roles."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ReviewDecision, ReviewNote, UserAction
from app.models.base import utcnow
from app.models.review import OverduePolicy
from tests.factories import make_action, rule


@pytest.fixture
def review_action(app, tenant):
    make_action(app, tenant.id, "withdraw", rules=[rule("Big amount", 0, "REVIEW", {">": [{"var": "custom.amount"}, 1000]})])


def track(app, api, user="alice", amount=5000) -> int:
    key = api.post(f"/users/{user}/actions/withdraw", json={"custom": {"amount": amount}, "ipAddress": "198.51.100.4"}
                   ).get_json()["idempotencyKey"]
    with app.app_context():
        return db.session.execute(select(UserAction.id).where(UserAction.idempotency_key == key)).scalar_one()


def state(app, action_id: int) -> str:
    with app.app_context():
        return db.session.get(UserAction, action_id).state.value


def htmx(client, path):
    return client.get(path, headers={"HX-Request": "true"})


# ---------------------------------------------------------------------------------------------
# Queue


def test_queue_page_lists_cases_with_context_and_filters(app, api, reviewer, review_action):
    case = track(app, api)
    track(app, api, amount=5)  # ALLOW: not listed

    page = reviewer.get("/review/")
    html = page.get_data(as_text=True)

    assert page.status_code == 200 and "<html" in html
    assert f'href="/review/{case}"' in html
    assert "Big amount" in html and "198.51.100.4" in html and "amount <code>5000</code>" in html
    assert "<strong>1</strong> case waiting" in html
    assert 'name="ids"' not in html  # bulk is for admins
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "HX-Request" in page.headers["Vary"]


def test_queue_filters_answer_htmx_with_the_results_fragment(app, api, reviewer, review_action):
    case = track(app, api)

    fragment = htmx(reviewer, "/review/?claim=unclaimed&action=withdraw&age=0").get_data(as_text=True)
    none = htmx(reviewer, "/review/?claim=mine").get_data(as_text=True)
    bad = reviewer.get("/review/?claim=someone&age=old").get_data(as_text=True)

    assert fragment.lstrip().startswith("{#") is False and 'id="queue-results"' in fragment and "<html" not in fragment
    assert f'href="/review/{case}"' in fragment
    assert "No case matches these filters." in none
    assert "Pick all, mine or unclaimed." in bad and "Enter a whole number of minutes" in bad


def test_queue_pages_by_keyset(app, api, reviewer, review_action, monkeypatch):
    from app.services.reviews import queue

    cases = [track(app, api, user=f"u{i}") for i in range(3)]
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)

    first = reviewer.get("/review/").get_data(as_text=True)
    newer = re.search(r'href="(/review/\?after=[^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = htmx(reviewer, newer).get_data(as_text=True)
    older = re.search(r'href="(/review/\?before=[^"]+)" rel="prev"', second).group(1).replace("&amp;", "&")
    back = reviewer.get(older).get_data(as_text=True)

    assert [int(i) for i in re.findall(r'href="/review/(\d+)"', first)] == cases[:2]
    assert 'hx-get="/review/?after=' in first
    assert [int(i) for i in re.findall(r'href="/review/(\d+)"', second)] == cases[2:]
    assert [int(i) for i in re.findall(r'href="/review/(\d+)"', back)] == cases[:2]


def test_overdue_cases_are_highlighted(app, api, tenant, reviewer, review_action):
    from app.services.reviews import sla

    track(app, api)
    with app.app_context():
        sla.set_review_sla(tenant.id, "withdraw", deadline_minutes=1, policy=OverduePolicy.FLAG)
        db.session.execute(UserAction.__table__.update().values(state_updated_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()

    html = reviewer.get("/review/").get_data(as_text=True)

    assert '<tr class="overdue">' in html and "Overdue" in html


def test_nav_links_to_the_queue_and_polls_its_count(app, api, reviewer, review_action):
    track(app, api)
    track(app, api, user="bob")

    nav = reviewer.get("/console/activity").get_data(as_text=True)
    count = htmx(reviewer, "/review/count")

    assert '<a href="/review/"' in nav
    assert 'hx-get="/review/count" hx-trigger="load, every 30s"' in nav
    assert count.status_code == 200 and count.get_data(as_text=True).strip().startswith("2<span")


def test_polling_the_count_is_not_activity(app, reviewer):
    with reviewer.client.session_transaction() as session:
        session["seen"] = seen = session["seen"] - 60

    reviewer.get("/review/count")

    with reviewer.client.session_transaction() as session:
        assert session["seen"] == seen


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/review/")

    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


# ---------------------------------------------------------------------------------------------
# A case


def test_case_page_shows_context_trace_history_and_forms(app, api, reviewer, review_action):
    earlier = track(app, api)
    api.patch(f"/users/alice/actions/withdraw/{_key(app, earlier)}", json={"state": "REVIEW_FAILED"})
    case = track(app, api)

    html = reviewer.get(f"/review/{case}").get_data(as_text=True)

    for expected in ("Tracked context", "198.51.100.4", "Decision trace", "Big amount", "custom.amount",
                     "Earlier review decisions", "Set through the server API", "Authenticators", "recent actions",
                     'id="claim"', 'id="decision"', 'id="notes"', 'name="reason"', 'value="approve"', 'value="reject"'):
        assert expected in html, expected
    assert reviewer.get("/review/424242").status_code == 404


def _key(app, action_id):
    with app.app_context():
        return db.session.get(UserAction, action_id).idempotency_key


def test_claim_and_release_with_htmx_swap_the_claim_section(app, api, reviewer, review_action):
    case = track(app, api)

    claimed = reviewer.post(f"/review/{case}/claim", htmx=True)
    released = reviewer.post(f"/review/{case}/release", htmx=True)

    assert claimed.status_code == 200 and claimed.get_data(as_text=True).lstrip().startswith("<section")
    assert "<strong>You</strong> hold this case" in claimed.get_data(as_text=True)
    assert "Nobody holds this case" in released.get_data(as_text=True)


def test_claim_without_javascript_returns_to_the_case(app, api, reviewer, review_action):
    case = track(app, api)

    response = reviewer.post(f"/review/{case}/claim")

    assert response.status_code == 303 and response.headers["Location"].endswith(f"/review/{case}")
    assert "<strong>You</strong> hold this case" in reviewer.get(f"/review/{case}").get_data(as_text=True)


def test_a_case_held_by_someone_else_is_refused_in_place(app, api, admin, reviewer, review_action):
    case = track(app, api)
    reviewer.post(f"/review/{case}/claim")

    fragment = admin.post(f"/review/{case}/claim", htmx=True)
    page = admin.post(f"/review/{case}/decision", data={"decision": "approve", "reason": "ok"})

    assert fragment.status_code == 409 and "claimed by reviewer@example.com" in fragment.get_data(as_text=True)
    assert 'data-swap-errors' in fragment.get_data(as_text=True)
    assert page.status_code == 409 and "<html" in page.get_data(as_text=True)
    assert state(app, case) == "REVIEW_REQUIRED"


def test_notes_with_htmx_and_without(app, api, reviewer, review_action):
    case = track(app, api)

    added = reviewer.post(f"/review/{case}/notes", data={"text": "Called the customer <b>ok</b>"}, htmx=True)
    empty = reviewer.post(f"/review/{case}/notes", data={"text": "  "}, htmx=True)
    plain = reviewer.post(f"/review/{case}/notes", data={"text": "Second note"})
    plain_empty = reviewer.post(f"/review/{case}/notes", data={"text": ""})

    assert added.status_code == 200 and 'id="notes"' in added.get_data(as_text=True)
    assert "Called the customer &lt;b&gt;ok&lt;/b&gt;" in added.get_data(as_text=True)
    assert "reviewer@example.com" in added.get_data(as_text=True)
    assert empty.status_code == 400 and "Write the note first." in empty.get_data(as_text=True)
    assert plain.status_code == 303
    assert plain_empty.status_code == 400 and "<html" in plain_empty.get_data(as_text=True)
    with app.app_context():
        assert [n.text for n in db.session.execute(select(ReviewNote)).scalars()] == [
            "Called the customer <b>ok</b>", "Second note"]


def test_deciding_with_htmx_redirects_to_the_decided_case_with_a_next_link(app, api, reviewer, review_action):
    case = track(app, api)
    newer = track(app, api, user="bob")

    response = reviewer.post(f"/review/{case}/decision", data={"decision": "approve", "reason": "Known payee"}, htmx=True)
    page = reviewer.get(f"/review/{case}").get_data(as_text=True)
    next_case = reviewer.get("/review/next")

    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/review/{case}"
    assert state(app, case) == "REVIEW_SUCCEEDED"
    assert "Approved" in page and "Known payee" in page and 'id="next-case" href="/review/next"' in page
    assert next_case.status_code == 302 and next_case.headers["Location"].endswith(f"/review/{newer}")


def test_deciding_without_javascript(app, api, reviewer, review_action):
    case = track(app, api)

    response = reviewer.post(f"/review/{case}/decision", data={"decision": "reject", "reason": "Mule"})

    assert response.status_code == 303 and state(app, case) == "REVIEW_FAILED"


def test_a_decision_needs_a_reason_and_a_valid_choice(app, api, reviewer, review_action):
    case = track(app, api)

    no_reason = reviewer.post(f"/review/{case}/decision", data={"decision": "approve", "reason": " "}, htmx=True)
    no_choice = reviewer.post(f"/review/{case}/decision", data={"decision": "maybe", "reason": "hm"}, htmx=True)

    assert no_reason.status_code == 400 and "Give a reason" in no_reason.get_data(as_text=True)
    assert no_choice.status_code == 400 and "Choose approve or reject." in no_choice.get_data(as_text=True)
    assert 'value="hm"' not in no_choice.get_data(as_text=True) and ">hm</textarea>" in no_choice.get_data(as_text=True)
    assert state(app, case) == "REVIEW_REQUIRED"


def test_a_second_decision_is_refused(app, api, admin, reviewer, review_action):
    case = track(app, api)
    reviewer.post(f"/review/{case}/decision", data={"decision": "approve", "reason": "ok"})

    again = admin.post(f"/review/{case}/decision", data={"decision": "reject", "reason": "no"}, htmx=True)

    assert again.status_code == 409 and "already decided" in again.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.execute(select(ReviewDecision)).all()) == 1


def test_next_case_with_an_empty_queue_goes_back_to_the_queue(reviewer):
    response = reviewer.get("/review/next")

    assert response.status_code == 302 and response.headers["Location"].endswith("/review/")


@pytest.mark.parametrize("path", ["claim", "release", "notes", "decision"])
def test_changes_without_a_csrf_token_are_refused(app, api, reviewer, review_action, path):
    case = track(app, api)

    response = reviewer.client.post(f"/review/{case}/{path}", data={"text": "x", "decision": "approve", "reason": "x"})

    assert response.status_code == 400
    assert state(app, case) == "REVIEW_REQUIRED"
    with app.app_context():
        assert db.session.execute(select(ReviewNote)).first() is None


# ---------------------------------------------------------------------------------------------
# Bulk (admins)


def test_admins_bulk_decide_the_ticked_cases(app, api, admin, review_action):
    first, second, untouched = track(app, api), track(app, api, user="bob"), track(app, api, user="cy")

    queue = admin.get("/review/?action=withdraw").get_data(as_text=True)
    response = admin.post("/review/bulk", data={"ids": [str(first), str(second)], "decision": "reject",
                                                "reason": "Fraud ring", "action": "withdraw"})

    assert 'name="ids"' in queue and 'name="action" value="withdraw"' in queue
    assert response.status_code == 303 and response.headers["Location"].endswith("/review/?action=withdraw")
    assert (state(app, first), state(app, second), state(app, untouched)) == ("REVIEW_FAILED", "REVIEW_FAILED",
                                                                            "REVIEW_REQUIRED")
    assert "Rejected 2 cases." in admin.get("/review/").get_data(as_text=True)


def test_bulk_without_a_reason_changes_nothing(app, api, admin, review_action):
    case = track(app, api)

    admin.post("/review/bulk", data={"ids": [str(case)], "decision": "approve", "reason": ""})

    assert state(app, case) == "REVIEW_REQUIRED"
    assert "Give a reason" in admin.get("/review/").get_data(as_text=True)


def test_reviewers_cannot_bulk_decide(app, api, reviewer, review_action):
    case = track(app, api)

    response = reviewer.post("/review/bulk", data={"ids": [str(case)], "decision": "approve", "reason": "x"})

    assert response.status_code == 403 and state(app, case) == "REVIEW_REQUIRED"
