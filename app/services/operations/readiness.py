"""Readiness: whether this process can serve, for orchestrators' probes and load balancers.

Ready means the database answers and its schema is at the migration head this code was written
for. A deploy that skipped ``flask db upgrade`` then fails its probe and takes no traffic, instead
of answering requests with errors from a schema it does not know.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from alembic.migration import MigrationContext
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db

log = logging.getLogger("tollgate.readiness")


@dataclass(frozen=True)
class Readiness:
    ready: bool
    problem: str | None = None


def check_readiness(*, expected_heads: frozenset[str]) -> Readiness:
    try:
        with db.engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        # One line, as errors.py logs the API's 503s meanwhile: a probe every few seconds through an
        # outage would otherwise fill the log with one connection-refused traceback each.
        cause = getattr(exc, "orig", None) or exc
        log.warning("readiness: the database does not answer: %s: %s", type(cause).__name__, cause)
        return Readiness(False, "The database does not answer.")
    if current != expected_heads:
        return Readiness(False, "The database schema is not the one this code expects: run `flask db upgrade`.")
    return Readiness(True)
