"""The console's user page lists the user's remembered devices; an admin revokes one (CSRF-checked,
audited), and the next track from it is challenged again."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, TrustedDevice
from tests.html import parse, text_of
from tests.web.test_challenge_remember_device import (
    Passing,
    answer_offer,
    finished_at_app,
    remembering,  # noqa: F401  (the fixture: a tenant that remembers devices, an action that reads it)
    track,
)

pytestmark = pytest.mark.usefixtures("remembering")


def remember_alices_laptop(api, app):
    client = app.test_client()
    finished_at_app(client, answer_offer(client, Passing(client).pass_challenge(track(api)["token"]), remember=True))
    with app.app_context():
        return db.session.execute(select(TrustedDevice.id)).scalar_one()


def device_rows(page) -> list[dict[str, str]]:
    table = parse(page).find("table", id="trusted-devices")
    if table is None:
        return []
    return [{cell["data-label"]: text_of(cell) for cell in row.find_all("td") if cell.get("data-label")}
            for row in table.tbody.find_all("tr")]


def test_the_user_page_lists_trusted_devices_and_an_admin_revokes_one(api, app, admin):
    device_id = remember_alices_laptop(api, app)
    assert track(api)["state"] == "ALLOW"

    (row,) = device_rows(admin.get("/console/users/alice"))
    assert (row["Device"], row["Device id"]) == ("Chrome on Windows", "laptop-1")
    assert row["Last used"] != "never"  # the ALLOW above used it
    response = admin.post(f"/console/users/alice/trusted-devices/{device_id}/revoke")

    assert response.status_code == 303
    assert device_rows(admin.get("/console/users/alice")) == []
    assert track(api)["state"] == "CHALLENGE_REQUIRED"
    with app.app_context():
        (event,) = db.session.execute(select(AuditEvent).where(AuditEvent.event == "trusted_device.revoked")).scalars()
        assert (event.target_id, event.before["deviceId"]) == (device_id, "laptop-1")


def test_revoking_needs_the_csrf_token(api, app, admin):
    device_id = remember_alices_laptop(api, app)

    response = admin.client.post(f"/console/users/alice/trusted-devices/{device_id}/revoke")

    assert response.status_code == 400
    assert track(api)["state"] == "ALLOW"


def test_a_reviewer_sees_no_revoke_button_and_cannot_revoke(api, app, reviewer):
    device_id = remember_alices_laptop(api, app)
    page = parse(reviewer.get("/console/users/alice"))
    assert page.find("table", id="trusted-devices").find("button") is None

    assert reviewer.post(f"/console/users/alice/trusted-devices/{device_id}/revoke").status_code == 403
    assert track(api)["state"] == "ALLOW"


def test_revoking_a_device_already_revoked_or_of_another_user_is_not_found(api, app, admin):
    device_id = remember_alices_laptop(api, app)
    admin.post(f"/console/users/alice/trusted-devices/{device_id}/revoke")

    assert admin.post(f"/console/users/alice/trusted-devices/{device_id}/revoke").status_code == 404
    track(api, user="bob")
    assert admin.post(f"/console/users/bob/trusted-devices/{device_id}/revoke").status_code == 404


def test_removing_the_last_authenticator_revokes_the_users_devices(api, app, admin):
    remember_alices_laptop(api, app)
    (authenticator,) = api.get("/users/alice/authenticators").get_json()

    removal = f"/console/users/alice/authenticators/{authenticator['userAuthenticatorId']}/delete"
    response = admin.post(removal, data={"confirm": "yes"})

    assert response.status_code == 303
    assert device_rows(admin.get("/console/users/alice")) == []
    assert track(api)["state"] == "CHALLENGE_REQUIRED"
