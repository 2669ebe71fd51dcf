"""Runs kept per action, back-tests and shadows alike: one page of an action's, newest first, and
one by id, found only within its tenant and action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select

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
