"""The per-process copy of a tenant's configuration: never stale, and free once loaded.

Every change to what track reads (settings, actions, rules, data points, lists, webhook endpoints)
gives the tenant a new stamp in the same transaction; a warm track reads no configuration at all.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ActionConfiguration, CustomDataPoint, CustomList, EndUser, Rule, Tenant, WebhookEndpoint
from app.models.base import utcnow
from app.services.rulesets.versions import publish
from tests.factories import make_action, rule
from tests.sql_statements import statements

CONFIG_TABLES = ("action_configuration", "rule", "custom_data_point", "custom_list", "webhook_endpoint")


def track(api, action="withdraw-funds", user_id="alice", **body):
    response = api.post(f"/users/{user_id}/actions/{action}", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def stamp(app, tenant_id):
    with app.app_context():
        return db.session.execute(select(Tenant.config_stamp).where(Tenant.id == tenant_id)).scalar_one()


def first(model, **where):
    return db.session.execute(select(model).filter_by(**where)).scalars().first()


def add_rule(tenant_id):
    from app.services.rulesets.rules import RuleDocument, create_rule

    create_rule(tenant_id, "withdraw-funds", RuleDocument.model_validate(rule("Big", 1, "REVIEW", {">": [1, 0]})))


def edit_rule_conditions(_tenant_id):
    found = first(Rule, name="Huge")
    found.conditions = {">": [{"var": "custom.amount"}, 5]}
    found.version += 1


def deactivate_rule(_tenant_id):
    first(Rule, name="Huge").is_active = False


def delete_rule(_tenant_id):
    db.session.delete(first(Rule, name="Huge"))


def change_default_outcome(tenant_id):
    first(ActionConfiguration, tenant_id=tenant_id, code="withdraw-funds").default_outcome = "REVIEW"


def add_data_point(tenant_id):
    db.session.add(CustomDataPoint(tenant_id=tenant_id, name="amount", data_type="number", model_type="action",
                                   description="", created_at=utcnow(), updated_at=utcnow()))


def add_list(tenant_id):
    db.session.add(CustomList(tenant_id=tenant_id, name="payees", kind="strings", items=["a"], item_count=1))


def add_webhook_endpoint(tenant_id):
    db.session.add(WebhookEndpoint(tenant_id=tenant_id, url="https://hooks.example/t", event_types=["action.created"]))


def override_token_lifetime(tenant_id):
    db.session.get(Tenant, tenant_id).client_token_ttl = 120


@pytest.mark.parametrize("change", [
    add_rule, edit_rule_conditions, deactivate_rule, delete_rule, change_default_outcome, add_data_point, add_list,
    add_webhook_endpoint, override_token_lifetime,
])
def test_every_configuration_change_gives_the_tenant_a_new_stamp(app, tenant, change):
    make_action(app, tenant.id, "withdraw-funds", rules=[rule("Huge", 0, "BLOCK", {">": [{"var": "custom.amount"}, 10]})])
    before = stamp(app, tenant.id)

    with app.app_context():
        change(tenant.id)
        db.session.commit()

    assert stamp(app, tenant.id) != before


def test_a_rolled_back_change_keeps_the_stamp(app, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[rule("Huge", 0, "BLOCK", {">": [{"var": "custom.amount"}, 10]})])
    before = stamp(app, tenant.id)

    with app.app_context():
        deactivate_rule(tenant.id)
        db.session.flush()
        db.session.rollback()

    assert stamp(app, tenant.id) == before


def test_tracking_and_user_changes_keep_the_stamp(app, api, tenant):
    make_action(app, tenant.id, "withdraw-funds")
    before = stamp(app, tenant.id)

    track(api, email="alice@example.com")
    assert api.patch("/users/alice", json={"username": "alice"}).status_code == 200
    with app.app_context():
        first(EndUser, tenant_id=tenant.id, user_id="alice").custom = {"tier": "gold"}
        db.session.commit()

    assert stamp(app, tenant.id) == before


def test_tracking_an_unknown_action_creates_it_and_the_next_track_sees_it(app, api, tenant):
    before = stamp(app, tenant.id)

    assert track(api, action="brand-new")["state"] == "ALLOW"
    assert stamp(app, tenant.id) != before
    assert track(api, action="brand-new")["state"] == "ALLOW"
    with app.app_context():
        assert len(db.session.execute(select(ActionConfiguration).filter_by(code="brand-new")).all()) == 1


def test_a_rule_edited_and_published_elsewhere_decides_the_very_next_track(app, api, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[rule("Huge", 0, "BLOCK", {">": [{"var": "custom.amount"}, 10]})])
    assert track(api, custom={"amount": 5})["state"] == "ALLOW"  # this process now holds the configuration

    with app.app_context():  # another session (in production: the console, another process)
        edit_rule_conditions(tenant.id)
        db.session.commit()
    assert track(api, custom={"amount": 6})["state"] == "ALLOW"  # a draft decides nothing

    with app.app_context():
        publish("cli", tenant.id, "withdraw-funds", note="Lower the limit.")
    assert track(api, custom={"amount": 6})["state"] == "BLOCK"


def test_a_warm_track_reads_no_configuration(app, api, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[rule("Huge", 0, "BLOCK", {">": [{"var": "custom.amount"}, 10]})])
    with app.app_context():
        for change in (add_list, add_data_point, add_webhook_endpoint):
            change(tenant.id)
        db.session.commit()
    track(api, custom={"amount": 5})

    with statements(app) as seen:
        assert track(api, user_id="bob", custom={"amount": 5})["state"] == "ALLOW"

    read = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert not [s for s in read for table in CONFIG_TABLES if re.search(rf"\bFROM {table}\b", s)]
    assert len(read) == 2, read  # the API key (with the tenant's stamp) and the user


def test_a_warm_track_runs_two_selects_and_at_most_two_inserts(app, api, tenant):
    # What README's "How track stays fast" states; a statement more on the hot path fails here.
    make_action(app, tenant.id, "withdraw-funds", rules=[rule("Huge", 0, "BLOCK", {">": [{"var": "custom.amount"}, 10]})])
    track(api, user_id="ann", custom={"amount": 5})

    for user_id, inserts in (("bob", ["end_user", "user_action"]),  # first seen
                             ("ann", ["user_action"])):  # known: its first state is on the action's row
        with statements(app) as seen:
            track(api, user_id=user_id, custom={"amount": 5})
        kinds = [s.split(None, 1)[0].upper() for s in seen]
        assert kinds.count("SELECT") == 2, seen
        assert [re.search(r"INSERT INTO (\w+)", s).group(1) for s in seen if s.lstrip().upper().startswith("INSERT")] == inserts
        assert set(kinds) <= {"SELECT", "INSERT"}, seen
