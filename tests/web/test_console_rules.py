"""Console rules: the editor and its condition builder, advanced JsonLogic, order, on/off, delete."""

from __future__ import annotations

import html
import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Rule
from tests.factories import make_action, rule
from tests.web.conftest import audit_events

pytestmark = pytest.mark.usefixtures("tenant")

BASE = {"name": "Large amount", "description": "", "outcome": "CHALLENGE", "is_active": "y", "mode": "builder"}
AMOUNT_OVER_1000 = {"g-0-join": "and", "c-0-0-field": "custom", "c-0-0-custom": "amount", "c-0-0-type": "number",
                    "c-0-0-op": "gt", "c-0-0-value": "1000"}


@pytest.fixture
def action(app, tenant):
    make_action(app, tenant.id, "withdraw")
    return "withdraw"


def _rules(app) -> list[dict]:
    with app.app_context():
        rows = db.session.execute(select(Rule).order_by(Rule.priority)).scalars()
        return [{"id": r.id, "name": r.name, "priority": r.priority, "active": r.is_active, "version": r.version,
                 "conditions": r.conditions, "outcome": r.outcome.value} for r in rows]


# ---------------------------------------------------------------------------------------------
# Editor and builder


def test_new_rule_page_has_the_builder(admin, action):
    page = admin.get("/console/actions/withdraw/rules/new").get_data(as_text=True)

    assert "<html" in page and 'id="conditions"' in page
    assert '<select id="g-0-join" name="g-0-join"' in page
    assert 'value="add-condition:0"' in page and 'hx-post="/console/actions/withdraw/rules/builder"' in page
    assert '<label for="name">Name</label>' in page and "<legend>Conditions</legend>" in page


def test_builder_saves_json_logic_and_the_rule_goes_last(app, admin, action, tenant):
    make_action(app, tenant.id, "other", rules=[rule("Elsewhere", 0, "BLOCK")])
    first = admin.post("/console/actions/withdraw/rules/new", data={**BASE, **AMOUNT_OVER_1000})
    second = admin.post("/console/actions/withdraw/rules/new", data={**BASE, "name": "Everything", "g-0-join": "and"})

    assert first.status_code == 303 and first.headers["Location"] == "/console/actions/withdraw/rules"
    assert second.status_code == 303
    mine = [r for r in _rules(app) if r["name"] != "Elsewhere"]
    assert [(r["name"], r["priority"]) for r in mine] == [("Large amount", 0), ("Everything", 1)]
    assert mine[0]["conditions"] == {"and": [{">": [{"var": "custom.amount"}, 1000]}]}
    assert mine[1]["conditions"] is None
    (created, _) = audit_events(app, "rule.created")
    assert created.after["name"] == "Large amount" and created.after["action"] == "withdraw"


def test_opening_a_rule_shows_the_same_tree(app, admin, action):
    admin.post("/console/actions/withdraw/rules/new", data={**BASE, **AMOUNT_OVER_1000, "g-0-join": "or"})
    rule_id = _rules(app)[0]["id"]

    page = admin.get(f"/console/actions/withdraw/rules/{rule_id}").get_data(as_text=True)

    assert '<option value="or" selected>' in page
    assert '<option value="custom" selected>' in page and 'name="c-0-0-custom" value="amount"' in page
    assert '<option value="number" selected>' in page and '<option value="gt" selected>' in page
    assert 'type="number" step="any" id="c-0-0-value" name="c-0-0-value" value="1000"' in page


