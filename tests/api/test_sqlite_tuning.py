"""What every SQLite connection is set up with (PostgreSQL needs none of it)."""

import time

import pytest
from sqlalchemy import create_engine, text

from app import wal_checkpointer
from app.extensions import db, tune_sqlite


@pytest.fixture
def sqlite_connection(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite connection settings")
        with db.engine.connect() as connection:
            yield connection


@pytest.mark.parametrize(("pragma", "expected"), [
    ("foreign_keys", 1),  # ON DELETE CASCADE depends on it
    ("journal_mode", "wal"),  # readers work while one writer commits
    ("synchronous", 1),  # NORMAL: with WAL, no fsync per commit (a power cut may lose the last commits)
    ("wal_autocheckpoint", wal_checkpointer.BACKSTOP_PAGES),  # requests leave checkpoints to the thread
])
def test_each_connection_is_tuned(sqlite_connection, pragma, expected):
    assert sqlite_connection.execute(text(f"PRAGMA {pragma}")).scalar() == expected


def test_checkpoints_run_in_the_background(tmp_path):
    """A commit far below the backstop leaves its pages in the WAL; the process's checkpointer thread
    copies them into the database file soon after (the file grows by them)."""
    path = tmp_path / "checkpointed.db"
    engine = create_engine(f"sqlite:///{path}")
    tune_sqlite(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE blob (data BLOB)"))
    size_before = _settled_size(path)

    with engine.begin() as connection:  # ~2 MB: ~500 pages, an eighth of the backstop
        connection.execute(text("INSERT INTO blob VALUES (randomblob(2000000))"))
    checkpointed = _settled_size(path)
    engine.dispose()

    assert checkpointed > size_before + 1_900_000


def _settled_size(path, seconds: float = 5.0) -> int:
    """The database file's size once the checkpointer has been by (it grows as pages are copied)."""
    deadline = time.monotonic() + seconds
    size = path.stat().st_size
    while time.monotonic() < deadline:
        time.sleep(wal_checkpointer.INTERVAL_SECONDS * 3)
        now = path.stat().st_size
        if now == size and now > 0:
            return now
        size = now
    return size
