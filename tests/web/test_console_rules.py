"""Console rules: the editor and its condition builder, advanced JsonLogic, order, on/off, delete."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.domain.catalogue import CATALOGUE
from app.extensions import db
from app.models import Rule
from tests.factories import make_action, rule
from tests.html import field_error, fragment_root, is_fragment, option_texts, parse, selected_value, text_of
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


def _control(page, name: str):
    """The form control (input, select, textarea or button) with that name, or None."""
    return page.find(["input", "select", "textarea", "button"], attrs={"name": name})


def _conditions_json(page):
    """The JsonLogic in the advanced editor's textarea, parsed."""
    return json.loads(page.find("textarea", attrs={"name": "conditions_json"}).get_text())


def _rule_names(page) -> list[str]:
    return [text_of(link) for link in page.select("#rules a.rule-name")]


# ---------------------------------------------------------------------------------------------
# Editor and builder


def test_new_rule_page_has_the_builder(admin, action):
    response = admin.get("/console/actions/withdraw/rules/new")

    page = parse(response)
    assert not is_fragment(response) and page.find(id="conditions") is not None
    assert page.find("select", id="g-0-join")["name"] == "g-0-join"
    add = page.find("button", attrs={"name": "builder-op", "value": "add-condition:0"})
    assert add["hx-post"] == "/console/actions/withdraw/rules/builder"
    assert text_of(page.find("label", attrs={"for": "name"})) == "Name"
    assert "Conditions" in [text_of(legend) for legend in page.find_all("legend")]


def test_the_field_picker_groups_the_catalogue_by_what_it_describes(admin, action):
    page = parse(admin.post("/console/actions/withdraw/rules/builder", htmx=True,
                            data={"mode": "builder", "g-0-join": "and", "builder-op": "add-condition:0"}))

    picker = page.find("select", id="c-0-0-field")
    groups = {group["label"]: [option["value"] for option in group.find_all("option")]
              for group in picker.find_all("optgroup")}
    assert list(groups) == ["Action", "User", "Device", "IP", "Velocity", "Your data"]
    offered = [path for paths in groups.values() for path in paths]
    assert sorted(offered) == sorted([entry.path for entry in CATALOGUE] + ["custom"])  # each once
    assert {"user.email", "user.isEnrolled", "user.accountAgeDays"} <= set(groups["User"])
    assert {"device.id", "device.isNew", "userAgent"} <= set(groups["Device"])
    assert {"ip.address", "ip.countryCode", "ip.impossibleTravel"} <= set(groups["IP"])
    assert all(path.startswith("velocity.") for path in groups["Velocity"]) and len(groups["Velocity"]) == 44
    assert groups["Your data"] == ["custom"]


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

    page = parse(admin.get(f"/console/actions/withdraw/rules/{rule_id}"))

    assert selected_value(page, "g-0-join") == "or"
    assert selected_value(page, "c-0-0-field") == "custom" and _control(page, "c-0-0-custom")["value"] == "amount"
    assert selected_value(page, "c-0-0-type") == "number" and selected_value(page, "c-0-0-op") == "gt"
    value = page.find("input", id="c-0-0-value")
    # A text box: a browser would empty a number box holding what it cannot read (1e999), hiding why.
    assert (value["type"], value["name"], value["value"]) == ("text", "c-0-0-value", "1000")


def test_builder_endpoint_adds_and_removes_conditions_and_groups(admin, action):
    url = "/console/actions/withdraw/rules/builder"

    added = admin.post(url, data={**AMOUNT_OVER_1000, "mode": "builder", "builder-op": "add-condition:0"}, htmx=True)
    grouped = admin.post(url, data={**AMOUNT_OVER_1000, "mode": "builder", "builder-op": "add-group:0"}, htmx=True)
    nested = admin.post(url, data={**AMOUNT_OVER_1000, "g-0-1-join": "or", "c-0-1-0-field": "",
                                   "mode": "builder", "builder-op": "add-group:0-1"}, htmx=True)
    removed = admin.post(url, data={**AMOUNT_OVER_1000, "mode": "builder", "builder-op": "remove:0-0"}, htmx=True)

    page = fragment_root(added)
    assert added.status_code == 200 and (page.name, page.get("id")) == ("div", "conditions")
    new_field = page.find("select", id="c-0-1-field")
    assert new_field["name"] == "c-0-1-field" and new_field.has_attr("autofocus")
    assert page.find("input", id="c-0-0-value")["value"] == "1000"  # the existing row keeps its state
    grouped_page = parse(grouped)
    assert _control(grouped_page, "g-0-1-join") is not None and _control(grouped_page, "c-0-1-0-field") is not None
    nested_page = parse(nested)
    assert _control(nested_page, "g-0-1-1-join") is not None and _control(nested_page, "c-0-1-1-0-field") is not None
    assert nested_page.find(attrs={"value": "add-group:0-1-1"}) is None  # three levels deep is the limit
    assert _control(parse(removed), "c-0-0-field") is None


