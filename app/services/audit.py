"""The audit trail: every console change, recorded in the same transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ConsoleUser
from app.models.base import utcnow

PAGE_SIZE = 50


def record_change(
    actor: ConsoleUser,
    event: str,
    target_id: str,
    target_type: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Add (not commit) an audit event; the caller's commit makes it part of the change."""
    db.session.add(
        AuditEvent(
            tenant_id=actor.tenant_id,
            actor_id=actor.id,
            actor_email=actor.email,
            occurred_at=now or utcnow(),
            event=event,
            target_type=target_type,
            target_id=str(target_id),
            before=before,
            after=after,
        )
    )


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
