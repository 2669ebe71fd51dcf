"""Passkey assurance in rules: ``passkey.*`` reads the user's passkey a challenge would most likely
use (verified last), so a rule can challenge harder for synced passkeys or name a provider; a user
without one reads empty, and a stored action replays to the same decision."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Authenticator, EndUser, PasskeyCredential, UserAction
from app.services.decisions.replay import replay_action
from tests.factories import make_action, rule

GOOGLE = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"  # Google Password Manager in the bundled list
YUBIKEY = "cb69481e-8ff7-4039-93ec-0a2729a154a8"  # not a passkey provider the list names


def add_passkey(app, tenant_id: str, user_id: str, *, synced: bool, aaguid: str, used: datetime,
                regressed: bool = False) -> None:
    with app.app_context():
        user = db.session.execute(select(EndUser).where(EndUser.tenant_id == tenant_id, EndUser.user_id == user_id)
                                  ).scalar_one_or_none()
        if user is None:
            user = EndUser(tenant_id=tenant_id, user_id=user_id)
            db.session.add(user)
        authenticator = Authenticator(verification_method="PASSKEY", created_at=used, verified_at=used,
                                      last_verified_at=used)
        authenticator.passkey = PasskeyCredential(
            credential_id=secrets.token_urlsafe(16), public_key=b"\x01", aaguid=aaguid,
            backup_eligible=synced, backup_state=synced, sign_count_regressed_at=used if regressed else None)
        user.authenticators.append(authenticator)
        db.session.commit()


def tracked(api, user_id: str, action: str = "withdraw") -> str:
    response = api.post(f"/users/{user_id}/actions/{action}", json={})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["state"]


def test_a_rule_challenges_synced_passkeys_and_lets_device_bound_ones_pass(app, api, tenant):
    make_action(app, tenant.id, "withdraw", rules=[rule("Synced passkey", 0, "CHALLENGE", {"var": "passkey.backedUp"})])
    add_passkey(app, tenant.id, "synced", synced=True, aaguid=GOOGLE, used=datetime(2026, 1, 1, tzinfo=UTC))
    add_passkey(app, tenant.id, "bound", synced=False, aaguid=YUBIKEY, used=datetime(2026, 1, 1, tzinfo=UTC))

    assert tracked(api, "synced") == "CHALLENGE_REQUIRED"
    assert tracked(api, "bound") == "ALLOW"
    assert tracked(api, "nobody") == "ALLOW"  # no passkey: the fields are empty and match nothing


def test_the_passkey_verified_last_is_the_one_rules_read(app, api, tenant):
    make_action(app, tenant.id, "withdraw", rules=[
        rule("Google's", 0, "BLOCK", {"==": [{"var": "passkey.authenticatorName"}, "Google Password Manager"]})])
    add_passkey(app, tenant.id, "alice", synced=True, aaguid=GOOGLE, used=datetime(2026, 1, 1, tzinfo=UTC))
    assert tracked(api, "alice") == "BLOCK"
    add_passkey(app, tenant.id, "alice", synced=False, aaguid=YUBIKEY, used=datetime(2026, 2, 1, tzinfo=UTC))
    assert tracked(api, "alice") == "ALLOW"


@pytest.mark.parametrize(("regressed", "expected"), [(True, "REVIEW_REQUIRED"), (False, "ALLOW")])
def test_a_passkey_whose_counter_went_backwards_goes_to_review(app, api, tenant, regressed, expected):
    make_action(app, tenant.id, "withdraw",
                rules=[rule("Cloned?", 0, "REVIEW", {"var": "passkey.signCountRegressed"})])
    add_passkey(app, tenant.id, "alice", synced=False, aaguid=YUBIKEY, used=datetime(2026, 1, 1, tzinfo=UTC),
                regressed=regressed)
    assert tracked(api, "alice") == expected


def test_an_action_decided_by_a_passkey_fact_replays_to_itself_after_the_passkey_changed(app, api, tenant):
    make_action(app, tenant.id, "withdraw", rules=[rule("Synced passkey", 0, "CHALLENGE", {"var": "passkey.backedUp"})])
    add_passkey(app, tenant.id, "alice", synced=True, aaguid=GOOGLE, used=datetime(2026, 1, 1, tzinfo=UTC))
    assert tracked(api, "alice") == "CHALLENGE_REQUIRED"
    with app.app_context():
        for credential in db.session.execute(select(PasskeyCredential)).scalars():
            credential.backup_state = False
        db.session.commit()
        action_id = db.session.execute(select(UserAction.id)).scalar_one()
        replayed = replay_action(tenant.id, action_id)
    assert replayed.reproduces and replayed.stored.state == "CHALLENGE_REQUIRED"
    assert tracked(api, "alice") == "ALLOW"  # live, the passkey is no longer synced