def test_without_js_builder_buttons_re_render_the_page_without_saving(app, admin, action):
    response = admin.post("/console/actions/withdraw/rules/new",
                          data={**BASE, **AMOUNT_OVER_1000, "builder-op": "add-condition:0"})

    page = parse(response)
    assert response.status_code == 200 and not is_fragment(response)
    assert _control(page, "c-0-1-field") is not None and page.find("input", id="name")["value"] == "Large amount"
    assert _rules(app) == []


def test_choosing_a_field_narrows_the_operators(admin, action):
    response = admin.post("/console/actions/withdraw/rules/builder", htmx=True, data={
        "mode": "builder", "g-0-join": "and", "c-0-0-field": "user.isEnrolled", "c-0-0-op": "gt", "focus": "c-0-0-field"})

    page = parse(response)
    ops = option_texts(page, "c-0-0-op").values()
    assert "is true" in ops and "is greater than" not in ops
    assert _control(page, "c-0-0-value") is not None  # no operator chosen yet: the value box stays
    hint = page.find("select", id="c-0-0-field").find_next_sibling("p", class_="hint")
    assert text_of(hint) == "Whether the user has at least one verified authenticator."
    assert page.select(".error") == []  # half-filled rows are judged on save, not while editing


@pytest.mark.parametrize(("fields", "error_key", "message"), [
    ({"c-0-0-value": "lots"}, "0-0-value", "Enter a number."),
    ({"c-0-0-field": ""}, "0-0-field", "Choose a field."),
    ({"c-0-0-custom": "bad name"}, "0-0-field", "Name the custom field"),
    ({"c-0-0-op": ""}, "0-0-op", "Choose an operator that fits a number field."),
])
def test_builder_errors_sit_next_to_the_offending_input(app, admin, action, fields, error_key, message):
    response = admin.post("/console/actions/withdraw/rules/new", data={**BASE, **AMOUNT_OVER_1000, **fields})

    assert response.status_code == 400
    assert field_error(response, error_key, control=f"c-{error_key}").startswith(message)
    assert _rules(app) == []


@pytest.mark.parametrize("huge", ["1e999", "-1e999", "9" * 400])
def test_a_number_too_large_to_store_keeps_its_text_and_says_why(app, admin, action, huge):
    # Not "Enter a number.": the API refuses it as out of range, and the builder says so.
    response = admin.post("/console/actions/withdraw/rules/new", data={**BASE, **AMOUNT_OVER_1000, "c-0-0-value": huge})

    assert response.status_code == 400
    assert field_error(response, "0-0-value", control="c-0-0-value") == (
        "This number is too large: a rule holds numbers from -1.8e308 to 1.8e308.")
    assert parse(response).find("input", id="c-0-0-value")["value"] == huge
    assert _rules(app) == []


def test_the_largest_number_the_api_takes_saves(app, admin, action):
    response = admin.post("/console/actions/withdraw/rules/new", data={**BASE, **AMOUNT_OVER_1000, "c-0-0-value": "1.7e308"})

    assert response.status_code == 303
    assert _rules(app)[0]["conditions"] == {"and": [{">": [{"var": "custom.amount"}, 1.7e308]}]}


@pytest.mark.parametrize(("fields", "error_key", "control", "message"), [
    ({"name": "n" * 121}, "name", "name", "Name can be at most 120 characters; this one has 121."),
    ({"description": "d" * 2001}, "description", "description",
     "Description can be at most 2,000 characters; this one has 2,001."),
    ({"c-0-0-custom": "a" * 101}, "0-0-field", "c-0-0-custom",
     "A custom field name can be at most 100 characters; this one has 101."),
    ({"c-0-0-type": "text", "c-0-0-op": "eq", "c-0-0-value": "v" * 10_001}, "0-0-value", "c-0-0-value",
     "A value can be at most 10,000 characters; this one has 10,001."),
    ({"c-0-0-type": "text", "c-0-0-op": "in", "c-0-0-value": "v," * 5_001}, "0-0-value", "c-0-0-value",
     "A value can be at most 10,000 characters; this one has 10,002. Put a longer list in a custom list, under Data."),
])
def test_text_longer_than_its_limit_is_kept_and_refused_with_its_length(app, admin, action, fields, error_key, control,
                                                                        message):
    response = admin.post("/console/actions/withdraw/rules/new", data={**BASE, **AMOUNT_OVER_1000, **fields})

    assert response.status_code == 400
    assert field_error(response, error_key, control=control) == message
    shown = parse(response).find(id=control)  # all of it, not cut at the limit
    assert (shown.get_text().lstrip("\r\n") if shown.name == "textarea" else shown["value"]) == fields[control]
    assert _rules(app) == []


