"""Console Data: custom data points and lists (pages, fragments, validation, import, guards) and the builder."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CustomDataPoint, CustomList, Rule
from tests.factories import make_action, rule
from tests.html import (
    alerts,
    field_error,
    fragment_root,
    is_fragment,
    option_texts,
    parse,
    selected_value,
    table_rows,
    text_of,
)
from tests.web.conftest import audit_events

pytestmark = pytest.mark.usefixtures("tenant")


def _points(app) -> list[CustomDataPoint]:
    with app.app_context():
        return list(db.session.execute(select(CustomDataPoint).order_by(CustomDataPoint.name)).scalars())


def _list(app, name) -> CustomList | None:
    with app.app_context():
        return db.session.execute(select(CustomList).where(CustomList.name == name)).scalar_one_or_none()


def _add_list(admin, name="high-risk", kind="strings", items="KP\nIR"):
    response = admin.post("/console/data/lists", data={"name": name, "kind": kind, "description": "", "items": items})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def _add_point(admin, name="country", data_type="text", model_type="action", description="Payee country"):
    response = admin.post("/console/data/points", data={"name": name, "data_type": data_type, "model_type": model_type,
                                                         "description": description})
    assert response.status_code == 303, response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Data points


def test_data_point_pages_full_and_as_htmx_fragment(admin):
    full = admin.get("/console/data/points")
    fragment = admin.get("/console/data/points", headers={"HX-Request": "true"})

    assert full.status_code == 200 and not is_fragment(full)
    current = parse(full).select('nav[aria-label="Main"] a[aria-current="page"]')
    assert [text_of(link) for link in current] == ["Data"]
    assert fragment.status_code == 200 and fragment_root(fragment).get("id") == "data-points"
    assert "HX-Request" in full.headers["Vary"]
    assert admin.get("/console/data/points/new").status_code == 200


def test_adding_a_data_point_lists_it_and_audits_it(app, admin):
    _add_point(admin)
    _add_point(admin, name="vip", data_type="boolean", model_type="user", description="")

    rows = table_rows(admin.get("/console/data/points"), "#data-points table")

    assert [row["Field"] for row in rows] == ["custom.country", "user.custom.vip"]
    assert [(p.name, p.data_type, p.model_type) for p in _points(app)] == [
        ("country", "text", "action"), ("vip", "boolean", "user")]
    [created, _] = audit_events(app, "custom_data_point.created")
    assert created.after == {"name": "country", "path": "custom.country", "type": "text", "description": "Payee country"}


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"name": "has space", "data_type": "text", "model_type": "action"}, "name", "Use 1-64 letters, digits or '_'"),
    ({"name": "a-b", "data_type": "text", "model_type": "action"}, "name", "Use 1-64 letters, digits or '_'"),
    ({"name": "x" * 65, "data_type": "text", "model_type": "action"}, "name", "Use 1-64 letters"),
    ({"name": "ok", "data_type": "date", "model_type": "action"}, "data_type", "Choose a type."),
    ({"name": "ok", "data_type": "text", "model_type": "device"}, "model_type", "Choose what the data point applies to."),
])
def test_invalid_data_points_are_refused_next_to_the_field(app, admin, data, field, message):
    response = admin.post("/console/data/points", data=data, htmx=True)

    assert response.status_code == 400 and message in field_error(response, field)
    assert is_fragment(response)
    assert _points(app) == []


def test_the_same_name_twice_is_refused_per_model(app, admin):
    _add_point(admin)
    _add_point(admin, model_type="user")  # user.custom.country is another field

    response = admin.post("/console/data/points", data={"name": "country", "data_type": "number", "model_type": "action"})

    assert response.status_code == 400 and field_error(response, "name") == "There is already a data point “custom.country”."


def test_editing_changes_type_and_description_but_not_the_name(app, admin):
    _add_point(admin)
    point_id = _points(app)[0].id
    form = parse(admin.get(f"/console/data/points/{point_id}/edit")).find(id="data-point-form")
    assert "Field custom.country" in text_of(form)

    response = admin.post(f"/console/data/points/{point_id}",
                          data={"name": "renamed", "data_type": "multiselect", "description": "Countries"})

    assert response.status_code == 303
    [point] = _points(app)
    assert (point.name, point.data_type, point.description) == ("country", "multiselect", "Countries")
    [updated] = audit_events(app, "custom_data_point.updated")
    assert updated.before["type"] == "text" and updated.after["type"] == "multiselect"


def test_deleting_a_data_point_after_confirmation(app, admin):
    _add_point(admin)
    point_id = _points(app)[0].id
    assert "Delete the data point" in text_of(parse(admin.get(f"/console/data/points/{point_id}/delete")).find("main"))

    response = admin.post(f"/console/data/points/{point_id}/delete", htmx=True)

    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/console/data/points"
    assert _points(app) == [] and len(audit_events(app, "custom_data_point.deleted")) == 1


def test_unknown_ids_are_404(admin):
    assert admin.get("/console/data/points/nope/edit").status_code == 404
    assert admin.get("/console/data/lists/nope").status_code == 404


def test_changes_need_the_csrf_token(app, admin):
    response = admin.client.post("/console/data/points", data={"name": "x", "data_type": "text", "model_type": "action"})
    assert response.status_code == 400
    response = admin.client.post("/console/data/lists", data={"name": "x", "kind": "strings", "items": "a"})
    assert response.status_code == 400
    assert _points(app) == [] and _list(app, "x") is None


def test_reviewers_cannot_open_or_change_data(reviewer, app):
    for path in ("/console/data/points", "/console/data/points/new", "/console/data/lists", "/console/data/lists/new"):
        assert reviewer.get(path).status_code == 403, path
    point = {"name": "x", "data_type": "text", "model_type": "action"}
    assert reviewer.post("/console/data/points", data=point).status_code == 403
    assert reviewer.post("/console/data/lists", data={"name": "x", "kind": "strings"}).status_code == 403
    response = reviewer.get("/console/activity")
    assert parse(response).select('a[href^="/console/data"]') == []
    assert "/console/data/points" not in response.get_data(as_text=True)  # nor any other way there (a form, an hx-get)


# ---------------------------------------------------------------------------------------------
# Lists


def test_a_list_is_created_from_the_textarea_and_shown_with_its_items(app, admin):
    list_id = _add_list(admin, items="KP\n\n# comment\nIR\nKP\n")

    page = parse(admin.get(f"/console/data/lists/{list_id}"))
    listing = admin.get("/console/data/lists", headers={"HX-Request": "true"})

    row = _list(app, "high-risk")
    assert row.items == ["KP", "IR"] and row.item_count == 2 and row.kind == "strings"
    assert "lists.high-risk" in [text_of(code) for code in page.select("#list-form code")]
    assert page.find("textarea", attrs={"name": "items"}).get_text().lstrip("\r\n") == "KP\nIR"
    assert is_fragment(listing)
    assert [(r["Name"], r["Items"]) for r in table_rows(listing, "#custom-lists table")] == [("high-risk", "2")]
    [created] = audit_events(app, "custom_list.created")
    assert created.after["items"] == 2 and created.after["added"] == ["KP", "IR"]


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"name": "bad name", "kind": "strings", "items": ""}, "name", "Use 1-64 letters, digits, '_' or '-'"),
    ({"name": "bins", "kind": "numbers", "items": "411111\nabc"}, "items", "Line 2: “abc” is not a number."),
    ({"name": "tor", "kind": "cidrs", "items": "10.0.0.0/8\n300.1.1.1"}, "items", "Line 2: “300.1.1.1” is not an IP address"),
    ({"name": "x", "kind": "colours", "items": ""}, "kind", "Choose what the list holds."),
])
def test_invalid_lists_are_refused_next_to_the_field(app, admin, data, field, message):
    response = admin.post("/console/data/lists", data=data, htmx=True)

    assert response.status_code == 400 and message in field_error(response, field)
    assert is_fragment(response) and _list(app, data["name"]) is None


def test_editing_items_bumps_the_version_and_audits_the_change(app, admin):
    list_id = _add_list(admin)

    response = admin.post(f"/console/data/lists/{list_id}", data={"description": "OFAC", "items": "KP\nRU"})

    assert response.status_code == 303
    row = _list(app, "high-risk")
    assert row.items == ["KP", "RU"] and row.version == 2 and row.description == "OFAC"
    [updated] = audit_events(app, "custom_list.updated")
    assert (updated.after["added"], updated.after["removed"]) == (["RU"], ["IR"])


def test_a_large_list_fits_although_api_bodies_are_small(app, admin):
    items = "\n".join(f"user-{i:06d}@example.com" for i in range(5000))  # ~125 KB, over the 64 KiB body limit
    list_id = _add_list(admin, name="blocked-emails", items="a@example.com")

    response = admin.post(f"/console/data/lists/{list_id}", data={"description": "", "items": items})

    assert response.status_code == 303
    assert _list(app, "blocked-emails").item_count == 5000


def test_importing_a_file_replaces_or_appends(app, admin):
    list_id = _add_list(admin, name="bins", kind="numbers", items="1")

    replaced = admin.post(f"/console/data/lists/{list_id}/import", content_type="multipart/form-data",
                          data={"mode": "replace", "file": (io.BytesIO(b"411111\r\n555555\n"), "bins.txt")})
    assert replaced.status_code == 303
    assert _list(app, "bins").items == [411111, 555555]

    appended = admin.post(f"/console/data/lists/{list_id}/import", content_type="multipart/form-data",
                          data={"mode": "append", "file": (io.BytesIO(b"\xef\xbb\xbf999\n411111\n"), "more.txt")})
    assert appended.status_code == 303
    assert _list(app, "bins").items == [411111, 555555, 999]


def test_a_bad_file_is_refused_with_the_lines_named(app, admin):
    list_id = _add_list(admin, name="bins", kind="numbers", items="1")

    response = admin.post(f"/console/data/lists/{list_id}/import", content_type="multipart/form-data", htmx=True,
                          data={"mode": "replace", "file": (io.BytesIO(b"12\nnope\n"), "bins.txt")})
    binary = admin.post(f"/console/data/lists/{list_id}/import", content_type="multipart/form-data",
                        data={"mode": "replace", "file": (io.BytesIO(b"\xff\xfe\x00"), "bins.bin")})

    [refusal], [binary_refusal] = alerts(response), alerts(binary)
    assert response.status_code == 400 and "Line 2: “nope” is not a number." in refusal
    assert binary.status_code == 400 and "The file is not UTF-8 text." in binary_refusal
    assert _list(app, "bins").items == [1]


def test_a_list_that_rules_read_cannot_be_deleted(app, admin, tenant):
    list_id = _add_list(admin)
    make_action(app, tenant.id, "withdraw", rules=[
        rule("High risk", 0, "BLOCK", {"!": {"in": [{"var": "custom.country"}, {"var": "lists.high-risk"}]}})])

    refused = admin.post(f"/console/data/lists/{list_id}/delete", htmx=True)

    assert refused.status_code == 409
    assert any("Rules read this list: “High risk” (withdraw)" in alert for alert in alerts(refused))
    assert _list(app, "high-risk") is not None


def test_deleting_an_unused_list(app, admin):
    list_id = _add_list(admin)
    assert "Delete the list" in text_of(parse(admin.get(f"/console/data/lists/{list_id}/delete")).find("h1"))

    response = admin.post(f"/console/data/lists/{list_id}/delete")

    assert response.status_code == 303 and response.headers["Location"] == "/console/data/lists"
    assert _list(app, "high-risk") is None and len(audit_events(app, "custom_list.deleted")) == 1


# ---------------------------------------------------------------------------------------------
# The rule builder


BASE = {"name": "High-risk country", "description": "", "outcome": "BLOCK", "is_active": "y", "mode": "builder"}


@pytest.fixture
def action(app, tenant):
    make_action(app, tenant.id, "withdraw")
    return "withdraw"


def test_the_builder_offers_data_points_with_their_type_and_description(admin, action):
    _add_point(admin)
    _add_point(admin, name="amount", data_type="number", description="Amount in cents")

    page = parse(admin.post("/console/actions/withdraw/rules/builder", htmx=True,
                            data={"g-0-join": "and", "builder-op": "add-condition:0"}))
    chosen = parse(admin.post("/console/actions/withdraw/rules/builder", htmx=True,
                              data={"g-0-join": "and", "c-0-0-field": "custom.amount"}))

    yours = page.find("select", attrs={"name": "c-0-0-field"}).find("optgroup", label="Your data")
    assert {option["value"]: text_of(option) for option in yours.find_all("option")}["custom.amount"] == "custom.amount (Number)"
    hint = chosen.find("select", id="c-0-0-field").find_next_sibling("p", class_="hint")
    assert text_of(hint) == "Amount in cents"
    operators = option_texts(chosen, "c-0-0-op")
    assert operators["gt"] == "is greater than" and operators["in_list"] == "is in custom list"
    assert chosen.find("option", attrs={"value": "contains"}) is None


def test_choosing_in_list_offers_the_lists_that_fit(admin, action):
    _add_point(admin)
    _add_list(admin)
    _add_list(admin, name="bins", kind="numbers", items="1")

    fragment = parse(admin.post("/console/actions/withdraw/rules/builder", htmx=True, data={
        "g-0-join": "and", "c-0-0-field": "custom.country", "c-0-0-op": "in_list"}))

    assert fragment.find("select", id="c-0-0-value")["name"] == "c-0-0-value"
    assert option_texts(fragment, "c-0-0-value")["high-risk"] == "high-risk (2 items)"
    assert fragment.find(attrs={"value": "bins"}) is None


def test_a_list_rule_round_trips_through_the_builder(app, admin, action):
    _add_point(admin)
    _add_list(admin)

    saved = admin.post("/console/actions/withdraw/rules/new", data={
        **BASE, "g-0-join": "and", "c-0-0-field": "custom.country", "c-0-0-op": "not_in_list", "c-0-0-value": "high-risk"})

    assert saved.status_code == 303, saved.get_data(as_text=True)
    with app.app_context():
        stored = db.session.execute(select(Rule)).scalar_one()
        rule_id, conditions = stored.id, stored.conditions
    assert conditions == {"and": [{"!": {"in": [{"var": "custom.country"}, {"var": "lists.high-risk"}]}}]}
    page = parse(admin.get(f"/console/actions/withdraw/rules/{rule_id}"))
    assert selected_value(page, "c-0-0-field") == "custom.country"
    assert selected_value(page, "c-0-0-op") == "not_in_list" and selected_value(page, "c-0-0-value") == "high-risk"
    summaries = [text_of(summary) for summary in parse(admin.get("/console/actions/withdraw")).select("#rules .summary")]
    assert summaries == ["custom.country is not in custom list “high-risk”"]


def test_the_rules_tab_names_a_list_no_one_has_made_yet(app, admin, tenant):
    # A rule can name a list before it exists (the API takes any name): its summary still reads as a
    # sentence, while the editor opens it as JsonLogic (the builder only offers lists that exist).
    [rule_id] = make_action(app, tenant.id, "payout", rules=[
        rule("Watch", 0, "REVIEW", {"in": [{"var": "custom.country"}, {"var": "lists.watch"}]})])

    summaries = [text_of(summary) for summary in parse(admin.get("/console/actions/payout")).select("#rules .summary")]
    editor = parse(admin.get(f"/console/actions/payout/rules/{rule_id}"))

    assert summaries == ["custom.country is in custom list “watch”"]
    assert "The builder cannot show this condition" in text_of(editor.select_one("#conditions .note"))


def test_a_typed_data_point_rule_round_trips(app, admin, action):
    _add_point(admin, name="tags", data_type="multiselect", description="Order tags")

    saved = admin.post("/console/actions/withdraw/rules/new", data={
        **BASE, "g-0-join": "and", "c-0-0-field": "custom.tags", "c-0-0-op": "contains_any", "c-0-0-value": "gift, crypto"})

    assert saved.status_code == 303, saved.get_data(as_text=True)
    with app.app_context():
        stored = db.session.execute(select(Rule)).scalar_one()
    assert stored.conditions == {"and": [{"or": [{"in": ["gift", {"var": "custom.tags"}]},
                                                 {"in": ["crypto", {"var": "custom.tags"}]}]}]}
    page = parse(admin.get(f"/console/actions/withdraw/rules/{stored.id}"))
    assert selected_value(page, "c-0-0-op") == "contains_any" and page.find(id="c-0-0-value")["value"] == "gift, crypto"


def test_a_missing_or_unfitting_list_is_an_error_on_save(app, admin, action):
    _add_point(admin, name="amount", data_type="number")
    _add_list(admin)

    response = admin.post("/console/actions/withdraw/rules/new", data={
        **BASE, "g-0-join": "and", "c-0-0-field": "custom.amount", "c-0-0-op": "in_list", "c-0-0-value": "high-risk"})

    assert response.status_code == 400
    assert field_error(response, "0-0-value", control="c-0-0-value") == (
        "“high-risk” is a list of strings; choose a list that fits a number field.")



# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_imports_a_list_from_a_file_creating_replacing_and_appending(app, tmp_path):
    runner = app.test_cli_runner()
    source = tmp_path / "countries.txt"
    source.write_text("# high risk\nKP\nIR\n", encoding="utf-8")

    created = runner.invoke(args=["lists", "import", "high-risk", str(source)])
    assert created.exit_code == 0, created.output
    assert "Created list high-risk (strings): 2 items." in created.output

    source.write_text("RU\n", encoding="utf-8")
    appended = runner.invoke(args=["lists", "import", "high-risk", str(source), "--append"])
    assert appended.exit_code == 0 and "Updated list high-risk (strings): 3 items." in appended.output
    assert _list(app, "high-risk").items == ["KP", "IR", "RU"]

    replaced = runner.invoke(args=["lists", "import", "high-risk", "-"], input="SY\n")
    assert replaced.exit_code == 0 and _list(app, "high-risk").items == ["SY"]


def test_cli_refuses_bad_items_naming_the_line(app, tmp_path):
    source = tmp_path / "bins.txt"
    source.write_text("411111\nfour\n", encoding="utf-8")

    result = app.test_cli_runner().invoke(args=["lists", "import", "bins", str(source), "--kind", "numbers"])

    assert result.exit_code == 1 and "Line 2: “four” is not a number." in result.output
    assert _list(app, "bins") is None
