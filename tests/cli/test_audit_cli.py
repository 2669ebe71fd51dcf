"""flask tollgate audit verify / export: the audit log's hash chain, checked and handed out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from app.domain.audit_chain import Tamper
from app.extensions import db
from app.models import AuditEvent
from app.services.tenancy import audit_chain
from app.services.tenancy.audit import record_change
from tests.concurrency import at_once
from tests.factories import add_tenant_with_key

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def write(app, tenant_id: str, count: int, *, start: int = 0) -> None:
    with app.app_context():
        for number in range(start, start + count):
            record_change("cli", "rule.updated", f"r{number}", "rule", tenant_id=tenant_id,
                          after={"name": f"Règle {number}"}, now=START + timedelta(hours=number))
            db.session.commit()


def entry_id(app, tenant_id: str, seq: int) -> int:
    with app.app_context():
        return db.session.execute(select(AuditEvent.id).where(AuditEvent.tenant_id == tenant_id,
                                                              AuditEvent.chain_seq == seq)).scalar_one()


def tamper(app, statement) -> None:
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


def verify(app, *args):
    return app.test_cli_runner().invoke(args=["tollgate", "audit", "verify", *args])


def test_an_untouched_log_verifies_up_to_its_newest_event(app, tenant):
    write(app, tenant.id, 3)

    result = verify(app)

    assert (result.exit_code, result.stdout) == (0, f"{tenant.id}: verified 3 events up to 2026-11-01T11:00:00+00:00\n")


def test_an_edited_event_is_named_and_fails_the_command(app, tenant):
    write(app, tenant.id, 4)
    edited = entry_id(app, tenant.id, 2)
    tamper(app, update(AuditEvent).where(AuditEvent.id == edited).values(actor_email="someone-else@example.com"))

    result = verify(app)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"{tenant.id}: audit event {edited} (number 2) was edited: ")
    assert "1 events verified before it, up to 2026-11-01T09:00:00+00:00" in result.stderr


def test_a_deleted_event_is_named(app, tenant):
    write(app, tenant.id, 4)
    tamper(app, delete(AuditEvent).where(AuditEvent.id == entry_id(app, tenant.id, 2)))

    with app.app_context():
        problem = audit_chain.verify_tenant(tenant.id).report.problem
    assert (problem.entry.seq, problem.kind) == (3, Tamper.DELETED)


def test_deleting_the_newest_event_shows_against_the_chain_head(app, tenant):
    write(app, tenant.id, 3)
    tamper(app, delete(AuditEvent).where(AuditEvent.id == entry_id(app, tenant.id, 3)))

    with app.app_context():
        problem = audit_chain.verify_tenant(tenant.id).report.problem
    assert (problem.entry.seq, problem.kind) == (2, Tamper.DELETED)


def test_reordered_events_are_named(app, tenant):
    write(app, tenant.id, 4)
    second, third = entry_id(app, tenant.id, 2), entry_id(app, tenant.id, 3)
    tamper(app, update(AuditEvent).where(AuditEvent.id == second).values(chain_seq=-3))
    tamper(app, update(AuditEvent).where(AuditEvent.id == third).values(chain_seq=2))
    tamper(app, update(AuditEvent).where(AuditEvent.id == second).values(chain_seq=3))

    with app.app_context():
        problem = audit_chain.verify_tenant(tenant.id).report.problem
    assert (problem.entry.id, problem.kind) == (third, Tamper.REORDERED)


def test_only_the_named_tenant_is_walked(app, tenant):
    other, _ = add_tenant_with_key(app, "Other")
    write(app, tenant.id, 2)
    write(app, other, 1)
    tamper(app, update(AuditEvent).where(AuditEvent.tenant_id == tenant.id).values(target_id="x"))

    assert verify(app, "--tenant", other).exit_code == 0
    result = verify(app)
    assert result.exit_code == 1 and f"{other}: verified 1 events" in result.stdout


def test_writers_at_once_never_give_two_events_one_place(app, tenant):
    """Eight writers (threads with their own connections; on PostgreSQL, as two instances would be)
    append at once: the tenant's head row lock queues them, and the chain verifies."""
    at_once(*[lambda start=start: write(app, tenant.id, 5, start=start * 5) for start in range(8)])

    with app.app_context():
        places = db.session.execute(select(AuditEvent.chain_seq).where(AuditEvent.tenant_id == tenant.id)
                                    .order_by(AuditEvent.id)).scalars().all()
        status = audit_chain.verify_tenant(tenant.id)
    assert places == list(range(1, 41))  # in id order too: appended while holding the lock
    assert (status.ok, status.report.verified) == (True, 40)


def test_export_writes_one_event_a_line_with_its_hashes(app, tenant):
    write(app, tenant.id, 3)

    result = app.test_cli_runner().invoke(args=["tollgate", "audit", "export", "--since", "2026-11-01T10:00:00"])

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(line["seq"], line["targetId"], line["after"]) for line in lines] == [
        (2, "r1", {"name": "Règle 1"}), (3, "r2", {"name": "Règle 2"})]
    with app.app_context():
        stored = db.session.execute(select(AuditEvent).where(AuditEvent.chain_seq == 3)).scalar_one()
    assert (lines[-1]["chainHash"], lines[-1]["contentDigest"], lines[-1]["tenantId"]) == (
        stored.chain_hash, stored.content_digest, tenant.id)


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01"])
def test_export_refuses_a_time_it_cannot_read(app, tenant, since):
    result = app.test_cli_runner().invoke(args=["tollgate", "audit", "export", "--since", since])

    assert result.exit_code == 2 and "--since" in result.output


def test_the_bounded_check_resumes_where_it_stopped(app, tenant):
    write(app, tenant.id, 5)

    with app.app_context():
        first = audit_chain.check_new_entries(tenant.id, limit=3)
        second = audit_chain.check_new_entries(tenant.id, limit=3)
        count = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    assert (first.ok, first.report.verified, first.unchecked) == (True, 3, 2)
    assert (second.ok, second.report.verified, second.unchecked) == (True, 2, 0)
    assert second.verified_until == START + timedelta(hours=4) and count == 5
