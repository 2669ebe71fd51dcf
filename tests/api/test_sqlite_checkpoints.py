"""SQLite's WAL checkpoints off the request path (app.sqlite_checkpoints), on real database files."""

import os
import sqlite3
import threading
import time

import pytest
from sqlalchemy import create_engine

from app.extensions import tune_sqlite
from app.sqlite_checkpoints import Checkpointer, checkpoint_in_background

PAGE = 4096


def _database(path, *, autocheckpoint: int) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint}")
    connection.execute("CREATE TABLE IF NOT EXISTS page (id INTEGER PRIMARY KEY, body BLOB)")
    return connection


def _commit_pages(connection: sqlite3.Connection, commits: int) -> None:
    for _ in range(commits):  # each commit: about one page of row, and the table's b-tree above it
        connection.execute("INSERT INTO page (body) VALUES (?)", (os.urandom(PAGE - 200),))


@pytest.fixture
def checkpointer():
    started = []

    def start(path) -> Checkpointer:
        started.append(Checkpointer(str(path)).start())
        return started[-1]

    yield start
    for each in started:
        each.stop()


def test_the_thread_copies_committed_pages_into_the_database_without_a_commit_waiting(tmp_path, checkpointer):
    path = tmp_path / "tollgate.db"
    writer = _database(path, autocheckpoint=0)  # no commit checkpoints: only the thread can copy
    size_before = path.stat().st_size
    _commit_pages(writer, 200)
    assert path.stat().st_size == size_before  # the pages are only in the WAL so far

    checkpointer(path)

    deadline = time.monotonic() + 10
    while path.stat().st_size < size_before + 200 * PAGE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.stat().st_size >= size_before + 200 * PAGE
    assert sqlite3.connect(path).execute("SELECT count(*) FROM page").fetchone() == (200,)


def test_under_steady_writes_the_backstop_lets_the_log_start_over(tmp_path, checkpointer):
    """The starvation an earlier version hit: with the thread alone, the log never rewinds while
    commits keep coming. With the connections' own backstop (a small one here, to keep the test
    short) the WAL file stays a few backstops long while forty times that is written."""
    path = tmp_path / "tollgate.db"
    backstop = 50
    writer = _database(path, autocheckpoint=backstop)
    checkpointer(path)

    _commit_pages(writer, 40 * backstop)

    assert (tmp_path / "tollgate.db-wal").stat().st_size < 8 * backstop * PAGE
    assert writer.execute("SELECT count(*) FROM page").fetchone() == (40 * backstop,)


def test_one_thread_per_process_and_file(tmp_path):
    path = tmp_path / "tollgate.db"
    _database(path, autocheckpoint=0).close()
    first = checkpoint_in_background(str(path))
    try:
        assert checkpoint_in_background(str(tmp_path / "." / "tollgate.db")) is first
    finally:
        first.stop()


def test_a_missing_file_is_never_created_by_the_thread(tmp_path, checkpointer):
    checkpointer(tmp_path / "not-yet.db")
    time.sleep(0.1)
    assert not (tmp_path / "not-yet.db").exists()


def _checkpoint_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "sqlite-checkpoints"]


@pytest.mark.parametrize("background", [True, False])
def test_a_tuned_engine_starts_the_thread_on_its_first_connection_unless_told_not_to(tmp_path, background):
    path = tmp_path / "tollgate.db"
    _database(path, autocheckpoint=0).close()
    before = set(_checkpoint_threads())
    engine = create_engine(f"sqlite:///{path}")
    tune_sqlite(engine, background_checkpoints=background)  # create_app passes `not app.testing`
    with engine.connect(), engine.connect():  # two connections, still one thread
        pass
    engine.dispose()
    started = [thread for thread in _checkpoint_threads() if thread not in before]
    try:
        assert len(started) == (1 if background else 0)
    finally:
        if started:
            checkpoint_in_background(str(path)).stop()