def test_builder_endpoint_adds_and_removes_conditions_and_groups(admin, action):
    url = "/console/actions/withdraw/rules/builder"

    added = admin.post(url, data={**AMOUNT_OVER_1000, "mode": "builder", "builder-op": "add-condition:0"}, htmx=True)
    grouped = admin.post(url, data={**AMOUNT_OVER_1000, "mode": "builder", "builder-op": "add-group:0"}, htmx=True)
    nested = admin.post(url, data={**AMOUNT_OVER_1000, "g-0-1-join": "or", "c-0-1-0-field": "",
                                   "mode": "builder", "builder-op": "add-group:0-1"}, htmx=True)
    removed = admin.post(url, data={**AMOUNT_OVER_1000, "mode": "builder", "builder-op": "remove:0-0"}, htmx=True)

    page = added.get_data(as_text=True)
    assert added.status_code == 200 and "<html" not in page and page.lstrip().startswith('<div id="conditions"')
    assert 'name="c-0-1-field"' in page and 'id="c-0-1-field" name="c-0-1-field"' in page
    assert "autofocus" in page[page.index('id="c-0-1-field"'):page.index('id="c-0-1-op"')]
    assert 'value="1000"' in page  # the existing row keeps its state
    assert 'name="g-0-1-join"' in grouped.get_data(as_text=True) and 'name="c-0-1-0-field"' in grouped.get_data(as_text=True)
    nested_page = nested.get_data(as_text=True)
    assert 'name="g-0-1-1-join"' in nested_page and 'name="c-0-1-1-0-field"' in nested_page
    assert 'value="add-group:0-1-1"' not in nested_page  # three levels deep is the limit
    assert 'name="c-0-0-field"' not in removed.get_data(as_text=True)


def test_without_js_builder_buttons_re_render_the_page_without_saving(app, admin, action):
    response = admin.post("/console/actions/withdraw/rules/new",
                          data={**BASE, **AMOUNT_OVER_1000, "builder-op": "add-condition:0"})

    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in page
    assert 'name="c-0-1-field"' in page and 'value="Large amount"' in page
    assert _rules(app) == []


def test_choosing_a_field_narrows_the_operators(admin, action):
    response = admin.post("/console/actions/withdraw/rules/builder", htmx=True, data={
        "mode": "builder", "g-0-join": "and", "c-0-0-field": "user.isEnrolled", "c-0-0-op": "gt", "focus": "c-0-0-field"})

    page = response.get_data(as_text=True)
    ops = page[page.index('id="c-0-0-op"'):page.index("</select>", page.index('id="c-0-0-op"'))]
    assert "is true" in ops and "is greater than" not in ops
    assert 'name="c-0-0-value"' in page  # no operator chosen yet: the value box stays
    assert "Whether the user has at least one verified authenticator." in page
    assert 'class="error"' not in page  # half-filled rows are judged on save, not while editing


@pytest.mark.parametrize(("fields", "error_key", "message"), [
    ({"c-0-0-value": "lots"}, "0-0-value", "Enter a number."),
    ({"c-0-0-field": ""}, "0-0-field", "Choose a field."),
    ({"c-0-0-custom": "bad name"}, "0-0-field", "Name the custom field"),
    ({"c-0-0-op": ""}, "0-0-op", "Choose an operator that fits a number field."),
])
def test_builder_errors_sit_next_to_the_offending_input(app, admin, action, fields, error_key, message):
    response = admin.post("/console/actions/withdraw/rules/new", data={**BASE, **AMOUNT_OVER_1000, **fields})

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'<p class="error" id="{error_key}-error">{message}' in page
    assert f'aria-describedby="{error_key}-error"' in page
    assert _rules(app) == []


def test_rule_form_errors(app, admin, action):
    response = admin.post("/console/actions/withdraw/rules/new", data={
        **BASE, **AMOUNT_OVER_1000, "name": "", "verification_methods": ["PASSKEY"],
        "default_verification_method": "SMS"})

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Give the rule a name." in page and "The default method must be one of this rule&#39;s methods." in page


def test_editing_bumps_the_version_and_is_audited(app, admin, action):
    admin.post("/console/actions/withdraw/rules/new", data={**BASE, **AMOUNT_OVER_1000})
    (before,) = _rules(app)

    response = admin.post(f"/console/actions/withdraw/rules/{before['id']}", data={
        **BASE, **AMOUNT_OVER_1000, "c-0-0-value": "2000", "outcome": "BLOCK",
        "verification_methods": ["PASSKEY"], "default_verification_method": "PASSKEY"})

    assert response.status_code == 303
    (after,) = _rules(app)
    assert after["version"] == before["version"] + 1 and after["priority"] == before["priority"]
    assert after["conditions"] == {"and": [{">": [{"var": "custom.amount"}, 2000]}]} and after["outcome"] == "BLOCK"
    (event,) = audit_events(app, "rule.updated")
    assert event.before["outcome"] == "CHALLENGE" and event.after["outcome"] == "BLOCK"
    assert event.after["verificationMethods"] == ["PASSKEY"]


