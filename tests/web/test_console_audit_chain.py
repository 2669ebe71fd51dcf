"""The console's audit page says how far the hash chain verifies, and says it loudly when it does not."""

from __future__ import annotations

from sqlalchemy import select, update

from app.extensions import db
from app.models import AuditEvent
from app.services.tenancy.audit import record_change
from tests.html import alerts, parse, text_of


def record(app, tenant_id: str, count: int) -> list[AuditEvent]:
    with app.app_context():
        for number in range(count):
            record_change("cli", "rule.updated", f"r{number}", "rule", tenant_id=tenant_id, after={"n": number})
            db.session.commit()
        return list(db.session.execute(select(AuditEvent).order_by(AuditEvent.chain_seq)).scalars())


def chain_status(response) -> str:
    return text_of(parse(response).find(id="audit-chain"))


def test_the_page_says_the_chain_verified_up_to_the_newest_event(app, admin, tenant):
    newest = record(app, tenant.id, 3)[-1]

    page = admin.get("/console/settings/audit")

    shown = parse(page).find(id="audit-chain")
    assert shown["role"] == "status" and text_of(shown).startswith("Chain verified up to")
    assert shown.find("time")["datetime"] == newest.occurred_at.isoformat()
    assert alerts(page) == []


def test_an_edited_event_fails_loudly_naming_it(app, admin, tenant):
    edited = record(app, tenant.id, 3)[1]
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.id == edited.id).values(after={"n": "rewritten"}))
        db.session.commit()

    page = admin.get("/console/settings/audit")

    [alert] = alerts(page)
    assert alert.startswith(f"The audit log has been tampered with. Edited at event {edited.id} (number 2 in the chain): ")


def test_what_was_verified_is_not_walked_again_by_the_page(app, admin, tenant):
    """The page's check is bounded: it resumes after the last event it verified (the full walk is
    ``flask tollgate audit verify``'s)."""
    first = record(app, tenant.id, 2)[0]
    admin.get("/console/settings/audit")
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.id == first.id).values(after={"n": "rewritten"}))
        db.session.commit()
    record(app, tenant.id, 1)

    assert chain_status(admin.get("/console/settings/audit")).startswith("Chain verified up to")
    result = app.test_cli_runner().invoke(args=["tollgate", "audit", "verify"])
    assert result.exit_code == 1 and f"edited at audit event {first.id} (number 1)" in result.stderr


def test_a_tenant_with_no_events_yet_verifies_trivially(admin, tenant):
    assert chain_status(admin.get("/console/settings/audit")).startswith(
        "Chain verified up to the start: nothing recorded yet")
