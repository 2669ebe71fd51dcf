"""``flask management-keys create|list|revoke``: Management API keys from the command line."""

from __future__ import annotations

import base64
import json

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from tests.factories import add_tenant_with_key


def basic(raw_key: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{raw_key}:".encode()).decode()}


def listed(cli, *tenant: str) -> list[dict]:
    result = cli("management-keys", "list", *tenant)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_create_prints_the_key_once_and_it_opens_the_management_api(cli, app, client, tenant):
    result = cli("management-keys", "create", "--name", "Terraform", "--access", "publish")

    assert result.exit_code == 0, result.output
    raw = result.output.strip()
    assert raw.startswith("tg_mk_")
    assert client.get("/v1/management/action-configurations", headers=basic(raw)).status_code == 200
    [key] = listed(cli)
    assert key == {**key, "name": "Terraform", "access": "publish", "revoked": False, "hint": "…" + raw[-4:]}
    assert raw not in json.dumps(listed(cli))
    with app.app_context():
        event = db.session.execute(select(AuditEvent)).scalar_one()
        assert (event.event, event.actor_email, event.after["access"]) == ("management_key.created", "cli", "publish")


def test_the_default_access_is_draft_and_a_bad_one_is_refused(cli, tenant):
    assert cli("management-keys", "create").exit_code == 0
    assert [k["access"] for k in listed(cli)] == ["draft"]
    refused = cli("management-keys", "create", "--access", "admin")
    assert refused.exit_code == 2 and "admin" in refused.output


def test_revoke_refuses_the_key_at_once(cli, client, tenant):
    raw = cli("management-keys", "create", "--access", "read").output.strip()
    [key] = listed(cli)

    result = cli("management-keys", "revoke", key["id"])

    assert result.exit_code == 0, result.output
    assert client.get("/v1/management/action-configurations", headers=basic(raw)).status_code == 401
    assert listed(cli)[0]["revoked"] is True
    again = cli("management-keys", "revoke", key["id"])
    assert again.exit_code != 0 and "already revoked" in again.output


def test_keys_belong_to_the_tenant_named(cli, app, tenant):
    add_tenant_with_key(app, "Other")
    raw = cli("management-keys", "create", "--tenant", "Other").output.strip()
    assert raw.startswith("tg_mk_")
    assert listed(cli, "--tenant", "Test tenant") == []
    [theirs] = listed(cli, "--tenant", "Other")
    refused = cli("management-keys", "revoke", theirs["id"], "--tenant", "Test tenant")
    assert refused.exit_code != 0 and "No such management key" in refused.output