def test_an_edited_rule_decides_the_next_track(app, admin, action, api):
    admin.post("/console/actions/withdraw/rules/new", data={**BASE, **AMOUNT_OVER_1000, "outcome": "BLOCK"})
    rule_id = _rules(app)[0]["id"]
    track = lambda: api.post("/users/u1/actions/withdraw", json={"custom": {"amount": 1500}}).get_json()["state"]  # noqa: E731
    assert track() == "BLOCK"

    admin.post(f"/console/actions/withdraw/rules/{rule_id}", data={**BASE, **AMOUNT_OVER_1000, "c-0-0-value": "2000",
                                                                  "outcome": "BLOCK"})

    assert track() == "ALLOW"


# ---------------------------------------------------------------------------------------------
# Advanced mode


def test_switching_to_advanced_shows_the_generated_json_logic(admin, action):
    response = admin.post("/console/actions/withdraw/rules/builder", htmx=True,
                          data={**AMOUNT_OVER_1000, "mode": "builder", "builder-op": "to-advanced"})

    page = response.get_data(as_text=True)
    assert 'name="mode" value="advanced"' in page and "This is the JsonLogic the builder generated." in page
    textarea = page[page.index("<textarea"):page.index("</textarea>")]
    assert json.loads(html.unescape(textarea[textarea.index(">") + 1:])) == {
        "and": [{">": [{"var": "custom.amount"}, 1000]}]}
    assert 'hx-post="/console/actions/withdraw/rules/validate"' in page and 'aria-live="polite"' in page


def test_back_to_the_builder_when_it_can_show_the_json(admin, action):
    data = {"mode": "advanced", "conditions_json": '{"in": ["PASSKEY", {"var": "user.enrolledVerificationMethods"}]}',
            "builder-op": "to-builder"}

    page = admin.post("/console/actions/withdraw/rules/builder", data=data, htmx=True).get_data(as_text=True)

    assert 'name="mode" value="builder"' in page
    assert '<option value="user.enrolledVerificationMethods" selected>' in page and '<option value="contains" selected>' in page


def test_rules_the_builder_cannot_show_open_in_advanced_mode_with_a_note(app, admin, action, tenant):
    expr = {"if": [{"var": "custom.vip"}, False, {">": [{"var": "custom.amount"}, 10]}]}
    (rule_id,) = make_action(app, tenant.id, "pay", rules=[rule("Odd", 0, "REVIEW", expr)])

    page = admin.get(f"/console/actions/pay/rules/{rule_id}").get_data(as_text=True)
    back = admin.post("/console/actions/pay/rules/builder", htmx=True, data={
        "mode": "advanced", "conditions_json": json.dumps(expr), "builder-op": "to-builder"}).get_data(as_text=True)

    assert 'name="mode" value="advanced"' in page and "The builder cannot show this condition" in page
    assert "&#34;if&#34;" in page
    assert 'name="mode" value="advanced"' in back and "keep editing it as JsonLogic" in back


@pytest.mark.parametrize(("text", "message"), [
    ('{"and": [{">": [{"var": "custom.amount"}]}]}', "&#39;&gt;&#39; takes 2 arguments, got 1 — at and[0]"),
    ('{"and": [{"bogus": [1, 2]}]}', "unknown operator &#39;bogus&#39; — at and[0]"),
    ('{"and": [', "Not valid JSON: Expecting value (line 1, column 10)."),
    ('{">": [{"var": "custom.amount"}, 1e400]}', "&gt;[1]: number out of range"),
    ('{">": [{"var": "custom.amount"}, -Infinity]}', "&gt;[1]: not a finite number"),
    ('{"!": ' * 2_000 + "true" + "}" * 2_000, "JSON nested too deeply (limit 64)."),
])
def test_live_validation_names_the_bad_node(admin, action, text, message):
    response = admin.post("/console/actions/withdraw/rules/validate", data={"conditions_json": text}, htmx=True)

    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in page
    assert message in page and "Invalid" in page


