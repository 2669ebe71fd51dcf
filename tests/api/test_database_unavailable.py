"""A database that stops answering (PostgreSQL restarting or down, SQLite locked past its busy
timeout) is a 503 to retry, never a 500; once it answers again the same instance serves."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app import create_app
from app.extensions import db
from app.models.user_action import UserAction
from tests.conftest import ApiClient

UNAVAILABLE = {"error": "database_unavailable", "errorCode": "database_unavailable",
               "errorDescription": "Tollgate cannot reach its database just now. Try again in a few seconds."}


def unavailable_logs(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("database unavailable")]


@pytest.fixture
def second_instance(app, app_env, tmp_path):
    """Another instance on the same database, with its own connection pool."""
    instance = create_app({**app_env, "TOLLGATE_INSTANCE_PATH": str(tmp_path / "instance")})
    yield instance
    with instance.app_context():
        db.engine.dispose()


def dialect(app_env) -> str:
    return make_url(app_env["DATABASE_URL"]).get_backend_name()


def test_api_calls_without_their_database_are_503s_to_retry(app_without_database, caplog):
    api = ApiClient(app_without_database.test_client(), "tg_sk_" + "x" * 40)

    for response in (api.get("/users/alice"), api.post("/users/alice/actions/sign-in", json={})):
        assert response.status_code == 503
        assert response.content_type == "application/json"
        assert response.get_json() == UNAVAILABLE
        assert response.headers["Retry-After"] == "5"
    assert len(unavailable_logs(caplog)) == 2  # once a request, no traceback
    assert app_without_database.test_client().get("/readyz").status_code == 503  # and the balancer is told


def test_a_track_locked_out_past_the_busy_timeout_is_a_503_and_the_next_one_is_served(second_instance, app_env,
                                                                                      tenant, caplog):
    if dialect(app_env) != "sqlite":
        pytest.skip("SQLite's write lock")
    with second_instance.app_context():
        # A busy timeout a test can wait out; production's is 30 s (config._engine_options).
        event.listen(db.engine, "connect", lambda connection, _record: connection.execute("PRAGMA busy_timeout = 100"))
    api = ApiClient(second_instance.test_client(), tenant.api_key)

    with closing(sqlite3.connect(make_url(app_env["DATABASE_URL"]).database, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock for longer than we wait
        locked = api.post("/users/alice/actions/sign-in", json={})
        other.execute("ROLLBACK")
    served = api.post("/users/alice/actions/sign-in", json={})

    assert (locked.status_code, locked.get_json(), locked.headers["Retry-After"]) == (503, UNAVAILABLE, "5")
    assert len(unavailable_logs(caplog)) == 1
    assert served.status_code == 200, served.get_json()
    with second_instance.app_context():
        assert db.session.execute(select(func.count()).select_from(UserAction)).scalar_one() == 1


def test_a_connection_killed_under_a_request_is_a_503_and_the_pool_reconnects(second_instance, app_env, tenant,
                                                                              caplog):
    if dialect(app_env) != "postgresql":
        pytest.skip("PostgreSQL ends the connection as a restart does")

    def lose_connection():
        # What a server restart does to every open connection: the statement fails, the connection is gone.
        db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return "not reached"

    second_instance.add_url_rule("/v1/lose-connection", view_func=lose_connection)
    client = second_instance.test_client()
    api = ApiClient(client, tenant.api_key)

    lost = client.get("/v1/lose-connection")
    served = api.post("/users/alice/actions/sign-in", json={})

    assert (lost.status_code, lost.get_json(), lost.headers["Retry-After"]) == (503, UNAVAILABLE, "5")
    assert len(unavailable_logs(caplog)) == 1
    assert served.status_code == 200, served.get_json()


def test_a_connection_lost_after_the_answer_is_ready_leaves_the_answer_alone(second_instance, app_env, caplog):
    """PostgreSQL going down between a view's last statement and the end of its request: closing the
    session rolls back on a dead connection. That must not turn the view's answer into a 500."""
    if dialect(app_env) != "postgresql":
        pytest.skip("PostgreSQL ends the connection as a shutdown does")

    def lose_connection_after_the_answer():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()  # a transaction is open
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return {"answered": True}

    second_instance.add_url_rule("/v1/lose-connection-after", view_func=lose_connection_after_the_answer)
    client = second_instance.test_client()

    answered = client.get("/v1/lose-connection-after")
    again = client.get("/readyz")

    assert (answered.status_code, answered.get_json()) == (200, {"answered": True})
    assert again.status_code == 200  # the pool dropped the dead connection


def test_no_free_connection_in_the_pool_is_a_503_too(second_instance, tenant, caplog):
    """Every connection stuck on a database that stopped answering: the next request's wait for one
    times out. That is the same outage, and callers are told to come back, as for the others."""

    def wait_for_a_connection():
        # What QueuePool raises when no connection came free within its timeout.
        raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 10.00")

    second_instance.add_url_rule("/v1/wait-for-a-connection", view_func=wait_for_a_connection)
    client = second_instance.test_client()

    waited = client.get("/v1/wait-for-a-connection")
    served = ApiClient(client, tenant.api_key).post("/users/alice/actions/sign-in", json={})

    assert (waited.status_code, waited.get_json(), waited.headers["Retry-After"]) == (503, UNAVAILABLE, "5")
    assert unavailable_logs(caplog) == ["database unavailable, answered 503: TimeoutError: QueuePool limit of size 5 "
                                        "overflow 10 reached, connection timed out, timeout 10.00"]
    assert served.status_code == 200, served.get_json()
