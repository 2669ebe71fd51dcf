"""The velocity statement's generic plan on PostgreSQL: psycopg prepares a statement on the server
after a few executions, and PostgreSQL then plans it once for any values (plan_cache_mode=auto).
That plan must still read each scope through its own index, never the tenant's recent rows."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import make_url, text

from app.domain.signals import SignalPlan
from app.extensions import db
from app.models import UserAction
from app.services.decisions import signals as signal_service
from tests.factories import make_action, rule

FIELDS = ("velocity.user.actionCount.1h", "velocity.user.actionCodeCount.10m",
          "velocity.device.distinctUsers.24h", "velocity.ip.distinctUsers.1h")
PER_SCOPE_INDEXES = {"ix_user_action_per_user", "ix_user_action_tenant_id_device_id_created_at",
                     "ix_user_action_tenant_id_ip_address_created_at"}


def plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def numbered(sql: str) -> tuple[str, int]:
    """psycopg's ``%(name)s`` placeholders as PREPARE's ``$1, $2, ...``, and how many there are."""
    names: list[str] = []

    def number(match: re.Match) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return re.sub(r"%\((\w+)\)s", number, sql), len(names)


def test_the_generic_plan_reads_each_scope_through_its_own_index(app, app_env, tenant, api):
    if make_url(app_env["DATABASE_URL"]).get_backend_name() != "postgresql":
        pytest.skip("a server-side generic plan is PostgreSQL's")
    make_action(app, tenant.id, "withdraw-funds", rules=[rule("Busy", 0, "REVIEW", {">": [{"var": FIELDS[0]}, 30]})])
    assert api.post("/users/u0/actions/withdraw-funds", json={"deviceId": "d0", "ipAddress": "10.0.0.1"}).status_code == 200
    fields = tuple(SignalPlan.from_fields(frozenset(FIELDS)).velocity)
    with app.app_context():
        # Thousands of tracks by many users, devices and addresses, analyzed: what a real tenant's
        # statistics look like, so the planner has an honest choice between indexes.
        columns = [c.name for c in UserAction.__table__.columns if c.name != "id"]
        varied = {"user_id": "'u' || n % 5000", "device_id": "'d' || n % 3000",
                  "ip_address": "'10.1.' || n % 250 || '.' || n % 7", "idempotency_key": "'k' || n",
                  "created_at": "created_at - n * interval '1 second'"}
        db.session.execute(text(
            f"INSERT INTO user_action ({', '.join(columns)}) "
            f"SELECT {', '.join(varied.get(c, c) for c in columns)} FROM user_action, generate_series(1, 20000) AS n"))
        db.session.execute(text("ANALYZE user_action"))
        statement = signal_service._velocity_statement(fields)
        prepared, count = numbered(statement._compile(db.engine.dialect, {}).sql)
        connection = db.session.connection()
        connection.exec_driver_sql(f"PREPARE velocity_generic AS {prepared}")
        try:
            # The plan for any values: which values EXPLAIN is given does not matter.
            connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            (explained,) = connection.exec_driver_sql(
                f"EXPLAIN (FORMAT JSON) EXECUTE velocity_generic({', '.join(['NULL'] * count)})").one()
        finally:
            connection.exec_driver_sql("DEALLOCATE velocity_generic")
        db.session.rollback()
    nodes = list(plan_nodes(explained[0]["Plan"]))
    assert {node["Index Name"] for node in nodes if "Index Name" in node} == PER_SCOPE_INDEXES
    assert not [node for node in nodes if node["Node Type"] == "Seq Scan"]