def test_live_validation_says_valid(admin, action):
    page = admin.post("/console/actions/withdraw/rules/validate", htmx=True,
                      data={"conditions_json": '{"==": [{"var": "user.email"}, "a@b.c"]}'}).get_data(as_text=True)

    assert page.strip() == '<span class="ok">Valid</span>'


def test_saving_invalid_advanced_json_shows_the_path(app, admin, action):
    response = admin.post("/console/actions/withdraw/rules/new", data={
        **BASE, "mode": "advanced", "conditions_json": '{"or": [true, {"in": [1, 2]}]}'})

    assert response.status_code == 400
    assert "at or[1].in[1]" in response.get_data(as_text=True)
    assert _rules(app) == []


@pytest.mark.parametrize(("text", "message"), [
    ('{">": [{"var": "custom.amount"}, NaN]}', "&gt;[1]: not a finite number"),
    ('{"and": [' * 2_000 + "true" + "]}" * 2_000, "JSON nested too deeply (limit 64)."),
])
def test_saving_advanced_json_refuses_what_json_cannot_hold(app, admin, action, text, message):
    response = admin.post("/console/actions/withdraw/rules/new", data={**BASE, "mode": "advanced", "conditions_json": text})

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _rules(app) == []


def test_switching_deeply_nested_json_to_the_builder_says_why_not(admin, action):
    page = admin.post("/console/actions/withdraw/rules/builder", htmx=True, data={
        "mode": "advanced", "conditions_json": "[" * 10_000 + "]" * 10_000, "builder-op": "to-builder",
    }).get_data(as_text=True)

    assert 'name="mode" value="advanced"' in page and "JSON nested too deeply (limit 64)." in page


def test_saving_advanced_json(app, admin, action):
    expr = {"if": [{"var": "custom.vip"}, False, True]}

    response = admin.post("/console/actions/withdraw/rules/new", data={
        **BASE, "mode": "advanced", "conditions_json": json.dumps(expr)})

    assert response.status_code == 303 and _rules(app)[0]["conditions"] == expr


# ---------------------------------------------------------------------------------------------
# The list: order, on/off, delete


@pytest.fixture
def three(app, tenant):
    return make_action(app, tenant.id, "signIn", rules=[
        rule("A", 0, "ALLOW"), rule("B", 5, "REVIEW"), rule("C", 99, "BLOCK", isActive=False)])


def test_rules_tab_reads_first_match_wins_with_summaries(admin, app, tenant):
    make_action(app, tenant.id, "signIn", rules=[
        rule("Big", 0, "CHALLENGE", {"and": [{">": [{"var": "custom.amount"}, 1000]},
                                             {"or": [{"==": [{"var": "user.isEnrolled"}, False]},
                                                     {"missing": ["device.id"]}]}]}),
        rule("Raw", 1, "BLOCK", {"if": [True, True, False]}),
    ])

    page = admin.get("/console/actions/signIn").get_data(as_text=True)

    assert "First match wins, from the top." in page
    assert page.index("Big") < page.index("Raw")
    assert "custom.amount is greater than 1000 AND (User is enrolled is false OR Device ID does not exist)" in page
    assert "Advanced condition (JsonLogic)" in page


def test_move_down_swaps_priorities_in_one_step(app, admin, three):
    a, b, c = three

    response = admin.post(f"/console/actions/signIn/rules/{a}/move", data={"direction": "down"})

    assert response.status_code == 303
    assert [(r["name"], r["priority"]) for r in _rules(app)] == [("B", 0), ("A", 5), ("C", 99)]
    (event,) = audit_events(app, "rule.moved")
    assert event.before == {"name": "A", "priority": 0} and event.after == {"name": "A", "priority": 5}


