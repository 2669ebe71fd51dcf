"""WAL checkpoints for a SQLite database file, run by a background thread instead of by requests.

SQLite's automatic checkpoint runs inside whichever COMMIT pushes the WAL past its threshold, and it
fsyncs there: a commit that costs ~0.19 ms at p50 cost 19 ms at p99 because of it. One daemon thread
per process and database file checkpoints every second on its own connection instead. PASSIVE mode
never waits for readers or writers (it copies what it can, and returns if another checkpoint runs),
so the thread cannot slow a request down. ``tune_sqlite`` keeps a far-off ``wal_autocheckpoint`` as
the backstop in case this thread is absent or falls behind.
"""

from __future__ import annotations

import atexit
import logging
import os
import sqlite3
import threading

from sqlalchemy.engine import Engine

log = logging.getLogger("tollgate.sqlite")


class WalCheckpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` on the database file at ``path`` every ``interval`` seconds."""

    def __init__(self, path: str, *, interval: float = 1.0):
        self.path = path
        self.interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpointer", daemon=True)
        # Its own connection, outside SQLAlchemy's pool, so no request connection ever does the work.
        # Shared with the thread but never used by both at once: stop() joins the thread before closing.
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def checkpoint_once(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, frames in the WAL, frames copied into the database)."""
        return tuple(self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())

    def start(self) -> WalCheckpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.ident is not None:  # started
            self._thread.join()
        self._connection.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.checkpoint_once()
            except Exception:  # e.g. the file briefly locked: the next tick retries, a dead thread never would
                log.exception("WAL checkpoint of %s failed; retrying in %s s", self.path, self.interval)


_running: dict[tuple[int, str], WalCheckpointer] = {}
_running_lock = threading.Lock()


def start_background_checkpoints(engine: Engine, *, interval: float = 1.0) -> WalCheckpointer | None:
    """The process's checkpointer for the engine's SQLite file, started on first call; None when the
    engine is not SQLite on a file (in-memory databases and PostgreSQL have no WAL file to checkpoint).

    Keyed by process id as well: a forked child (a gunicorn worker) inherits the registry but not the
    thread, so it starts its own rather than trusting the parent's.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    path = os.path.realpath(database)
    with _running_lock:
        key = (os.getpid(), path)
        if key not in _running:
            _running[key] = WalCheckpointer(path, interval=interval).start()
        return _running[key]


@atexit.register
def stop_background_checkpoints() -> None:
    """Stop this process's checkpointers; a parent's, inherited through fork, are not ours to close."""
    with _running_lock:
        for key in [key for key in _running if key[0] == os.getpid()]:
            _running.pop(key).stop()