def test_no_text_box_of_the_editor_cuts_what_is_typed_into_it(admin, action):
    # A maxlength would make the browser drop what is past it without a word; the server says instead.
    page = parse(admin.post("/console/actions/withdraw/rules/builder", htmx=True, data={
        "mode": "builder", "g-0-join": "and", "c-0-0-field": "custom", "c-0-0-type": "text", "c-0-0-op": "eq"}))
    editor = parse(admin.get("/console/actions/withdraw/rules/new"))

    boxes = [*page.select("input[type=text], textarea"), *editor.select("input[type=text], textarea")]
    assert {box["id"] for box in boxes} >= {"c-0-0-custom", "c-0-0-value", "name", "description"}
    assert [box["id"] for box in boxes if box.has_attr("maxlength")] == []


def test_rule_form_errors(app, admin, action):
    response = admin.post("/console/actions/withdraw/rules/new", data={
        **BASE, **AMOUNT_OVER_1000, "name": "", "verification_methods": ["PASSKEY"],
        "default_verification_method": "SMS"})

    assert response.status_code == 400
    assert field_error(response, "name") == "Give the rule a name."
    assert field_error(response, "default_verification_method") == "The default method must be one of this rule's methods."


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


def test_an_edited_rule_decides_the_next_track_once_published(app, admin, action, api):
    admin.post("/console/actions/withdraw/rules/new", data={**BASE, **AMOUNT_OVER_1000, "outcome": "BLOCK"})
    rule_id = _rules(app)[0]["id"]
    track = lambda: api.post("/users/u1/actions/withdraw", json={"custom": {"amount": 1500}}).get_json()["state"]  # noqa: E731
    assert track() == "ALLOW"  # a draft
    admin.post("/console/actions/withdraw/publish", data={"note": "Block large amounts."})
    assert track() == "BLOCK"

    admin.post(f"/console/actions/withdraw/rules/{rule_id}", data={**BASE, **AMOUNT_OVER_1000, "c-0-0-value": "2000",
                                                                  "outcome": "BLOCK"})
    assert track() == "BLOCK"
    admin.post("/console/actions/withdraw/publish", data={"note": "Only above 2000."})

    assert track() == "ALLOW"


# ---------------------------------------------------------------------------------------------
# Advanced mode


def test_switching_to_advanced_shows_the_generated_json_logic(admin, action):
    response = admin.post("/console/actions/withdraw/rules/builder", htmx=True,
                          data={**AMOUNT_OVER_1000, "mode": "builder", "builder-op": "to-advanced"})

    page = parse(response)
    assert _control(page, "mode")["value"] == "advanced"
    assert "This is the JsonLogic the builder generated." in text_of(page.select_one('#conditions .note[role="status"]'))
    assert _conditions_json(page) == {"and": [{">": [{"var": "custom.amount"}, 1000]}]}
    textarea = page.find("textarea", attrs={"name": "conditions_json"})
    assert textarea["hx-post"] == "/console/actions/withdraw/rules/validate"
    assert page.select_one(textarea["hx-target"])["aria-live"] == "polite"


def test_back_to_the_builder_when_it_can_show_the_json(admin, action):
    data = {"mode": "advanced", "conditions_json": '{"in": ["PASSKEY", {"var": "user.enrolledVerificationMethods"}]}',
            "builder-op": "to-builder"}

    page = parse(admin.post("/console/actions/withdraw/rules/builder", data=data, htmx=True))

    assert _control(page, "mode")["value"] == "builder"
    assert selected_value(page, "c-0-0-field") == "user.enrolledVerificationMethods"
    assert selected_value(page, "c-0-0-op") == "contains"


