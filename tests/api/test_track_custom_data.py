"""Tracks read custom lists fresh and check custom values against their data points."""

from __future__ import annotations

from app.extensions import db
from app.models.base import utcnow
from app.services.rulesets import custom_lists
from tests.factories import make_action, rule
from tests.sql_statements import statements

COUNTRY_IN_HIGH_RISK = {"in": [{"var": "custom.country"}, {"var": "lists.high-risk"}]}


def track(api, user_id="alice", action="withdraw-funds", **body):
    response = api.post(f"/users/{user_id}/actions/{action}", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def stored_output(api, body, user_id="alice", action="withdraw-funds"):
    return api.get(f"/users/{user_id}/actions/{action}/{body['idempotencyKey']}").get_json()["output"]


def make_list(app, tenant_id, name, kind, text):
    with app.app_context():
        return custom_lists.import_list_cli(tenant_id, name, text, kind=kind, replace=True, now=utcnow())[0].id


def set_items(app, tenant_id, list_id, text):
    with app.app_context():
        custom_lists.import_items(None, list_id, text, replace=True, now=utcnow(), tenant_id=tenant_id)


def make_data_point(app, tenant_id, name, data_type, model_type="action"):
    from app.models import CustomDataPoint

    with app.app_context():
        db.session.add(CustomDataPoint(tenant_id=tenant_id, name=name, data_type=data_type, model_type=model_type,
                                       description="", created_at=utcnow(), updated_at=utcnow()))
        db.session.commit()


def test_editing_a_list_changes_the_next_track(api, app, tenant):
    list_id = make_list(app, tenant.id, "high-risk", "strings", "KP\nIR")
    make_action(app, tenant.id, "withdraw-funds", rules=[rule("High-risk country", 0, "BLOCK", COUNTRY_IN_HIGH_RISK)])

    assert track(api, custom={"country": "RU"})["state"] == "ALLOW"
    set_items(app, tenant.id, list_id, "KP\nIR\nRU")
    assert track(api, custom={"country": "RU"})["state"] == "BLOCK"
    set_items(app, tenant.id, list_id, "KP")
    assert track(api, custom={"country": "RU"})["state"] == "ALLOW"


def test_not_in_list_and_the_trace_names_the_list_instead_of_copying_it(api, app, tenant):
    make_list(app, tenant.id, "allowed", "strings", "NZ\nAU")
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Outside allowed countries", 0, "REVIEW", {"!": {"in": [{"var": "custom.country"}, {"var": "lists.allowed"}]}}),
    ])

    body = track(api, custom={"country": "US"})

    assert body["state"] == "REVIEW_REQUIRED"
    [condition] = stored_output(api, body)["rules"][0]["conditions"]
    assert condition["observed"] == "US" and condition["expected"] == {"var": "lists.allowed"}
    assert track(api, custom={"country": "NZ"})["state"] == "ALLOW"


def test_number_lists_match_numbers_only(api, app, tenant):
    make_list(app, tenant.id, "bad-bins", "numbers", "411111\n555555")
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Bad BIN", 0, "BLOCK", {"in": [{"var": "custom.bin"}, {"var": "lists.bad-bins"}]}),
    ])

    assert track(api, custom={"bin": 411111})["state"] == "BLOCK"
    assert track(api, custom={"bin": "411111"})["state"] == "ALLOW"  # a string is not that number


def test_a_missing_list_is_reported_and_matches_nothing(api, app, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[rule("High-risk country", 0, "BLOCK", COUNTRY_IN_HIGH_RISK)])

    body = track(api, custom={"country": "KP"})

    assert body["state"] == "ALLOW"
    assert stored_output(api, body)["missingLists"] == ["high-risk"]


def test_a_wrong_type_is_reported_in_the_output_and_does_not_match(api, app, tenant):
    make_data_point(app, tenant.id, "amount", "number")
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Big", 0, "BLOCK", {">": [{"var": "custom.amount"}, 1000]}),
    ])

    body = track(api, custom={"amount": "5000"})  # loose JsonLogic would read this string as a number

    assert body["state"] == "ALLOW"
    output = stored_output(api, body)
    assert output["dataPointErrors"] == [
        {"field": "custom.amount", "expectedType": "number", "receivedType": "text", "value": "5000"}]
    assert output["rules"][0]["conditions"][0]["observed"] is None
    assert track(api, custom={"amount": 5000})["state"] == "BLOCK"


def test_user_data_points_are_checked_too(api, app, tenant):
    make_data_point(app, tenant.id, "vip", "boolean", model_type="user")
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("VIP", 0, "REVIEW", {"==": [{"var": "user.custom.vip"}, True]}),
    ])
    track(api)  # creates the user
    assert api.patch("/users/alice", json={"custom": {"vip": "yes"}}).status_code == 200

    body = track(api)

    assert body["state"] == "ALLOW"
    assert stored_output(api, body)["dataPointErrors"][0]["field"] == "user.custom.vip"


def test_good_values_and_unread_data_points_add_nothing_to_the_output(api, app, tenant):
    make_data_point(app, tenant.id, "amount", "number")
    make_data_point(app, tenant.id, "note", "number")
    make_action(app, tenant.id, "withdraw-funds", rules=[rule("Big", 0, "BLOCK", {">": [{"var": "custom.amount"}, 1000]})])

    body = track(api, custom={"amount": 50, "note": "not read by any rule"})

    assert body["state"] == "ALLOW"
    output = stored_output(api, body)
    assert "dataPointErrors" not in output and "missingLists" not in output


def test_lists_load_once_per_configuration_and_again_after_an_edit(api, app, tenant):
    list_id = make_list(app, tenant.id, "high-risk", "strings", "KP")
    make_list(app, tenant.id, "other", "strings", "XX")
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("A", 0, "BLOCK", COUNTRY_IN_HIGH_RISK),
        rule("B", 1, "REVIEW", {"in": [{"var": "custom.city"}, {"var": "lists.other"}]}),
    ])
    make_action(app, tenant.id, "sign-in", rules=[rule("Big", 0, "BLOCK", {">": [{"var": "custom.amount"}, 1000]})])

    def list_queries(action, **body):
        with statements(app) as seen:
            state = track(api, action=action, **body)["state"]
        return len([s for s in seen if "FROM custom_list" in s]), state

    assert list_queries("withdraw-funds", custom={"country": "NZ"}) == (1, "ALLOW")  # both lists, one query
    assert list_queries("withdraw-funds", custom={"country": "NZ"}) == (0, "ALLOW")  # kept with the configuration
    assert list_queries("sign-in") == (0, "ALLOW")  # its rules read no list
    set_items(app, tenant.id, list_id, "KP\nNZ")
    assert list_queries("withdraw-funds", custom={"country": "NZ"}) == (1, "BLOCK")  # the edit decides at once


def test_the_console_test_action_sees_the_lists(app, tenant):
    from app.services.decisions.simulator import simulate_action

    make_list(app, tenant.id, "high-risk", "strings", "KP")
    make_action(app, tenant.id, "withdraw-funds", rules=[rule("High-risk country", 0, "BLOCK", COUNTRY_IN_HIGH_RISK)])

    with app.app_context():
        simulation = simulate_action(tenant.id, "withdraw-funds", "alice", {"custom": {"country": "KP"}})

    assert simulation.state == "BLOCK"
