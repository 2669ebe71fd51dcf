"""Tracks that really arrive at the same moment (threads against a live server): the hot path's
raw statements keep the guarantees the ORM gave, one action per idempotency key and one user per id.

Each caller is held just before its first INSERT of the contested row until every caller has read
and decided, so the race is run, not left to the scheduler: one insert wins, the others fail on
the unique key, retry and find the winner's row.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import EndUser, UserAction
from tests.concurrency import at_once

CALLERS = 4


def _sessions(tenant) -> list[requests.Session]:
    sessions = []
    for _ in range(CALLERS):
        session = requests.Session()
        session.headers["Authorization"] = "Basic " + base64.b64encode(f"{tenant.api_key}:".encode()).decode()
        sessions.append(session)
    return sessions


@contextmanager
def _held_before_inserting(app, table: str) -> Iterator[None]:
    barrier = threading.Barrier(CALLERS)
    held = threading.local()

    def hold(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().startswith(f"INSERT INTO {table} ") and not getattr(held, "done", False):
            held.done = True  # a retry goes straight on
            barrier.wait(timeout=20)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", hold)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", hold)


def _stored(app, tenant, user_id: str) -> tuple[int, list[str]]:
    """(users stored with this id, the idempotency keys of their actions)."""
    with app.app_context():
        users = db.session.execute(select(func.count()).select_from(EndUser).where(
            EndUser.tenant_id == tenant.id, EndUser.user_id == user_id)).scalar_one()
        keys = db.session.execute(select(UserAction.idempotency_key).where(
            UserAction.tenant_id == tenant.id, UserAction.user_id == user_id)).scalars().all()
        return users, list(keys)


def test_identical_idempotent_tracks_sent_at_once_store_one_action_and_all_answer_it(app, tenant, live_url):
    sessions = _sessions(tenant)
    url = f"{live_url}/v1/users/rita/actions/withdraw-funds"
    assert sessions[0].post(url, json={"idempotencyKey": "pay-41"}, timeout=30).status_code == 200  # rita exists
    try:
        with _held_before_inserting(app, "user_action"):
            responses = at_once(*((lambda s=s: s.post(url, json={"idempotencyKey": "pay-42"}, timeout=30))
                                  for s in sessions))
    finally:
        for session in sessions:
            session.close()

    assert [r.status_code for r in responses] == [200] * CALLERS, [r.text for r in responses]
    assert {r.json()["idempotencyKey"] for r in responses} == {"pay-42"}
    assert _stored(app, tenant, "rita") == (1, ["pay-41", "pay-42"])


def test_first_tracks_of_a_new_user_sent_at_once_store_the_user_once_and_every_action(app, tenant, live_url):
    sessions = _sessions(tenant)
    url = f"{live_url}/v1/users/sam/actions/withdraw-funds"
    first = sessions[0].post(f"{live_url}/v1/users/rob/actions/withdraw-funds", timeout=30)
    assert first.status_code == 200  # the action exists: the callers race only for sam
    try:
        with _held_before_inserting(app, "end_user"):
            responses = at_once(*((lambda s=s: s.post(url, json={"email": "sam@example.com"}, timeout=30))
                                  for s in sessions))
    finally:
        for session in sessions:
            session.close()

    assert [r.status_code for r in responses] == [200] * CALLERS, [r.text for r in responses]
    users, keys = _stored(app, tenant, "sam")
    assert users == 1
    assert sorted(keys) == sorted(r.json()["idempotencyKey"] for r in responses)