def test_rules_the_builder_cannot_show_open_in_advanced_mode_with_a_note(app, admin, action, tenant):
    expr = {"if": [{"var": "custom.vip"}, False, {">": [{"var": "custom.amount"}, 10]}]}
    (rule_id,) = make_action(app, tenant.id, "pay", rules=[rule("Odd", 0, "REVIEW", expr)])

    page = parse(admin.get(f"/console/actions/pay/rules/{rule_id}"))
    back = parse(admin.post("/console/actions/pay/rules/builder", htmx=True, data={
        "mode": "advanced", "conditions_json": json.dumps(expr), "builder-op": "to-builder"}))

    assert _control(page, "mode")["value"] == "advanced"
    assert "The builder cannot show this condition" in text_of(page.select_one("#conditions .note"))
    assert _conditions_json(page) == expr
    assert _control(back, "mode")["value"] == "advanced" and "keep editing it as JsonLogic" in text_of(back.select_one(".note"))


def _verdict(source) -> tuple[str, str | None]:
    """The raw editor's verdict: its message, and the engine's path of the problem, which only a closed
    "Technical details" disclosure shows."""
    page = parse(source)
    message = page.select_one(".error, .ok")
    details = page.find("details")
    if details is None:
        return text_of(message), None
    assert text_of(details.summary) == "Technical details" and not details.has_attr("open")
    assert details.find("code").find_parent("details") is details
    assert details.find("code").get_text() not in text_of(message)  # the path is not in the sentence
    return text_of(message), details.find("code").get_text()


TOO_LARGE = "Invalid: This number is too large: a rule holds numbers from -1.8e308 to 1.8e308."
NOT_A_NUMBER = "Invalid: Not a number a rule can hold: JSON has no NaN or Infinity."


@pytest.mark.parametrize(("text", "message", "path"), [
    ('{"and": [{">": [{"var": "custom.amount"}]}]}', "Invalid: '>' takes 2 arguments, got 1.", "and[0]"),
    ('{"and": [{"bogus": [1, 2]}]}', "Invalid: Unknown operator 'bogus'.", "and[0]"),
    ('{"and": [', "Invalid: Not valid JSON: Expecting value (line 1, column 10).", None),
    ('{">": [{"var": "custom.amount"}, 1e400]}', TOO_LARGE, ">[1]"),  # the builder's words for the API's rule
    ('{">": [{"var": "custom.amount"}, -Infinity]}', NOT_A_NUMBER, ">[1]"),
    ('{"!": ' * 2_000 + "true" + "}" * 2_000, "Invalid: JSON nested too deeply (limit 64).", None),
])
def test_live_validation_says_what_is_wrong_and_where_behind_technical_details(admin, action, text, message, path):
    response = admin.post("/console/actions/withdraw/rules/validate", data={"conditions_json": text}, htmx=True)

    status = fragment_root(response)
    assert response.status_code == 200 and "error" in status["class"]
    assert _verdict(response) == (message, path)


def test_live_validation_says_valid(admin, action):
    response = admin.post("/console/actions/withdraw/rules/validate", htmx=True,
                          data={"conditions_json": '{"==": [{"var": "user.email"}, "a@b.c"]}'})

    status = fragment_root(response)
    assert (status.name, status["class"], text_of(status)) == ("span", ["ok"], "Valid")
    assert text_of(parse(response)) == "Valid"  # and nothing else


def test_the_raw_editor_checks_while_typing_with_the_csrf_token_of_the_page(admin, action):
    page = parse(admin.post("/console/actions/withdraw/rules/builder", htmx=True,
                            data={"mode": "advanced", "conditions_json": ""}))
    editor = parse(admin.get("/console/actions/withdraw/rules/new"))

    textarea = page.find("textarea", attrs={"name": "conditions_json"})
    assert textarea["hx-trigger"] == "keyup changed delay:400ms"
    assert textarea["hx-post"] == "/console/actions/withdraw/rules/validate"
    status = page.select_one(textarea["hx-target"])
    assert status["role"] == "status" and status["aria-live"] == "polite"
    assert "conditions-status" in textarea["aria-describedby"].split()
    assert json.loads(editor.body["hx-headers"])["X-CSRFToken"]  # htmx sends it with every request


def test_saving_invalid_advanced_json_shows_the_path(app, admin, action):
    response = admin.post("/console/actions/withdraw/rules/new", data={
        **BASE, "mode": "advanced", "conditions_json": '{"or": [true, {"in": [1, 2]}]}'})

    assert response.status_code == 400
    message, path = _verdict(parse(response).find(id="conditions-status"))
    assert message.startswith("Invalid: ") and path == "or[1].in[1]"
    assert _rules(app) == []


