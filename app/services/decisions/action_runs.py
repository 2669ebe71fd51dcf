"""Runs kept per action, back-tests and shadows alike: one page of an action's, newest first, one
by id, found only within its tenant and action, and a page of the stored actions a run decides
differently."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select

from app.domain.errors import NotFound
from app.extensions import db
from app.services.rulesets.rules import get_action_configuration

RUNS_PAGE = 20
Run = TypeVar("Run")


@dataclass(frozen=True)
class RunsPage:
    runs: list[Any]
    page: int
    has_more: bool


def runs_page(model: type, newest_first: Any, tenant_id: str, code: str, *, page: int = 1) -> RunsPage:
    """``newest_first``: the column the runs are listed by, newest first."""
    config = get_action_configuration(tenant_id, code)
    page = max(page, 1)
    rows = list(db.session.execute(
        select(model).where(model.action_configuration_id == config.id)
        .order_by(newest_first.desc(), model.id).offset((page - 1) * RUNS_PAGE).limit(RUNS_PAGE + 1)
    ).scalars())
    return RunsPage(rows[:RUNS_PAGE], page, len(rows) > RUNS_PAGE)


def find_run(model: type[Run], tenant_id: str, code: str, run_id: str, *, kind: str) -> Run:
    """``kind`` names the run in the 404 ("back-test", "shadow")."""
    config = get_action_configuration(tenant_id, code)
    run = db.session.get(model, run_id)
    if run is None or run.tenant_id != tenant_id or run.action_configuration_id != config.id:
        raise NotFound(f"No {kind} {run_id} of '{code}' exists.", code=f"{kind.replace('-', '')}_not_found")
    return run


@dataclass(frozen=True)
class ChangedAction:
    """A stored action the run decides differently; each kind of run adds the two verdicts."""

    action_id: int
    created_at: datetime
    user_id: str


Change = TypeVar("Change", bound=ChangedAction)


@dataclass(frozen=True)
class ChangesPage(Generic[Change]):
    rows: list[Change]
    next_after: int | None  # the last row's key: the next page starts after it


def changes_page(query: Select, key: Any, row: type[Change], *, after: int | None, limit: int,
                 newest_first: bool) -> ChangesPage[Change]:
    """One page of ``query``, keyset-paged on ``key``: the rows' id, selected first, before the
    columns of ``row`` in its order."""
    query = query.order_by(key.desc() if newest_first else key).limit(limit + 1)
    if after is not None:
        query = query.where(key < after if newest_first else key > after)
    rows = db.session.execute(query).all()
    return ChangesPage([row(*values[1:]) for values in rows[:limit]], rows[limit - 1][0] if len(rows) > limit else None)
