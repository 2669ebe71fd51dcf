"""SQLite's WAL checkpoints, off the request path.

With WAL, each commit appends pages to the ``-wal`` file and SQLite copies them back into the
database (a checkpoint, with an fsync) whenever a commit crosses ``wal_autocheckpoint`` pages; the
request that made that commit waits for it. Profiled under bench/track.py, one commit in eight did
so and spent three quarters of all commit time there, and those commits were the p99.

So each process that uses the database runs one background thread that checkpoints every
``INTERVAL_SECONDS`` (``PASSIVE``: it never waits for, or blocks, a reader or a writer), and
connections keep an automatic checkpoint only as a backstop far above what the thread leaves
behind, for a process whose thread has not run yet (a short CLI command) or falls behind. The
thread uses a plain ``sqlite3`` connection of its own: it is not the app's work, and statement
counts of the app's engine do not see it. Several processes may each run one; the one that does
not get the checkpoint lock simply skips that turn.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from urllib.parse import quote

INTERVAL_SECONDS = 0.2
# The backstop: ~16 MB of WAL (4 KB pages), far more than a busy box writes in an interval.
BACKSTOP_PAGES = 4000

log = logging.getLogger(__name__)
_running: set[tuple[int, str]] = set()  # (process id, database file): a forked child starts its own
_lock = threading.Lock()


def start(database: str) -> None:
    """Checkpoint ``database`` (a file path) in the background, once per process."""
    key = (os.getpid(), os.path.abspath(database))
    with _lock:
        if key in _running:
            return
        _running.add(key)
    threading.Thread(target=_checkpoint_forever, args=(key[1],), name="wal-checkpointer", daemon=True).start()


def _checkpoint_forever(database: str) -> None:
    connection = None
    # An Event's wait, not time.sleep: a process that patches or interrupts sleep (a test, a CLI loop)
    # must not see this thread.
    pause = threading.Event()
    while True:
        pause.wait(INTERVAL_SECONDS)
        try:
            if connection is None:  # read-write, never create: the app makes the file (migrations)
                connection = sqlite3.connect(f"file:{quote(database)}?mode=rw", uri=True, timeout=0,
                                             isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as error:  # busy (another process checkpoints), or no file yet
            log.debug("WAL checkpoint skipped: %s", error)
