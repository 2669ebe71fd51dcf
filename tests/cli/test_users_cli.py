"""flask users erase USER_ID: shows what is held, asks for the user id again, erases in the tenant (the only one, or --tenant)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.services.operations.erasure import EVENT
from tests.conftest import ApiClient
from tests.factories import add_tenant_with_key
from tests.personal_data import tables_holding

SUBJECT, EMAIL, IP, UA = "ada-lovelace-1815", "ada@analytical.example", "203.0.113.77", "AdaBrowser/1.0"
SUBJECT_DATA = (SUBJECT, EMAIL, IP, UA)


@pytest.fixture
def subject(api):
    """The subject, known to the default tenant (the test tenant is the first one)."""
    api.patch(f"/users/{SUBJECT}", json={"email": EMAIL})
    for _ in range(2):
        assert api.post(f"/users/{SUBJECT}/actions/sign-in", json={"ipAddress": IP, "userAgent": UA}).status_code == 200


def erase(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["users", "erase", *args], input=input)


def test_typing_the_user_id_erases_them(app, subject):
    result = erase(app, SUBJECT, input=f"{SUBJECT}\n")

    assert result.exit_code == 0, result.output
    shown, printed = result.output.split("{", 1)
    assert "  actions: 2\n" in shown and "  userRecords: 1\n" in shown
    assert json.loads("{" + printed)["erased"]["actions"] == 2
    assert tables_holding(app, SUBJECT_DATA) == {}
    with app.app_context():
        [event] = db.session.execute(select(AuditEvent).where(AuditEvent.event == EVENT)).scalars().all()
        assert (event.actor_id, event.actor_email) == (None, "cli")


def test_anything_else_typed_erases_nothing(app, subject):
    before = tables_holding(app, SUBJECT_DATA)

    result = erase(app, SUBJECT, input="ada\n")

    assert result.exit_code == 1
    assert "nothing was erased" in result.output
    assert tables_holding(app, SUBJECT_DATA) == before


def test_yes_erases_without_asking(app, subject):
    result = erase(app, SUBJECT, "--yes")

    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"erased": {
        "userRecords": 1, "authenticators": 0, "actions": 2, "reviewDecisions": 0, "reviewNotes": 0,
        "webhookEvents": 0, "auditEvents": 0,
    }}
    assert tables_holding(app, SUBJECT_DATA) == {}


@pytest.mark.parametrize("args", [(), ("--yes",)])
def test_an_unknown_user_is_an_error_before_any_question(app, subject, args):
    result = erase(app, "nobody-at-all", *args)

    assert result.exit_code == 1
    assert result.output.strip() == "Error: Nothing is held about this user id."


def test_with_two_tenants_it_erases_in_the_named_tenant_only(app, client, tenant, subject):
    _, raw = add_tenant_with_key(app, "Created later")
    ApiClient(client, raw).post("/users/only-in-the-later-tenant/actions/sign-in", json={"ipAddress": IP})

    assert erase(app, SUBJECT, "--yes").exit_code == 2  # which tenant? not whichever came first
    assert erase(app, "only-in-the-later-tenant", "--yes", "--tenant", tenant.id).exit_code == 1
    assert erase(app, SUBJECT, "--yes", "--tenant", tenant.id).exit_code == 0
    assert tables_holding(app, ("only-in-the-later-tenant",)) == {"user_action": {"only-in-the-later-tenant"},
                                                                  "end_user": {"only-in-the-later-tenant"}}
