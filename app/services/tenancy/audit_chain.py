"""The audit trail's hash chain in the database: appending under the tenant's head lock, walking a
tenant's chain to verify it, and exporting entries with their hashes.

``record_change`` queues an event; just before the transaction commits, its events are chained:
appends are serialised per tenant by locking its ``audit_chain_head`` row (PostgreSQL: SELECT … FOR
UPDATE; SQLite: the upsert before it takes the database's write lock), and the events are flushed
while the lock is held, so ids grow with the sequence numbers across every instance.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.audit_chain import (
    GENESIS,
    Anchor,
    ChainEntry,
    ChainReport,
    audit_content,
    chain_hash,
    content_digest,
    verify_chain,
)
from app.extensions import db, upsert
from app.models import AuditChainHead, AuditEvent, Tenant

ERASURE_EVENT = "end_user.erased"
REDACTED_KEY = "redactedAuditEvents"  # in an erasure's entry: the ids of the entries it redacted
CHECKPOINT_EVENT = "audit.purged"
BATCH = 1000
PAGE_CHECK_LIMIT = 10_000  # entries the console's audit page verifies per view


def content_of(event: AuditEvent) -> dict[str, Any]:
    return audit_content(event=event.event, actor=event.actor_email, occurred_at=event.occurred_at,
                         target_type=event.target_type, target_id=event.target_id,
                         before=event.before, after=event.after)


_PENDING = "audit_chain.pending"  # Session.info key: events recorded in this transaction, not yet chained


def append(event: AuditEvent) -> None:
    """Have ``event`` chained and written when the session commits."""
    db.session.info.setdefault(_PENDING, []).append(event)


@sa_event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    """Give the transaction's events their places as the last thing before its commit: the head lock
    is then held for a moment, and never while waiting for another row's lock (a bulk decision
    locking case after case would otherwise deadlock against a reviewer deciding one of them)."""
    pending: list[AuditEvent] = session.info.pop(_PENDING, [])
    if not pending:
        return
    heads = {}
    for tenant_id in sorted({event.tenant_id for event in pending}):  # one order, so two tenants never deadlock
        session.execute(upsert(AuditChainHead).values(tenant_id=tenant_id, seq=0, chain_hash=GENESIS, verified_seq=0,
                                                      verified_hash=GENESIS)
                        .on_conflict_do_nothing(index_elements=["tenant_id"]))
        heads[tenant_id] = session.execute(
            select(AuditChainHead).where(AuditChainHead.tenant_id == tenant_id)
            .with_for_update().execution_options(populate_existing=True)
        ).scalar_one()
    for event in pending:
        head = heads[event.tenant_id]
        event.chain_seq = head.seq + 1
        event.content_digest = content_digest(content_of(event))
        event.chain_hash = chain_hash(head.chain_hash, event.chain_seq, event.content_digest)
        head.seq, head.chain_hash = event.chain_seq, event.chain_hash
        session.add(event)
    session.flush()  # ids are given here, under the lock, so they grow with the places


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_rolled_back(session: Session, transaction) -> None:
    if transaction.parent is None:  # what a rollback (or a close) leaves is not recorded
        session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class ChainStatus:
    tenant_id: str
    report: ChainReport
    verified_until: datetime | None  # when the last verified entry was written
    unchecked: int = 0  # newer entries a bounded check left for next time

    @property
    def ok(self) -> bool:
        return self.report.ok


def tenant_ids() -> list[str]:
    return list(db.session.execute(select(Tenant.id).order_by(Tenant.id)).scalars())


def verify_tenant(tenant_id: str) -> ChainStatus:
    """Walk the tenant's whole chain, from its start or the last purge's checkpoint."""
    head, start = _head(tenant_id), _purge_anchor(tenant_id)
    with _entries(tenant_id, after_seq=start.seq) as entries:
        report = verify_chain(entries, anchor=start, head=Anchor(head.seq, head.chain_hash) if head else None,
                              redacted=_redactions(tenant_id))
    return ChainStatus(tenant_id, report, _written_at(tenant_id, report.last.seq if report.last else start.seq))


def check_new_entries(tenant_id: str, *, limit: int = PAGE_CHECK_LIMIT) -> ChainStatus:
    """Verify what was written since the last check (at most ``limit`` entries) and remember how far
    it got: bounded work for the console's page. Commits. Entries verified before are trusted here;
    ``verify_tenant`` walks them all again."""
    head = _head(tenant_id)
    if head is None:
        return ChainStatus(tenant_id, ChainReport(verified=0, last=None, problem=None), None)
    purged = _purge_anchor(tenant_id)
    start = Anchor(head.verified_seq, head.verified_hash) if head.verified_seq > purged.seq else purged
    unchecked = max(head.seq - start.seq - limit, 0)
    with _entries(tenant_id, after_seq=start.seq, limit=limit) as entries:
        report = verify_chain(entries, anchor=start, head=None if unchecked else Anchor(head.seq, head.chain_hash),
                              redacted=_redactions(tenant_id), to_the_end=not unchecked)
    if report.ok and report.last is not None:
        head.verified_seq, head.verified_hash = report.last.seq, report.last.chain_hash
        db.session.commit()
    until = _written_at(tenant_id, report.last.seq if report.last else start.seq)
    return ChainStatus(tenant_id, report, until, unchecked=unchecked)


def export_events(*, since: datetime, tenant_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Entries written at or after ``since``, in chain order per tenant, each with its hashes."""
    query = select(AuditEvent).where(AuditEvent.occurred_at >= since)
    if tenant_id is not None:
        query = query.where(AuditEvent.tenant_id == tenant_id)
    rows = db.session.execute(query.order_by(AuditEvent.tenant_id, AuditEvent.chain_seq)
                              .execution_options(yield_per=BATCH)).scalars()
    try:
        for row in rows:
            yield {"id": row.id, "tenantId": row.tenant_id, "seq": row.chain_seq, **content_of(row),
                   "contentDigest": row.content_digest, "chainHash": row.chain_hash}
    finally:
        rows.close()


