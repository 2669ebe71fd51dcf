"""What SQLite's planner makes of the queries the (tenant_id, state, created_at) index serves. The
index leaves ALLOW out, and SQLite reads a partial index only for a WHERE that holds the index's own
term (UserAction.in_state adds it): without it these queries would walk every action of the tenant."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.domain.decision import ActionState
from app.extensions import db
from app.models.base import utcnow
from app.services.console.activity import ActivityFilters, list_activity
from app.services.reviews import queue
from tests.sql_statements import statements

STATE_INDEX = "ix_user_action_tenant_id_state_created_at"
TIME_INDEX = "ix_user_action_tenant_id_created_at"


@pytest.fixture
def plan_of(app) -> Callable[[Callable[[], object]], list[str]]:
    """The steps of SQLite's plan for the one user_action query a piece of work runs."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's planner (PostgreSQL's choice rests on its statistics)")

    def plan(work: Callable[[], object]) -> list[str]:
        with statements(app) as seen, app.app_context():
            work()
        [query] = [statement for statement in seen if "FROM user_action" in statement]
        with app.app_context():
            # The values do not matter: the index's term is a literal in the query itself.
            rows = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {query}",
                                                           (None,) * query.count("?")).all()
        return [detail for *_, detail in rows]

    return plan


def test_the_review_queue_is_a_range_of_the_state_index_in_its_order(plan_of, tenant):
    plan = plan_of(lambda: queue.list_queue(tenant.id, viewer_id=None, now=utcnow()))

    assert f"SEARCH user_action USING INDEX {STATE_INDEX} (tenant_id=? AND state=?)" in plan
    assert not any("TEMP B-TREE" in step for step in plan)  # the index gives the order: no sort


def test_the_cases_waiting_are_counted_from_the_index_alone(plan_of, tenant):
    plan = plan_of(lambda: queue.count_pending(tenant.id))

    assert plan == [f"SEARCH user_action USING COVERING INDEX {STATE_INDEX} (tenant_id=? AND state=?)"]


def test_activity_in_one_state_reads_that_state_newest_first(plan_of, tenant):
    plan = plan_of(lambda: list_activity(tenant.id, ActivityFilters(state=ActionState.CHALLENGE_FAILED)))

    assert plan == [f"SEARCH user_action USING INDEX {STATE_INDEX} (tenant_id=? AND state=?)"]


def test_activity_allowed_walks_the_tenants_actions_newest_first(plan_of, tenant):
    # Most actions are ALLOW, so a page of them is found among the newest few of the tenant's.
    plan = plan_of(lambda: list_activity(tenant.id, ActivityFilters(state=ActionState.ALLOW)))

    assert plan == [f"SEARCH user_action USING INDEX {TIME_INDEX} (tenant_id=?)"]
