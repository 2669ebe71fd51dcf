"""update_action as a review decision: one service for the API and the console, 409 for a second decision,
and real concurrent requests (threads against a live server) producing exactly one decision."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import ReviewDecision
from tests.concurrency import at_once
from tests.factories import make_action, rule
from tests.html import csrf_from, parse
from tests.web.conftest import PASSWORD, ConsoleClient, audit_events, sign_in

ROUNDS = 5


def queued_cases(page) -> list[str]:
    """The ids of the cases the review queue page lists, in order (their links carry the queue's filters)."""
    return [urlsplit(link["href"]).path.removeprefix("/review/")
            for link in parse(page).select("#queue-results tbody a[href]")]


@pytest.fixture
def console_user(app, tenant):
    """Create a console user (the console fixtures live in tests/web)."""
    from app.services.console.console_users import create_console_user

    def make(email: str, role: str = "reviewer") -> None:
        with app.app_context():
            create_console_user(tenant.id, email=email, password=PASSWORD, role=role, settings=app.config["TOLLGATE"])

    return make


@pytest.fixture
def review_action(app, tenant):
    make_action(app, tenant.id, "withdraw", rules=[rule("Big", 0, "REVIEW", {">": [{"var": "custom.amount"}, 1000]})])


def track(api, user="alice", amount=5000) -> str:
    response = api.post(f"/users/{user}/actions/withdraw", json={"custom": {"amount": amount}})
    assert response.get_json()["state"] == ("REVIEW_REQUIRED" if amount > 1000 else "ALLOW")
    return response.get_json()["idempotencyKey"]


def decisions(app) -> list[ReviewDecision]:
    with app.app_context():
        return list(db.session.execute(select(ReviewDecision).order_by(ReviewDecision.id)).scalars())


@pytest.mark.parametrize("state", ["REVIEW_SUCCEEDED", "REVIEW_FAILED"])
def test_update_action_decides_a_case_in_review(api, app, review_action, state):
    key = track(api)

    response = api.patch(f"/users/alice/actions/withdraw/{key}", json={"state": state})

    assert response.status_code == 200 and response.get_json()["state"] == state
    [decision] = decisions(app)
    assert (decision.source, decision.decided_by, decision.outcome) == ("api", "api", state)
    assert api.get(f"/users/alice/actions/withdraw/{key}").get_json()["state"] == state


def test_an_api_decision_is_audited_with_the_api_as_the_actor(api, app, review_action):
    key = track(api)

    api.patch(f"/users/alice/actions/withdraw/{key}", json={"state": "REVIEW_FAILED"})

    [event] = audit_events(app, "review.rejected")
    assert (event.actor_id, event.actor_email, event.target_type) == (None, "api", "user_action")
    assert event.after == {"state": "REVIEW_FAILED", "reason": "Set through the server API (update_action).", "source": "api"}


@pytest.mark.parametrize("second", ["REVIEW_SUCCEEDED", "REVIEW_FAILED"])
def test_a_second_review_outcome_is_409(api, app, review_action, second):
    key = track(api)
    api.patch(f"/users/alice/actions/withdraw/{key}", json={"state": "REVIEW_SUCCEEDED"})

    response = api.patch(f"/users/alice/actions/withdraw/{key}", json={"state": second})

    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == body["errorCode"] == "review_already_decided"
    assert "already decided" in body["errorDescription"]
    assert len(decisions(app)) == 1
    assert api.get(f"/users/alice/actions/withdraw/{key}").get_json()["state"] == "REVIEW_SUCCEEDED"


def test_a_case_decided_in_the_console_is_409_on_the_api(api, app, console_user, review_action):
    console_user("admin@example.com", "admin")
    browser = app.test_client()
    sign_in(browser, "admin@example.com")
    admin = ConsoleClient(browser)
    key = track(api)
    [case] = queued_cases(admin.get("/review/"))
    admin.post(f"/review/{case}/decision", data={"decision": "reject", "reason": "Stolen card"})

    response = api.patch(f"/users/alice/actions/withdraw/{key}", json={"state": "REVIEW_SUCCEEDED"})

    assert response.status_code == 409 and response.get_json()["errorCode"] == "review_already_decided"


def test_other_state_changes_keep_working_as_before(api, app, review_action):
    """Authsignal compatibility: any state may be set; only review outcomes on review cases are decisions."""
    in_review, allowed = track(api), track(api, amount=1)

    assert api.patch(f"/users/alice/actions/withdraw/{in_review}", json={"state": "BLOCK"}).get_json()["state"] == "BLOCK"
    assert api.patch(f"/users/alice/actions/withdraw/{allowed}", json={"state": "REVIEW_SUCCEEDED"}).status_code == 200
    decided = track(api)
    api.patch(f"/users/alice/actions/withdraw/{decided}", json={"state": "REVIEW_FAILED"})
    assert api.patch(f"/users/alice/actions/withdraw/{decided}", json={"state": "ALLOW"}).get_json()["state"] == "ALLOW"
    assert len(decisions(app)) == 1


# ---------------------------------------------------------------------------------------------
# Concurrency: real HTTP requests from threads, released together by a barrier.


def race(*calls) -> list[int]:
    """Run the calls at the same moment, each in its own thread; their HTTP statuses in order."""
    return [response.status_code for response in at_once(*calls)]


def test_two_api_decisions_at_once_make_exactly_one(api, app, tenant, live_url, review_action):
    auth = base64.b64encode(f"{tenant.api_key}:".encode()).decode()
    sessions = [requests.Session(), requests.Session()]
    try:
        for _ in range(ROUNDS):
            key = track(api)
            url = f"{live_url}/v1/users/alice/actions/withdraw/{key}"
            statuses = race(*(
                (lambda s=s, state=state, url=url: s.patch(url, json={"state": state}, timeout=30,
                                                           headers={"Authorization": f"Basic {auth}"}))
                for s, state in zip(sessions, ("REVIEW_SUCCEEDED", "REVIEW_FAILED"), strict=True)
            ))
            assert sorted(statuses) == [200, 409], statuses
    finally:
        for s in sessions:
            s.close()
    with app.app_context():
        per_action = db.session.execute(
            select(ReviewDecision.user_action_id, func.count()).group_by(ReviewDecision.user_action_id)).all()
    assert len(per_action) == ROUNDS and all(count == 1 for _, count in per_action)


def _console_session(live_url: str, email: str) -> requests.Session:
    session = requests.Session()
    token = csrf_from(session.get(f"{live_url}/auth/login", timeout=10).text)
    response = session.post(f"{live_url}/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                            timeout=10, allow_redirects=False)
    assert response.status_code == 302, response.text
    session.headers["X-CSRFToken"] = csrf_from(session.get(f"{live_url}/review/", timeout=10).text)
    return session


def test_two_reviewers_deciding_at_once_make_exactly_one(api, app, live_url, console_user, review_action):
    console_user("ann@example.com")
    console_user("bob@example.com")
    ann, bob = _console_session(live_url, "ann@example.com"), _console_session(live_url, "bob@example.com")
    try:
        for _ in range(ROUNDS):
            track(api)
            case = queued_cases(ann.get(f"{live_url}/review/?claim=unclaimed", timeout=10).text)[0]
            url = f"{live_url}/review/{case}/decision"
            statuses = race(
                lambda url=url: ann.post(url, data={"decision": "approve", "reason": "ok"}, headers={"HX-Request": "true"},
                                         timeout=30),
                lambda url=url: bob.post(url, data={"decision": "reject", "reason": "no"}, headers={"HX-Request": "true"},
                                         timeout=30),
            )
            # The winner is sent on to the case page (204 + HX-Redirect); the loser sees the refusal.
            assert sorted(statuses) == [204, 409], statuses
    finally:
        ann.close()
        bob.close()
    with app.app_context():
        counts = db.session.execute(
            select(func.count()).select_from(ReviewDecision).group_by(ReviewDecision.user_action_id)).scalars().all()
    assert counts == [1] * ROUNDS
