"""The audit trail: every console change, recorded in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import AuditEvent, ConsoleUser
from app.models.base import utcnow
from app.services.tenancy.audit_chain import CHECKPOINT_EVENT, append, checkpoint_content

PAGE_SIZE = 50
# Keys that name a record, shown next to the target id so an entry reads without a lookup.
LABEL_KEYS = ("email", "code", "name")
ITEM_SAMPLE = 50  # items added / removed that an event on a list names


@dataclass(frozen=True)
class Agent:
    """What acts in one tenant without being a console user (a management key): services that take
    a console user as ``actor`` read only its ``tenant_id`` and its name for the trail from it."""

    name: str  # what the trail shows as the actor, e.g. "management key “Terraform” (…abcd)"
    tenant_id: str


def record_change(
    actor: ConsoleUser | Agent | str,
    event: str,
    target_id: str,
    target_type: str,
    *,
    tenant_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Add (not commit) an audit event; the caller's commit makes it part of the change, chained
    after the tenant's last (audit_chain: it is written at the commit, not before).

    ``actor`` is the console user who made the change, an Agent, or the name of what made it without
    one (``api``, ``cli``, ``sla``); ``tenant_id`` is then required (a console user's or agent's own
    otherwise)."""
    user = actor if isinstance(actor, ConsoleUser) else None
    if isinstance(actor, Agent):
        tenant_id, actor = tenant_id or actor.tenant_id, actor.name
    tenant = tenant_id or (user.tenant_id if user else None)
    if tenant is None:
        raise ValueError("a change made without a console user needs its tenant_id")
    append(
        AuditEvent(
            tenant_id=tenant,
            actor_id=user.id if user else None,
            actor_email=user.email if user else str(actor),
            occurred_at=now or utcnow(),
            event=event,
            target_type=target_type,
            target_id=str(target_id),
            before=before,
            after=after,
        )
    )


def purge_audit_events(tenant_id: str, *, cutoff: datetime, now: datetime, batch: int = 1000) -> int:
    """Delete the tenant's oldest audit events written before ``cutoff``: the start of the chain, up
    to the first event still kept (events are not always written in time order, and the chain has
    no holes). Each batch commits with a checkpoint event naming the last event it purged, so the
    chain verifies after every commit, from the newest checkpoint."""
    purged = 0
    while True:
        kept_from = db.session.execute(select(func.min(AuditEvent.chain_seq)).where(
            AuditEvent.tenant_id == tenant_id, AuditEvent.occurred_at >= cutoff)).scalar_one()
        query = select(AuditEvent.id, AuditEvent.chain_seq, AuditEvent.chain_hash).where(AuditEvent.tenant_id == tenant_id)
        if kept_from is not None:
            query = query.where(AuditEvent.chain_seq < kept_from)
        rows = db.session.execute(query.order_by(AuditEvent.chain_seq).limit(batch)).all()
        if not rows:
            return purged
        db.session.execute(delete(AuditEvent).where(AuditEvent.id.in_([row.id for row in rows])))
        record_change("retention", CHECKPOINT_EVENT, tenant_id, "audit_log", tenant_id=tenant_id, now=now,
                      after=checkpoint_content(purged=len(rows), last_seq=rows[-1].chain_seq,
                                               last_hash=rows[-1].chain_hash))
        db.session.commit()
        purged += len(rows)


def item_changes(before: Sequence[Any], after: Sequence[Any]) -> dict[str, Any]:
    """What an event on a list keeps of a change to its items: how many were added and removed, and
    the first of them."""
    old, new = set(before), set(after)
    added = [item for item in after if item not in old]
    removed = [item for item in before if item not in new]
    return {"added": added[:ITEM_SAMPLE], "addedCount": len(added),
            "removed": removed[:ITEM_SAMPLE], "removedCount": len(removed)}


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    next_before_id: int | None


def list_audit_events(
    tenant_id: str,
    *,
    actor_email: str | None = None,
    target_type: str | None = None,
    event: str | None = None,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """Newest first, keyset-paginated on the id."""
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if actor_email:
        query = query.where(AuditEvent.actor_email == actor_email.strip().lower())
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    if event:
        query = query.where(AuditEvent.event == event)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    rows = list(db.session.execute(query.order_by(AuditEvent.id.desc()).limit(limit + 1)).scalars())
    events = rows[:limit]
    return AuditPage(events=events, next_before_id=events[-1].id if len(rows) > limit and events else None)


@dataclass(frozen=True)
class FieldChange:
    key: str
    before: Any
    after: Any


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[FieldChange]:
    """The keys whose values differ, in a stable order; a creation or deletion shows every key."""
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [FieldChange(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def target_label(event: AuditEvent) -> str | None:
    """A human name for the target (its email, code or name), if the record carries one."""
    for record in (event.after, event.before):
        for key in LABEL_KEYS:
            if record and isinstance(record.get(key), str) and record[key]:
                return record[key]
    return None


@dataclass(frozen=True)
class AuditFilterChoices:
    events: list[str]
    target_types: list[str]


def audit_filter_choices(tenant_id: str) -> AuditFilterChoices:
    """The event names and target types recorded so far, for the filter form's menus."""
    rows = db.session.execute(
        select(AuditEvent.event, AuditEvent.target_type).where(AuditEvent.tenant_id == tenant_id).distinct()
    ).all()
    return AuditFilterChoices(events=sorted({r[0] for r in rows}), target_types=sorted({r[1] for r in rows}))
