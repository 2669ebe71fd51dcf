"""Background WAL checkpoints, on real SQLite files."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from app import sqlite_checkpoints
from app.sqlite_checkpoints import WalCheckpointer, start_background_checkpoints, stop_background_checkpoints


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[tuple[Path, sqlite3.Connection]]:
    """A WAL database file and a connection that never checkpoints itself, so only ours do.

    It stays open: closing the last connection would checkpoint and delete the WAL on its own.
    """
    path = tmp_path / "wal.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA wal_autocheckpoint=0")
        connection.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, body BLOB)")
        yield path, connection


def write_rows(connection: sqlite3.Connection, count: int = 50) -> None:
    with connection:
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO item (body) VALUES (?)", [(os.urandom(1000),)] * count)


def test_checkpoint_once_copies_every_wal_frame_into_the_database(writer):
    path, connection = writer
    write_rows(connection)
    checkpointer = WalCheckpointer(str(path))
    try:
        busy, log_frames, checkpointed = checkpointer.checkpoint_once()
    finally:
        checkpointer.stop()
    assert busy == 0
    assert log_frames > 0
    assert checkpointed == log_frames


def test_the_thread_checkpoints_in_the_background_and_stops(writer):
    path, connection = writer
    checkpointer = WalCheckpointer(str(path), interval=0.01).start()
    try:
        write_rows(connection)
        # In WAL mode only a checkpoint writes to the database file: it is whole once it holds every page.
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        whole = connection.execute("PRAGMA page_count").fetchone()[0] * page_size
        deadline = time.monotonic() + 5
        while path.stat().st_size < whole and time.monotonic() < deadline:
            time.sleep(0.01)
        assert path.stat().st_size == whole
    finally:
        checkpointer.stop()
    assert not checkpointer.running


def test_the_thread_logs_a_failed_checkpoint_and_keeps_going(tmp_path, caplog):
    path = tmp_path / "not-a-database.db"
    path.write_bytes(b"x" * 8192)
    caplog.set_level(logging.ERROR, logger="tollgate.sqlite")
    checkpointer = WalCheckpointer(str(path), interval=0.01).start()
    try:
        deadline = time.monotonic() + 5
        while len(caplog.records) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(caplog.records) >= 2
        assert checkpointer.running
    finally:
        checkpointer.stop()
    assert "file is not a database" in caplog.text


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "postgresql+psycopg://user:pass@localhost/tollgate"])
def test_nothing_to_checkpoint_without_a_sqlite_file(url):
    assert start_background_checkpoints(create_engine(url)) is None


def test_one_checkpointer_per_process_and_file(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    try:
        first = start_background_checkpoints(create_engine(url))
        assert first is not None and first.running
        assert start_background_checkpoints(create_engine(url)) is first
        # A forked gunicorn worker has another pid: it must start its own, not rely on the parent's.
        parent_pid = os.getpid()
        monkeypatch.setattr(sqlite_checkpoints.os, "getpid", lambda: parent_pid + 1)
        in_child = start_background_checkpoints(create_engine(url))
        assert in_child is not first
        stop_background_checkpoints()
        assert not in_child.running and first.running  # the "child" stops only its own
        monkeypatch.undo()
    finally:
        stop_background_checkpoints()
    assert not first.running
