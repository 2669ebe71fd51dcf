"""An online copy of a SQLite database, safe while the server writes to it.

SQLite's backup API copies page by page. Between steps it sleeps, so the server's writers keep
their share of the disk, and it keeps one read transaction open from the first page to the last:
in WAL mode (which Tollgate sets on every connection) that is a snapshot writers do not wait for,
so the copy is the database as it was at one instant instead of restarting at every commit. The
copy is written beside the target and renamed into place only once complete, so a crash or a full
disk never leaves a half-written file under the name an operator restores from.

PostgreSQL has its own tools for this; the refusal names them.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from app.domain.errors import DomainError

PAGES_PER_STEP = 1024  # 4 MiB at SQLite's default page size
PAUSE_BETWEEN_STEPS = 0.005  # seconds


class BackupRefused(DomainError, code="backup_refused"):
    pass


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int  # bytes
    seconds: float


def back_up_sqlite(database_url: str, target: Path, *, force: bool = False) -> BackupReport:
    """Copy the SQLite database at ``database_url`` to ``target``; an existing ``target`` only with ``force``."""
    source = _sqlite_path(database_url)
    target = target.expanduser().resolve()
    if target == source:
        raise BackupRefused(f"{target} is the database itself; back it up to another file.")
    if not target.parent.is_dir():
        raise BackupRefused(f"{target.parent} is not a directory.")
    if target.exists() and not force:
        raise BackupRefused(f"{target} exists; pass --force to replace it.")

    started = time.monotonic()
    descriptor, partial_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(descriptor)
    partial = Path(partial_name)
    try:
        _copy(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _sync_directory(target.parent)  # the rename itself survives a power cut
    return BackupReport(path=target, size=target.stat().st_size, seconds=time.monotonic() - started)


def _sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(_postgresql_advice(database_url))
    path = Path(url.database or "")
    if not url.database or not path.is_file():
        raise BackupRefused(f"There is no SQLite database at {path}.")
    return path.resolve()


def _postgresql_advice(database_url: str) -> str:
    # libpq spells the URL without SQLAlchemy's driver; the password stays out of the terminal
    # (pg_dump reads PGPASSWORD or ~/.pgpass).
    given = make_url(database_url)
    url = URL.create("postgresql", username=given.username, host=given.host, port=given.port,
                     database=given.database, query=given.query).render_as_string(hide_password=False)
    return ("`flask tollgate backup` copies SQLite databases; this one is PostgreSQL. Use its own tools:\n"
            f"  back up:  pg_dump -Fc -f tollgate.dump '{url}'\n"
            f"  restore:  pg_restore --clean --if-exists --no-owner -d '{url}' tollgate.dump\n"
            "(pg_dump takes a consistent snapshot while Tollgate serves; stop Tollgate before pg_restore.)")


def _copy(source: Path, partial: Path) -> None:
    reader = sqlite3.connect(source, isolation_level=None)
    writer = sqlite3.connect(partial)
    try:
        reader.execute("PRAGMA busy_timeout = 30000")
        if reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            # The read transaction starts at its first read: from then on every step sees this snapshot.
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
        # sqlite3 sleeps only when a step finds the database busy; the pause after every step is ours.
        reader.backup(writer, pages=PAGES_PER_STEP, progress=_pause, sleep=PAUSE_BETWEEN_STEPS)
        if reader.in_transaction:
            reader.execute("COMMIT")
    finally:
        writer.close()
        reader.close()
    with partial.open("rb") as written:
        os.fsync(written.fileno())


def _pause(_status: int, _remaining: int, _total: int) -> None:
    time.sleep(PAUSE_BETWEEN_STEPS)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
