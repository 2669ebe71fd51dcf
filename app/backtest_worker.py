"""The back-test worker behind ``flask backtests work``: runs queued back-tests, ``jobs`` at a time.

Back-tests replay months of stored actions and burn CPU for a minute or more, so they run here and
never in a web request or beside webhook deliveries. Run one or several workers, anywhere: they
share the queue through the database (a leased claim per run), and a run whose worker died is
resumed by another from its last checkpoint. SIGTERM/SIGINT stop each run in hand at its next
checkpoint and hand it back (its lease released), so another worker resumes it at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from app.config import Settings
from app.extensions import db
from app.services.decisions import backtest_runner
from app.webhook_worker import stop_on_signals

log = logging.getLogger("tollgate.backtests")


def run_backtest_worker(app: Flask, *, settings: Settings, jobs: int = 2, interval: float = 2.0,
                        stop: threading.Event | None = None, echo: Callable[[str], None] = log.info) -> None:
    """Run due back-tests in ``jobs`` threads until ``stop`` is set."""
    stop = stop or stop_on_signals()
    threads = [threading.Thread(target=_work, args=(app, settings, interval, stop, echo), daemon=True,
                                name=f"backtest-{n}") for n in range(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _work(app: Flask, settings: Settings, interval: float, stop: threading.Event, echo: Callable[[str], None]) -> None:
    with app.app_context():
        while not stop.is_set():
            try:
                status = backtest_runner.run_due(settings, stop=stop)
            except SQLAlchemyError as exc:  # the database restarting must not end the worker
                db.session.rollback()
                echo(f"backtests: database error, retrying in {interval}s: {exc}")
                status = None
            finally:
                db.session.remove()
            if status is None:
                stop.wait(interval)
            else:
                echo(f"backtests: a run ended {status}")
