"""Settings → API keys → Management API keys: created (shown once) and revoked by admins only."""

from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ManagementKey, Tenant
from app.services.tenancy.audit import Agent
from app.services.tenancy.management_keys import create_management_key
from tests.html import alerts, field_error, flash_messages, is_fragment, option_texts, shown_secret, table_rows

RAW_KEY = re.compile(r"tg_mk_[A-Za-z0-9_-]+")
ACTIONS = "/v1/management/action-configurations"


def basic(raw_key: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{raw_key}:".encode()).decode()}


def create(admin, name="Terraform (production)", access="publish") -> str:
    response = admin.post("/console/settings/management-keys", data={"name": name, "access": access})
    assert response.status_code == 200, response.data
    raw = shown_secret(response, "Management key")
    assert RAW_KEY.fullmatch(raw), raw
    return raw


def management_rows(admin) -> dict[str, dict[str, str]]:
    rows = table_rows(admin.get("/console/settings/api-keys"), "#management-keys table")
    return {row["Name"]: row for row in rows if row.get("Name")}


def stored(app, name: str) -> ManagementKey:
    with app.app_context():
        row = db.session.execute(select(ManagementKey).where(ManagementKey.name == name)).scalar_one()
        db.session.expunge(row)
        return row


def audit(app) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())
        db.session.expunge_all()
        return rows


def test_the_form_offers_the_three_kinds_of_access(admin):
    options = option_texts(admin.get("/console/settings/management-keys/new"), "access")
    assert set(options) == {"read", "draft", "publish"}
    assert "Read only" in options["read"]


def test_a_new_key_is_shown_once_and_opens_the_management_api(admin, app, client, tenant):
    raw = create(admin)

    assert client.get(ACTIONS, headers=basic(raw)).status_code == 200
    assert client.get("/v1/users/alice", headers=basic(raw)).status_code == 401  # not a server key
    listing = admin.get("/console/settings/api-keys")
    assert raw not in listing.get_data(as_text=True)
    row = management_rows(admin)["Terraform (production)"]
    assert row["Key"] == "…" + raw[-4:] and row["Status"] == "Active" and "publish" in row["Access"]
    key = stored(app, "Terraform (production)")
    assert (key.tenant_id, key.access) == (tenant.id, "publish") and raw not in key.digest
    event = audit(app)[-1]
    assert (event.event, event.target_id, event.after["name"], event.after["access"]) == \
        ("management_key.created", key.id, "Terraform (production)", "publish")
    assert raw not in repr(event.after)


def test_creation_with_htmx_swaps_in_the_key(admin):
    response = admin.post("/console/settings/management-keys", data={"name": "CI", "access": "read"}, htmx=True)
    assert response.status_code == 200 and is_fragment(response)
    assert RAW_KEY.fullmatch(shown_secret(response, "Management key"))


def test_a_key_needs_a_name_and_a_known_access(admin, app):
    response = admin.post("/console/settings/management-keys", data={"name": " ", "access": "draft"})
    assert response.status_code == 400 and "Give the key a name" in field_error(response, "name")
    response = admin.post("/console/settings/management-keys", data={"name": "x", "access": "root"})
    assert response.status_code == 400 and field_error(response, "access")
    with app.app_context():
        assert db.session.execute(select(ManagementKey)).all() == []


def test_revoking_refuses_the_key_at_once(admin, app, client):
    raw = create(admin, name="Old", access="read")
    key_id = stored(app, "Old").id

    response = admin.post(f"/console/settings/management-keys/{key_id}/revoke")

    assert response.status_code == 303
    assert client.get(ACTIONS, headers=basic(raw)).status_code == 401
    assert any("is revoked" in message for message in flash_messages(admin.get("/console/settings/api-keys")))
    assert management_rows(admin)["Old"]["Status"].startswith("Revoked")
    event = audit(app)[-1]
    assert (event.event, event.before["revoked"], event.after["revoked"]) == ("management_key.revoked", False, True)
    again = admin.post(f"/console/settings/management-keys/{key_id}/revoke")
    assert again.status_code == 409 and alerts(again) == ["This key is already revoked."]


def test_keys_of_another_tenant_are_not_found(admin, app):
    with app.app_context():
        other = Tenant(name="Other")
        db.session.add(other)
        db.session.commit()
        key, _ = create_management_key(Agent("test", other.id), name="theirs", access="draft")
        key_id = key.id
    assert admin.get(f"/console/settings/management-keys/{key_id}/revoke").status_code == 404
    assert admin.post(f"/console/settings/management-keys/{key_id}/revoke").status_code == 404
    assert "theirs" not in management_rows(admin)


@pytest.mark.parametrize("path", ["/console/settings/management-keys/new", "/console/settings/api-keys"])
def test_reviewers_may_not_open_them(reviewer, path):
    assert reviewer.get(path).status_code == 403


def test_reviewers_may_not_create_one(reviewer, app):
    reviewer.post("/console/settings/management-keys", data={"name": "x", "access": "publish"})
    with app.app_context():
        assert db.session.execute(select(ManagementKey)).all() == []
