"""SQLite's WAL checkpoints, done by a background thread so that requests seldom wait for one.

In WAL mode a commit appends its pages to the ``-wal`` file, and a checkpoint copies them back into
the database and fsyncs both files. SQLite runs that checkpoint inside the commit that pushes the
log past ``wal_autocheckpoint``, so one request in every few dozen tracks waited for the copy and
the disk (~5 ms at 250 pages, bench/track.py). Here one daemon thread per process and database file
runs PASSIVE checkpoints (they never wait for, nor block, a reader or a writer) while commits keep
coming, and backs off while none do. Several processes may each run one; a thread that finds
another checkpoint running just tries again on its next turn.

The connections keep SQLite's automatic checkpoint, at ``BACKSTOP_PAGES``, because it is what lets
the log start over: SQLite rewinds the WAL only for a writer that begins after every frame is
copied, and under steady writes a checkpoint from another connection always ends a few frames
behind the newest commit (checkpoint starvation: an earlier attempt with this thread alone let the
WAL grow without bound, commit af9d48c). When a commit crosses the backstop, this thread has already
copied all but the last few frames, so that commit's own checkpoint is short and complete and the
log rewinds. tests/api/test_sqlite_checkpoints.py pins both halves.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from dataclasses import dataclass, field
from urllib.parse import quote

# The automatic checkpoint each connection keeps (tune_sqlite): ~4 MB of WAL with 4 KB pages.
BACKSTOP_PAGES = 1000
# How long the thread waits between checkpoints: the shortest while commits arrive (at ~1,000
# tracks/s of ~10 pages each, ~100 frames gather in that time), doubling up to the longest while
# the log is idle.
SHORTEST_WAIT_SECONDS = 0.01
LONGEST_WAIT_SECONDS = 0.5

log = logging.getLogger(__name__)
_started: dict[tuple[int, str], Checkpointer] = {}  # (process id, file): a forked child starts its own
_lock = threading.Lock()


@dataclass
class Checkpointer:
    """The thread for one database file in this process; ``stop`` ends it (tests, shutdown)."""

    database: str
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Checkpointer:
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with _lock:
            if _started.get((os.getpid(), self.database)) is self:
                del _started[(os.getpid(), self.database)]

    def _run(self) -> None:
        connection = None
        wait, frames_before = SHORTEST_WAIT_SECONDS, -1
        # An Event's wait, not time.sleep: a test that patches sleep must not see this thread.
        while not self._stopping.wait(wait):
            try:
                if connection is None:  # read-write, never create: migrations make the file
                    connection = sqlite3.connect(f"file:{quote(self.database)}?mode=rw", uri=True, timeout=0,
                                                 isolation_level=None, check_same_thread=False)
                    # A checkpoint fsyncs per the connection's setting: the same as the app's (never OFF).
                    connection.execute("PRAGMA synchronous=NORMAL")
                _busy, frames, _copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as error:  # no file yet, or not a database the thread can open
                log.debug("WAL checkpoint skipped: %s", error)
                frames = frames_before
            # New frames since the last turn (or a rewound log): commits are arriving, come back soon.
            wait = SHORTEST_WAIT_SECONDS if frames != frames_before else min(wait * 2, LONGEST_WAIT_SECONDS)
            frames_before = frames
        if connection is not None:
            connection.close()


def checkpoint_in_background(database: str) -> Checkpointer:
    """Start (once per process) the thread that checkpoints ``database``, a file path."""
    key = (os.getpid(), os.path.abspath(database))
    with _lock:
        if key not in _started:
            _started[key] = Checkpointer(key[1]).start()
        return _started[key]
