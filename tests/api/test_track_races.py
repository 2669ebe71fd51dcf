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


def _auth(tenant) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{tenant.api_key}:".encode()).decode()}


def _tracks_at_once(app, tenant, url: str, body: dict, *, held_at: str) -> list[requests.Response]:
    """CALLERS identical tracks, each on its own connection, each held before its INSERT INTO ``held_at``."""
    sessions = [requests.Session() for _ in range(CALLERS)]
    try:
        with _held_before_inserting(app, held_at):
            return at_once(*((lambda s=s: s.post(url, json=body, headers=_auth(tenant), timeout=30))
                             for s in sessions))
    finally:
        for session in sessions:
            session.close()


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
    url = f"{live_url}/v1/users/rita/actions/withdraw-funds"
    first = requests.post(url, json={"idempotencyKey": "pay-41"}, headers=_auth(tenant), timeout=30)
    assert first.status_code == 200  # rita exists: the callers race only for the action

    responses = _tracks_at_once(app, tenant, url, {"idempotencyKey": "pay-42"}, held_at="user_action")

    assert [r.status_code for r in responses] == [200] * CALLERS, [r.text for r in responses]
    assert {r.json()["idempotencyKey"] for r in responses} == {"pay-42"}
    assert _stored(app, tenant, "rita") == (1, ["pay-41", "pay-42"])


def test_first_tracks_of_a_new_user_sent_at_once_store_the_user_once_and_every_action(app, tenant, live_url):
    first = requests.post(f"{live_url}/v1/users/rob/actions/withdraw-funds", headers=_auth(tenant), timeout=30)
    assert first.status_code == 200  # the action exists: the callers race only for sam

    responses = _tracks_at_once(app, tenant, f"{live_url}/v1/users/sam/actions/withdraw-funds",
                                {"email": "sam@example.com"}, held_at="end_user")

    assert [r.status_code for r in responses] == [200] * CALLERS, [r.text for r in responses]
    users, keys = _stored(app, tenant, "sam")
    assert users == 1
    assert sorted(keys) == sorted(r.json()["idempotencyKey"] for r in responses)
