"""What every SQLite connection is set up with (PostgreSQL needs none of it)."""

import pytest
from sqlalchemy import text

from app.extensions import db
from app.sqlite_checkpoints import BACKSTOP_PAGES


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
    ("wal_autocheckpoint", BACKSTOP_PAGES),  # the backstop behind app.sqlite_checkpoints' thread
])
def test_each_connection_is_tuned(sqlite_connection, pragma, expected):
    assert sqlite_connection.execute(text(f"PRAGMA {pragma}")).scalar() == expected
