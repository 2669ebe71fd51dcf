"""flask tollgate backup: an online copy of the SQLite database that restores into a working instance."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.models.user_action import UserAction
from app.services.operations import backup
from app.services.tenancy.audit import record_change
from tests.conftest import ApiClient


@pytest.fixture
def on_sqlite(app_env) -> None:
    if not app_env["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("the backup command copies SQLite databases")


def run_backup(app, *args):
    return app.test_cli_runner().invoke(args=["tollgate", "backup", *args])


class Writer:
    """Tracks (and now and then an audited change) written from another thread until stopped."""

    def __init__(self, app, api_key: str, tenant_id: str):
        self.app, self.api_key, self.tenant_id = app, api_key, tenant_id
        self.answered: set[tuple[str, str]] = set()  # (userId, idempotencyKey) of every 2xx
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        api = ApiClient(self.app.test_client(), self.api_key)
        number = 0
        while not self.stop.is_set():
            user_id = f"user-{number % 7}"
            response = api.post(f"/users/{user_id}/actions/sign-in", json={"ipAddress": "203.0.113.7"})
            if response.status_code != 200:
                self.errors.append(response.get_data(as_text=True))
                return
            self.answered.add((user_id, response.get_json()["idempotencyKey"]))
            if number % 5 == 0:
                with self.app.app_context():
                    record_change("cli", "rule.updated", f"r{number}", "rule", tenant_id=self.tenant_id,
                                  after={"name": f"Règle {number}"},
                                  now=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=number))
                    db.session.commit()
            number += 1

    def wait_for(self, count: int) -> None:
        while len(self.answered) < count and not self.errors:
            self.stop.wait(0.01)


def test_a_backup_taken_while_tracks_are_written_restores_into_a_working_instance(on_sqlite, app, app_env, tenant,
                                                                                   tmp_path, monkeypatch):
    # One page a step: the copy spans many steps, with commits landing between them.
    monkeypatch.setattr(backup, "PAGES_PER_STEP", 1)
    writer = Writer(app, tenant.api_key, tenant.id)
    writer.thread.start()
    try:
        writer.wait_for(30)
        before = set(writer.answered)
        result = run_backup(app, str(tmp_path / "copy.db"))
        answered_while_copying = len(writer.answered) - len(before)
        writer.wait_for(len(writer.answered) + 10)
    finally:
        writer.stop.set()
        writer.thread.join(timeout=60)
    during = set(writer.answered)
    assert not writer.errors, writer.errors
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Backed up the database to {tmp_path / 'copy.db'} (")
    assert answered_while_copying > 0  # the server kept committing while the copy was taken

    copy = tmp_path / "copy.db"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db"]  # no partial file left beside it
    with closing(sqlite3.connect(copy)) as check:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

    restored = create_app({**app_env, "DATABASE_URL": f"sqlite:///{copy}",
                           "TOLLGATE_INSTANCE_PATH": str(tmp_path / "instance")})
    try:
        with restored.app_context():
            in_copy = {(row.user_id, row.idempotency_key) for row in db.session.execute(select(UserAction)).scalars()}
        # Everything answered before the backup began is in it; nothing in it was never answered.
        assert before <= in_copy <= during

        api = ApiClient(restored.test_client(), tenant.api_key)
        for user_id, key in in_copy:
            response = api.get(f"/users/{user_id}/actions/sign-in/{key}")
            assert response.status_code == 200 and response.get_json()["idempotencyKey"] == key, response.get_json()
        tracked = api.post("/users/after-restore/actions/sign-in", json={})
        assert tracked.status_code == 200, tracked.get_json()
        key = tracked.get_json()["idempotencyKey"]
        assert api.get(f"/users/after-restore/actions/sign-in/{key}").get_json()["state"] == tracked.get_json()["state"]

        verified = restored.test_cli_runner().invoke(args=["tollgate", "audit", "verify"])
        assert verified.exit_code == 0, verified.output
        assert verified.stdout.startswith(f"{tenant.id}: verified ")
        assert int(verified.stdout.split()[2]) >= len(before) // 5
    finally:
        with restored.app_context():
            db.engine.dispose()


def test_an_existing_file_is_kept_unless_forced(on_sqlite, app, tenant, tmp_path):
    target = tmp_path / "copy.db"
    target.write_text("yesterday's backup")

    refused = run_backup(app, str(target))
    forced = run_backup(app, str(target), "--force")

    assert refused.exit_code == 1 and f"{target} exists; pass --force to replace it." in refused.output
    assert forced.exit_code == 0, forced.output
    with closing(sqlite3.connect(target)) as check:
        assert check.execute("SELECT count(*) FROM tenant").fetchone() == (1,)


def test_the_database_itself_is_never_the_target(on_sqlite, app, app_env):
    refused = run_backup(app, make_url(app_env["DATABASE_URL"]).database)

    assert refused.exit_code == 1 and "is the database itself" in refused.output


def test_postgresql_is_refused_with_the_commands_to_use_instead(tmp_path):
    with pytest.raises(backup.BackupRefused) as refused:
        backup.back_up_sqlite("postgresql+psycopg://tollgate:s3cret@db.internal:5432/tollgate", tmp_path / "x.db")

    lines = refused.value.message.splitlines()
    assert "pg_dump -Fc -f tollgate.dump 'postgresql://tollgate@db.internal:5432/tollgate'" in lines[1]
    assert "pg_restore --clean --if-exists --no-owner -d 'postgresql://tollgate@db.internal:5432/tollgate'" in lines[2]
    assert "s3cret" not in refused.value.message
    assert list(tmp_path.iterdir()) == []


def test_on_postgresql_the_command_names_pg_dump_and_writes_nothing(app, app_env, tmp_path):
    if not app_env["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("the refusal is PostgreSQL's")

    refused = run_backup(app, str(tmp_path / "copy.db"))

    assert refused.exit_code == 1 and "pg_dump -Fc" in refused.output and "pg_restore" in refused.output
    assert list(tmp_path.iterdir()) == []