def test_move_up_with_htmx_returns_the_list_fragment(app, admin, three):
    a, b, c = three

    response = admin.post(f"/console/actions/signIn/rules/{c}/move", data={"direction": "up"}, htmx=True)

    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in page and page.lstrip().startswith('<section id="rules"')
    assert [(r["name"], r["priority"]) for r in _rules(app)] == [("A", 0), ("C", 5), ("B", 99)]
    assert page.index(">C</a>") < page.index(">B</a>") and "“C” moved up." in page


def test_moving_past_the_ends_changes_nothing(app, admin, three):
    a, _, c = three

    admin.post(f"/console/actions/signIn/rules/{a}/move", data={"direction": "up"})
    admin.post(f"/console/actions/signIn/rules/{c}/move", data={"direction": "down"})

    assert [r["priority"] for r in _rules(app)] == [0, 5, 99]
    assert audit_events(app, "rule.moved") == []


def test_moving_with_all_100_priorities_taken_is_refused_with_a_message(app, admin, tenant):
    ids = make_action(app, tenant.id, "full", rules=[rule(f"R{i}", i, "ALLOW") for i in range(100)])

    response = admin.post(f"/console/actions/full/rules/{ids[0]}/move", data={"direction": "down"}, htmx=True)

    assert response.status_code == 409 and "All 100 priorities are in use" in response.get_data(as_text=True)
    assert [r["priority"] for r in _rules(app)][:2] == [0, 1] and _rules(app)[0]["name"] == "R0"
    assert admin.post("/console/actions/full/rules/new", data={**BASE, "g-0-join": "and"}).status_code == 400


def test_new_rules_fill_the_first_gap_when_99_is_taken(app, admin, three):
    admin.post("/console/actions/signIn/rules/new", data={**BASE, "g-0-join": "and"})

    assert sorted(r["priority"] for r in _rules(app)) == [0, 1, 5, 99]


def test_toggle_turns_a_rule_off_and_on(app, admin, three):
    a, _, _ = three

    off = admin.post(f"/console/actions/signIn/rules/{a}/active", data={"active": "false"}, htmx=True)
    assert _rules(app)[0]["active"] is False and _rules(app)[0]["version"] == 2
    assert "<html" not in off.get_data(as_text=True) and 'aria-pressed="false"' in off.get_data(as_text=True)
    on = admin.post(f"/console/actions/signIn/rules/{a}/active", data={"active": "true"})

    assert on.status_code == 303 and _rules(app)[0]["active"] is True
    assert [e.event for e in audit_events(app, "rule.deactivated") + audit_events(app, "rule.activated")] == [
        "rule.deactivated", "rule.activated"]


def test_delete_rule_after_confirmation(app, admin, three):
    a, _, _ = three

    page = admin.get(f"/console/actions/signIn/rules/{a}/delete").get_data(as_text=True)
    assert "Delete rule “A”?" in page and [r["name"] for r in _rules(app)] == ["A", "B", "C"]
    response = admin.post(f"/console/actions/signIn/rules/{a}/delete")

    assert response.status_code == 303 and [r["name"] for r in _rules(app)] == ["B", "C"]
    (event,) = audit_events(app, "rule.deleted")
    assert event.before["name"] == "A" and event.before["action"] == "signIn"


def test_rule_urls_check_the_action(app, admin, three, tenant):
    make_action(app, tenant.id, "other")
    a, _, _ = three

    assert admin.get(f"/console/actions/other/rules/{a}").status_code == 404
    assert admin.post(f"/console/actions/other/rules/{a}/move", data={"direction": "down"}).status_code == 404


def test_rule_changes_need_csrf_and_admin(app, admin, reviewer, three):
    a, _, _ = three

    assert admin.client.post(f"/console/actions/signIn/rules/{a}/active", data={"active": "false"}).status_code == 400
    assert admin.client.post("/console/actions/signIn/rules/builder", data={}).status_code == 400
    assert reviewer.post(f"/console/actions/signIn/rules/{a}/move", data={"direction": "down"}).status_code == 403
    assert reviewer.get(f"/console/actions/signIn/rules/{a}").status_code == 403
    assert reviewer.post("/console/actions/signIn/rules/validate", data={"conditions_json": "{}"}).status_code == 403
    assert _rules(app)[0]["active"] is True