def checkpoint_content(*, purged: int, last_seq: int, last_hash: str) -> dict[str, Any]:
    """What a purge's checkpoint entry records: where the remaining chain resumes."""
    return {"purgedEvents": purged, "lastPurgedSeq": last_seq, "lastPurgedChainHash": last_hash}


def _head(tenant_id: str) -> AuditChainHead | None:
    return db.session.get(AuditChainHead, tenant_id)


@contextmanager
def _entries(tenant_id: str, *, after_seq: int, limit: int | None = None) -> Iterator[Iterator[ChainEntry]]:
    """The entries in chain order, read in batches; closed however far the walk got (on PostgreSQL
    a server-side cursor)."""
    query = (select(AuditEvent).where(AuditEvent.tenant_id == tenant_id, AuditEvent.chain_seq > after_seq)
             .order_by(AuditEvent.chain_seq))
    if limit is not None:
        query = query.limit(limit)
    rows = db.session.execute(query.execution_options(yield_per=BATCH)).scalars()
    try:
        yield (ChainEntry(id=row.id, seq=row.chain_seq, content=content_of(row), content_digest=row.content_digest,
                          chain_hash=row.chain_hash) for row in rows)
    finally:
        rows.close()


def _redactions(tenant_id: str) -> dict[int, int]:
    """Entry id → the sequence number of the erasure entry that redacted it."""
    claims: dict[int, int] = {}
    erasures = db.session.execute(
        select(AuditEvent.chain_seq, AuditEvent.after)
        .where(AuditEvent.tenant_id == tenant_id, AuditEvent.event == ERASURE_EVENT).order_by(AuditEvent.chain_seq)
    )
    for seq, after in erasures:
        for entry_id in (after or {}).get(REDACTED_KEY, []):
            claims.setdefault(entry_id, seq)
    return claims


def _purge_anchor(tenant_id: str) -> Anchor:
    """Where the chain resumes after the newest purge's checkpoint (its start when never purged)."""
    after = db.session.execute(
        select(AuditEvent.after).where(AuditEvent.tenant_id == tenant_id, AuditEvent.event == CHECKPOINT_EVENT)
        .order_by(AuditEvent.chain_seq.desc()).limit(1)
    ).scalar_one_or_none()
    if not after:
        return Anchor()
    return Anchor(int(after["lastPurgedSeq"]), str(after["lastPurgedChainHash"]))


def _written_at(tenant_id: str, seq: int) -> datetime | None:
    return db.session.execute(select(AuditEvent.occurred_at).where(AuditEvent.tenant_id == tenant_id,
                                                                   AuditEvent.chain_seq == seq)).scalar_one_or_none()
