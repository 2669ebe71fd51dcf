"""flask tollgate audit verify / export: the audit log's hash chain, checked and handed out."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from app.domain.audit_chain import Tamper
from app.extensions import db
from app.models import AuditEvent
from app.services.operations.retention import purge_expired
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
    assert result.stderr.startswith(f"{tenant.id}: edited at audit event {edited} (number 2): ")
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


def test_the_chain_is_locked_only_as_a_transaction_commits(app, tenant):
    """A transaction that recorded an event and then waits (for another row's lock, say) holds no
    lock on the chain: another writer chains and commits meanwhile, and the first is chained after it."""
    recorded, other_committed = threading.Event(), threading.Event()

    def slow() -> None:
        with app.app_context():
            record_change("cli", "rule.updated", "slow", "rule", tenant_id=tenant.id)
            recorded.set()
            assert other_committed.wait(timeout=10), "the other writer waited for this transaction"
            db.session.commit()

    def quick() -> None:
        recorded.wait(timeout=10)
        write(app, tenant.id, 1)
        other_committed.set()

    at_once(slow, quick)

    with app.app_context():
        places = db.session.execute(select(AuditEvent.target_id, AuditEvent.chain_seq).order_by(AuditEvent.id)).all()
        assert audit_chain.verify_tenant(tenant.id).ok
    assert [tuple(place) for place in places] == [("r0", 1), ("slow", 2)]


def test_an_event_rolled_back_takes_no_place(app, tenant):
    with app.app_context():
        record_change("cli", "rule.updated", "gone", "rule", tenant_id=tenant.id)
        db.session.rollback()
    write(app, tenant.id, 1)

    with app.app_context():
        places = db.session.execute(select(AuditEvent.target_id, AuditEvent.chain_seq)).all()
        assert audit_chain.verify_tenant(tenant.id).ok
    assert [tuple(place) for place in places] == [("r0", 1)]


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


@pytest.fixture
def audit_retention(override_settings):
    return override_settings(audit_retention_days=30)


def purge(app, *, now: datetime, batch: int = 1000):
    with app.app_context():
        return purge_expired(settings=app.config["TOLLGATE"], now=now, batch=batch)


def test_a_purge_leaves_a_checkpoint_the_remaining_chain_verifies_from(app, tenant, audit_retention):
    write(app, tenant.id, 5)  # an hour apart from START
    with app.app_context():
        third = db.session.execute(select(AuditEvent).where(AuditEvent.chain_seq == 3)).scalar_one()

    report = purge(app, now=START + timedelta(days=30, hours=2, minutes=30))  # the first three are past 30 days

    with app.app_context():
        left = db.session.execute(select(AuditEvent.chain_seq, AuditEvent.event, AuditEvent.after)
                                  .order_by(AuditEvent.chain_seq)).all()
        status = audit_chain.verify_tenant(tenant.id)
    assert report.audit_events == 3
    assert [(seq, event) for seq, event, _ in left] == [(4, "rule.updated"), (5, "rule.updated"), (6, "audit.purged")]
    assert left[-1].after == {"purgedEvents": 3, "lastPurgedSeq": 3, "lastPurgedChainHash": third.chain_hash}
    assert (status.ok, status.report.verified) == (True, 3)
    assert verify(app).exit_code == 0


def test_a_purge_in_batches_verifies_after_every_commit_and_still_shows_tampering(app, tenant, audit_retention):
    write(app, tenant.id, 6)

    report = purge(app, now=START + timedelta(days=40), batch=2)

    with app.app_context():
        events = db.session.execute(select(AuditEvent.event).order_by(AuditEvent.chain_seq)).scalars().all()
        assert (report.audit_events, events) == (6, ["audit.purged"] * 3)
        assert audit_chain.verify_tenant(tenant.id).ok
    tamper(app, delete(AuditEvent).where(AuditEvent.id == entry_id(app, tenant.id, 7)))
    with app.app_context():
        problem = audit_chain.verify_tenant(tenant.id).report.problem
    assert (problem.entry.seq, problem.kind) == (8, Tamper.DELETED)


def test_a_purge_keeps_the_chain_whole_when_events_were_written_out_of_time_order(app, tenant, audit_retention):
    write(app, tenant.id, 1, start=0)
    write(app, tenant.id, 1, start=24 * 60)  # sixty days later, second in the chain
    write(app, tenant.id, 1, start=1)  # an old time, third: kept, with everything after the kept one

    report = purge(app, now=START + timedelta(days=45))

    with app.app_context():
        kept = db.session.execute(select(AuditEvent.chain_seq).order_by(AuditEvent.chain_seq)).scalars().all()
        assert audit_chain.verify_tenant(tenant.id).ok
    assert (report.audit_events, kept) == (1, [2, 3, 4])