@pytest.mark.parametrize(("text", "message"), [
    ('{">": [{"var": "custom.amount"}, NaN]}', NOT_A_NUMBER),
    ('{">": [{"var": "custom.amount"}, 1e999]}', TOO_LARGE),
    ('{"and": [' * 2_000 + "true" + "]}" * 2_000, "Invalid: JSON nested too deeply (limit 64)."),
])
def test_saving_advanced_json_refuses_what_json_cannot_hold(app, admin, action, text, message):
    response = admin.post("/console/actions/withdraw/rules/new", data={**BASE, "mode": "advanced", "conditions_json": text})

    assert response.status_code == 400
    assert _verdict(parse(response).find(id="conditions-status"))[0] == message
    assert _rules(app) == []


def test_switching_deeply_nested_json_to_the_builder_says_why_not(admin, action):
    page = parse(admin.post("/console/actions/withdraw/rules/builder", htmx=True, data={
        "mode": "advanced", "conditions_json": "[" * 10_000 + "]" * 10_000, "builder-op": "to-builder",
    }))

    assert _control(page, "mode")["value"] == "advanced" and "JSON nested too deeply (limit 64)." in text_of(page)


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

    page = parse(admin.get("/console/actions/signIn"))

    assert "First match wins, from the top." in text_of(page.select_one("#rules .hint"))
    assert _rule_names(page) == ["Big", "Raw"]
    assert [text_of(summary) for summary in page.select("#rules .rule .summary")] == [
        "custom.amount is greater than 1000 AND (user is not enrolled OR device ID does not exist)",
        "Advanced condition (JsonLogic)"]


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

    section = fragment_root(response)
    assert response.status_code == 200 and (section.name, section.get("id")) == ("section", "rules")
    assert [(r["name"], r["priority"]) for r in _rules(app)] == [("A", 0), ("C", 5), ("B", 99)]
    assert _rule_names(section) == ["A", "C", "B"]
    assert text_of(section.select_one('.rules-status[role="status"]')) == "“C” moved up."


def test_moving_past_the_ends_changes_nothing(app, admin, three):
    a, _, c = three

    admin.post(f"/console/actions/signIn/rules/{a}/move", data={"direction": "up"})
    admin.post(f"/console/actions/signIn/rules/{c}/move", data={"direction": "down"})

    assert [r["priority"] for r in _rules(app)] == [0, 5, 99]
    assert audit_events(app, "rule.moved") == []


def test_moving_with_all_100_priorities_taken_is_refused_with_a_message(app, admin, tenant):
    ids = make_action(app, tenant.id, "full", rules=[rule(f"R{i}", i, "ALLOW") for i in range(100)])

    response = admin.post(f"/console/actions/full/rules/{ids[0]}/move", data={"direction": "down"}, htmx=True)

    status = parse(response).select_one('#rules .rules-status[role="status"]')
    assert response.status_code == 409 and "All 100 priorities are in use" in text_of(status)
    assert [r["priority"] for r in _rules(app)][:2] == [0, 1] and _rules(app)[0]["name"] == "R0"
    assert admin.post("/console/actions/full/rules/new", data={**BASE, "g-0-join": "and"}).status_code == 400


def test_new_rules_fill_the_first_gap_when_99_is_taken(app, admin, three):
    admin.post("/console/actions/signIn/rules/new", data={**BASE, "g-0-join": "and"})

    assert sorted(r["priority"] for r in _rules(app)) == [0, 1, 5, 99]


def test_toggle_turns_a_rule_off_and_on(app, admin, three):
    a, _, _ = three

    off = admin.post(f"/console/actions/signIn/rules/{a}/active", data={"active": "false"}, htmx=True)
    assert _rules(app)[0]["active"] is False and _rules(app)[0]["version"] == 2
    assert is_fragment(off) and parse(off).find("button", attrs={"aria-label": "Active: A"})["aria-pressed"] == "false"
    on = admin.post(f"/console/actions/signIn/rules/{a}/active", data={"active": "true"})

    assert on.status_code == 303 and _rules(app)[0]["active"] is True
    assert [e.event for e in audit_events(app, "rule.deactivated") + audit_events(app, "rule.activated")] == [
        "rule.deactivated", "rule.activated"]


def test_delete_rule_after_confirmation(app, admin, three):
    a, _, _ = three

    page = parse(admin.get(f"/console/actions/signIn/rules/{a}/delete"))
    assert text_of(page.find("h1")) == "Delete rule “A”?" and [r["name"] for r in _rules(app)] == ["A", "B", "C"]

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
