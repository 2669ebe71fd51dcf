"""A tenant's reason codes for review decisions: reading them, and admins editing the list."""

from __future__ import annotations

from datetime import datetime

from app.domain.errors import Forbidden, InvalidRequest
from app.domain.review_reasons import ReasonCode, parse_labels, reason_codes
from app.extensions import db
from app.models import ConsoleUser, Tenant
from app.services.tenancy.audit import record_change


def tenant_reasons(tenant_id: str) -> tuple[ReasonCode, ...]:
    tenant = db.session.get(Tenant, tenant_id)
    return reason_codes(tenant.review_reasons if tenant else None)


def find_reason(tenant_id: str, code: str | None) -> ReasonCode | None:
    """The tenant's reason with that code; None for no code. An unknown code is refused."""
    code = (code or "").strip()
    if not code:
        return None
    found = next((reason for reason in tenant_reasons(tenant_id) if reason.code == code), None)
    if found is None:
        raise InvalidRequest("Pick a reason from the list.", code="invalid_reason_code")
    return found


def set_reasons(actor: ConsoleUser, text: str, *, now: datetime) -> tuple[ReasonCode, ...]:
    """Replace the tenant's list from the settings textarea (one reason a line); audited."""
    if not actor.is_admin:
        raise Forbidden("Only admins can change the review reasons.", code="admin_only")
    labels, problems = parse_labels(text or "")
    if problems:
        raise InvalidRequest(" ".join(problems), code="invalid_review_reasons")
    tenant = db.session.get(Tenant, actor.tenant_id)
    before = [reason.label for reason in reason_codes(tenant.review_reasons)]
    tenant.review_reasons = labels
    record_change(actor, "review.reasons_changed", tenant.id, "tenant", before={"reasons": before},
                  after={"reasons": labels}, now=now)
    db.session.commit()
    return reason_codes(labels)
