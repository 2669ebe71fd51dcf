"""Retention: deleting what is older than anyone needs, in short transactions.

* Tracked actions older than ``TOLLGATE_ACTION_RETENTION_DAYS`` (unset: kept forever), with
  everything that hangs off them (state changes, review claims, notes, decisions and flags,
  WebAuthn challenges: all ``ON DELETE CASCADE``). A case still waiting for a reviewer is kept
  whatever its age: deleting it would decide it silently. The setting is never below the longest
  window a risk signal reads, so a purge cannot change a decision.
* Audit events older than ``TOLLGATE_AUDIT_RETENTION_DAYS`` (unset: kept forever), from the start
  of each tenant's hash chain, behind a checkpoint event so what remains still verifies
  (``tenancy.audit.purge_audit_events``).
* Failed verification attempts older than that same window, and failures by client address
  (console sign-ins, invalid API keys) older than their limit's window: nothing reads them any more.

Batches are deleted one transaction each, so a large first purge never holds SQLite's write lock
(or PostgreSQL row locks) for long, and an interrupted purge simply resumes next time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from app.config import Settings
from app.domain.decision import ActionState
from app.domain.signals import MAX_WINDOW as SIGNAL_HISTORY
from app.extensions import db
from app.models import AddressFailure, Tenant, UserAction, VerificationAttempt
from app.services.limits.address_failures import API_KEY, CODE_SEND, SIGN_IN, FailureLimit
from app.services.tenancy.audit import purge_audit_events

BATCH = 1000


@dataclass(frozen=True)
class PurgeReport:
    actions: int
    verification_attempts: int
    sign_in_failures: int
    api_key_failures: int
    audit_events: int
    code_sends: int = 0  # the per-address places of codes sent, past their hour


def purge_expired(*, settings: Settings, now: datetime, batch: int = BATCH) -> PurgeReport:
    actions = 0
    if settings.action_retention_days is not None:
        cutoff = now - timedelta(days=settings.action_retention_days)
        for tenant_id in db.session.execute(select(Tenant.id)).scalars().all():
            actions += _purge_actions(tenant_id, cutoff, batch)
    attempts = _purge_in_batches(
        select(VerificationAttempt.id).where(VerificationAttempt.attempted_at < now - SIGNAL_HISTORY),
        VerificationAttempt, batch,
    )
    audit_events = 0
    if settings.audit_retention_days is not None:
        cutoff = now - timedelta(days=settings.audit_retention_days)
        for tenant_id in db.session.execute(select(Tenant.id)).scalars().all():
            audit_events += purge_audit_events(tenant_id, cutoff=cutoff, now=now, batch=batch)
    return PurgeReport(actions=actions, verification_attempts=attempts,
                       sign_in_failures=_purge_address_failures(SIGN_IN, now, batch),
                       api_key_failures=_purge_address_failures(API_KEY, now, batch), audit_events=audit_events,
                       code_sends=_purge_address_failures(CODE_SEND, now, batch))


def _purge_actions(tenant_id: str, cutoff: datetime, batch: int) -> int:
    # Per tenant, so the (tenant_id, created_at) index finds the old rows without a scan.
    return _purge_in_batches(
        select(UserAction.id).where(UserAction.tenant_id == tenant_id, UserAction.created_at < cutoff,
                                    UserAction.state != ActionState.REVIEW_REQUIRED),
        UserAction, batch,
    )


def _purge_address_failures(limit: FailureLimit, now: datetime, batch: int) -> int:
    return _purge_in_batches(
        select(AddressFailure.id).where(AddressFailure.kind == limit.kind, AddressFailure.failed_at < now - limit.window),
        AddressFailure, batch,
    )


def _purge_in_batches(ids_query, model, batch: int) -> int:
    deleted = 0
    while True:
        ids = db.session.execute(ids_query.limit(batch)).scalars().all()
        if not ids:
            return deleted
        db.session.execute(delete(model).where(model.id.in_(ids)))
        db.session.commit()
        deleted += len(ids)
