"""Rule-set versions in the console: edits change a draft, publishing makes it live, discard and
rollback undo, four-eyes holds on the server, and every step is audited."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update

from app.domain.errors import DomainError
from app.extensions import db
from app.models import ActionVersion, Rule
from app.services.rulesets import versions
from tests.factories import make_action, rule
from tests.html import parse, table_rows, text_of
from tests.web.conftest import ConsoleClient, audit_events, sign_in

pytestmark = pytest.mark.usefixtures("tenant")

CODE = "withdraw"
BLOCK_BIG = {"name": "Block big", "description": "", "outcome": "BLOCK", "is_active": "y", "mode": "builder",
             "g-0-join": "and", "c-0-0-field": "custom", "c-0-0-custom": "amount", "c-0-0-type": "number",
             "c-0-0-op": "gt", "c-0-0-value": "1000"}


@pytest.fixture
def action(app, tenant):
    make_action(app, tenant.id, CODE)
    return CODE


def track(api, amount: int = 5000) -> str:
    return api.post(f"/users/u1/actions/{CODE}", json={"custom": {"amount": amount}}).get_json()["state"]


def draft_badge(page) -> str | None:
    badge = parse(page).select_one(".page-head a.badge.draft")
    return text_of(badge) if badge is not None else None


def changes(page) -> list[str]:
    """Each change of the diff as read: kind, name and what changed."""
    return [text_of(item) for item in parse(page).select("ul.rule-diff > li")]


def publish(admin, note: str = "Block big withdrawals.", **extra):
    return admin.post(f"/console/actions/{CODE}/publish", data={"note": note, **extra})


def version_numbers(app) -> list[int]:
    with app.app_context():
        return list(db.session.execute(select(ActionVersion.number).order_by(ActionVersion.number)).scalars())


# ---------------------------------------------------------------------------------------------
# Draft and publish


def test_an_edit_is_a_draft_that_decides_nothing(app, admin, api, action):
    admin.post(f"/console/actions/{CODE}/rules/new", data=BLOCK_BIG)

    assert track(api) == "ALLOW"
    rules_page = admin.get(f"/console/actions/{CODE}")
    assert draft_badge(rules_page) == "Draft: 1 change"
    draft = admin.get(f"/console/actions/{CODE}/draft")
    assert changes(draft) == ["Added Block big Block custom.amount is greater than 1000"]


def test_publishing_makes_the_draft_the_next_version_and_it_decides_the_next_track(app, admin, api, action):
    admin.post(f"/console/actions/{CODE}/rules/new", data=BLOCK_BIG)

    response = publish(admin)

    assert response.status_code == 303
    assert track(api) == "BLOCK"
    assert version_numbers(app) == [1, 2]
    rows = table_rows(admin.get(f"/console/actions/{CODE}/versions"))
    assert [(row["Version"], row["Change note"]) for row in rows] == [
        ("Version 2 Live", "Block big withdrawals."), ("Version 1", "Created.")]
    assert draft_badge(admin.get(f"/console/actions/{CODE}")) is None
    (event,) = audit_events(app, "action.published")
    assert (event.before["version"], event.after["version"]) == (1, 2)
    assert event.before["rules"] == [] and [r["name"] for r in event.after["rules"]] == ["Block big"]


def test_a_track_stores_the_version_that_decided_it(app, admin, api, action):
    admin.post(f"/console/actions/{CODE}/rules/new", data=BLOCK_BIG)
    publish(admin)

    answer = api.post(f"/users/u1/actions/{CODE}", json={"custom": {"amount": 5000}}).get_json()

    with app.app_context():
        from app.models import UserAction
        from app.services.decisions.replay import stored_snapshot
        stored = db.session.execute(select(UserAction).filter_by(idempotency_key=answer["idempotencyKey"])).scalar_one()
        assert (stored.action_version_id, stored_snapshot(stored, {}).request.custom) == (
            db.session.execute(select(ActionVersion.id).filter_by(number=2)).scalar_one(), {"amount": 5000})


def test_publishing_needs_a_note_and_a_change(admin, app, action):
    admin.post(f"/console/actions/{CODE}/rules/new", data=BLOCK_BIG)

    no_note = publish(admin, note="  ")
    assert no_note.status_code == 400
    assert text_of(parse(no_note).select_one("[role=alert]")) == "Say what this version changes (a change note is required)."

    assert publish(admin).status_code == 303
    nothing_left = publish(admin, note="Again")
    assert nothing_left.status_code == 400
    assert "Nothing to publish" in text_of(parse(nothing_left).select_one("[role=alert]"))
    assert version_numbers(app) == [1, 2]


def test_a_draft_broken_behind_the_editors_back_is_refused_and_nothing_goes_live(admin, app, api, action):
    """The editors refuse bad rules; a draft written another way (SQL, an old row) is checked again."""
    admin.post(f"/console/actions/{CODE}/rules/new", data=BLOCK_BIG)
    with app.app_context():
        db.session.execute(update(Rule).values(conditions={"bogus": [1, 2]}))
        db.session.commit()

    response = publish(admin)

    assert response.status_code == 400
    assert "unknown operator 'bogus'" in text_of(parse(response).select_one("[role=alert]"))
    assert version_numbers(app) == [1]
    assert track(api) == "ALLOW"  # version 1 still decides


def test_a_draft_changed_after_it_was_reviewed_is_not_published_unseen(admin, app, action):
    admin.post(f"/console/actions/{CODE}/rules/new", data=BLOCK_BIG)
    reviewed = parse(admin.get(f"/console/actions/{CODE}/draft")).find("input", attrs={"name": "draft_digest"})["value"]
    admin.post(f"/console/actions/{CODE}/rules/new", data={**BLOCK_BIG, "name": "Added meanwhile"})

    response = publish(admin, draft_digest=reviewed)

    assert response.status_code == 409
    assert text_of(parse(response).select_one("[role=alert]")).startswith("The draft changed since you reviewed it.")
    assert version_numbers(app) == [1]


def test_of_two_concurrent_publishes_of_one_draft_exactly_one_wins(app, tenant, admin, action):
    admin.post(f"/console/actions/{CODE}/rules/new", data=BLOCK_BIG)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def publish_in_another_worker(note: str) -> None:
        with app.app_context():
            start.wait()
            try:
                outcomes.append(f"version {versions.publish('cli', tenant.id, CODE, note=note).number}")
            except DomainError as exc:
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=publish_in_another_worker, args=(f"Publish {n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["draft_unchanged", "version 2"]
    assert version_numbers(app) == [1, 2]


# ---------------------------------------------------------------------------------------------
# The diff


def test_the_diff_reads_per_rule_in_the_builders_sentences(app, tenant, admin):
    make_action(app, tenant.id, CODE, rules=[
        rule("First", 0, "REVIEW", {">": [{"var": "custom.amount"}, 10]}),
        rule("Second", 1, "CHALLENGE", {"==": [{"var": "device.isNew"}, True]}),
    ])
    with app.app_context():
        first_id = db.session.execute(select(Rule.id).filter_by(name="First")).scalar_one()
    admin.post(f"/console/actions/{CODE}/rules/{first_id}", data={**BLOCK_BIG, "name": "First"})
    admin.post(f"/console/actions/{CODE}/rules/{first_id}/move", data={"direction": "down"})
    admin.post(f"/console/actions/{CODE}/settings", data={
        "name": CODE, "default_outcome": "REVIEW", "verification_methods": ["PASSKEY", "AUTHENTICATOR_APP"],
        "unenrolled_policy": "ALLOW", "review_overdue_policy": "FLAG"})

    page = admin.get(f"/console/actions/{CODE}/draft")

    assert changes(page) == [  # the policy, then the rules in the draft's order
        "Changed Default outcome Allow → Review",
        "Changed Second Order moved from #2 to #1",
        "Changed First Outcome Review → Block Conditions custom.amount is greater than 10 → "
        "custom.amount is greater than 1000 Order moved from #1 to #2",
    ]
    assert draft_badge(page) == "Draft: 3 changes"


# ---------------------------------------------------------------------------------------------
# Discard and rollback


def test_discarding_puts_the_live_rules_back(app, tenant, admin, api):
    make_action(app, tenant.id, CODE, rules=[rule("Keep", 0, "BLOCK", {">": [{"var": "custom.amount"}, 1000]})])
    with app.app_context():
        keep_id = db.session.execute(select(Rule.id).filter_by(name="Keep")).scalar_one()
    admin.post(f"/console/actions/{CODE}/rules/{keep_id}/delete")
    admin.post(f"/console/actions/{CODE}/rules/new", data={**BLOCK_BIG, "name": "Unwanted"})
    confirm = admin.get(f"/console/actions/{CODE}/discard")
    assert changes(confirm)[0].startswith("Added Unwanted") and changes(confirm)[1].startswith("Removed Keep")

    response = admin.post(f"/console/actions/{CODE}/discard")

    assert response.status_code == 303
    names = [text_of(a) for a in parse(admin.get(f"/console/actions/{CODE}")).select("#rules a.rule-name")]
    assert names == ["Keep"]
    assert draft_badge(admin.get(f"/console/actions/{CODE}")) is None
    assert track(api) == "BLOCK" and version_numbers(app) == [1, 2]
    (event,) = audit_events(app, "action.draft_discarded")
    assert [r["name"] for r in event.before["rules"]] == ["Unwanted"] and event.after["version"] == 2


def test_rolling_back_republishes_an_earlier_version_as_the_next(app, tenant, admin, api):
    make_action(app, tenant.id, CODE, rules=[rule("Block big", 0, "BLOCK", {">": [{"var": "custom.amount"}, 1000]})])
    assert track(api) == "BLOCK"
    confirm = admin.get(f"/console/actions/{CODE}/versions/1/rollback")
    assert changes(confirm) == ["Removed Block big Block custom.amount is greater than 1000"]

    response = admin.post(f"/console/actions/{CODE}/versions/1/rollback", data={"note": ""})

    assert response.status_code == 303
    assert track(api) == "ALLOW"
    assert version_numbers(app) == [1, 2, 3]
    rows = table_rows(admin.get(f"/console/actions/{CODE}/versions"))
    assert rows[0]["Version"] == "Version 3 Live"
    assert rows[0]["Change note"] == "Rolled back to version 1. (the rules of version 1)"
    assert parse(admin.get(f"/console/actions/{CODE}")).select("#rules a.rule-name") == []
    (event,) = audit_events(app, "action.rolled_back")
    assert (event.before["version"], event.after["version"]) == (2, 3)


def test_a_rollback_waits_for_a_pending_draft(app, tenant, admin):
    make_action(app, tenant.id, CODE, rules=[rule("Block big", 0, "BLOCK", {">": [{"var": "custom.amount"}, 1000]})])
    admin.post(f"/console/actions/{CODE}/rules/new", data={**BLOCK_BIG, "name": "Pending"})

    response = admin.post(f"/console/actions/{CODE}/versions/1/rollback")

    assert response.status_code == 409
    assert text_of(parse(response).select_one("[role=alert]")) == (
        "The draft has unpublished changes. Publish or discard them before rolling back.")
    assert version_numbers(app) == [1, 2]


def test_the_live_version_cannot_be_rolled_back_to(admin, app, action):
    response = admin.post(f"/console/actions/{CODE}/versions/1/rollback")

    assert response.status_code == 400
    assert text_of(parse(response).select_one("[role=alert]")) == "Version 1 is already live."


def test_an_unknown_version_is_a_404(admin, action):
    assert admin.get(f"/console/actions/{CODE}/versions/9").status_code == 404
    assert admin.post(f"/console/actions/{CODE}/versions/9/rollback").status_code == 404


# ---------------------------------------------------------------------------------------------
# Four-eyes


@pytest.fixture
def four_eyes(app, tenant):
    with app.app_context():
        from app.models import Tenant
        db.session.get(Tenant, tenant.id).publish_needs_second_admin = True
        db.session.commit()


def test_with_four_eyes_an_author_cannot_publish_their_own_draft(app, admin, make_console_user, action, four_eyes):
    admin.post(f"/console/actions/{CODE}/rules/new", data=BLOCK_BIG)

    page = parse(admin.get(f"/console/actions/{CODE}/draft"))
    assert page.find("button", string="Publish version 2") is None
    assert "another admin must review and publish it" in text_of(page.select_one("#publish [role=status]"))
    refused = publish(admin)  # the server refuses it, not just the page
    assert refused.status_code == 403
    assert version_numbers(app) == [1]

    make_console_user("second@example.com", "admin")
    client = app.test_client()
    sign_in(client, "second@example.com")
    second = ConsoleClient(client)
    assert publish(second, note="Reviewed and published.").status_code == 303
    assert version_numbers(app) == [1, 2]


def test_the_four_eyes_setting_is_set_in_settings(app, admin, tenant):
    page = parse(admin.get("/console/settings"))
    assert page.find("input", attrs={"name": "publish_needs_second_admin"}) is not None

    admin.post("/console/settings", data={"name": "Acme", "publish_needs_second_admin": "y"})

    with app.app_context():
        from app.models import Tenant
        assert db.session.get(Tenant, tenant.id).publish_needs_second_admin is True
        assert db.session.execute(select(func.count()).select_from(ActionVersion)).scalar_one() == 0
