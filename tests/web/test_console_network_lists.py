"""Console Data → Network lists: the instance-wide lists behind ip.isAnonymous / ip.cidrLists
(pages, fragments, import from a textarea or a file, refusals, delete with confirmation, audit, guards),
and a tenant's CIDR list whose name rules ask for in ip.cidrLists."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import NetworkList, NetworkListEntry
from app.models.base import utcnow
from app.services.rulesets.network_lists import import_network_list
from tests.factories import make_action, rule
from tests.html import alerts, field_error, flash_messages, fragment_root, is_fragment, parse, table_rows, text_of
from tests.web.conftest import audit_events

pytestmark = pytest.mark.usefixtures("tenant")
PAGE = "/console/data/network-lists"


def _network_list(app, name) -> tuple[NetworkList | None, list[str]]:
    with app.app_context():
        row = db.session.execute(select(NetworkList).where(NetworkList.name == name)).scalar_one_or_none()
        cidrs = [] if row is None else list(db.session.execute(
            select(NetworkListEntry.cidr).where(NetworkListEntry.network_list_id == row.id)
            .order_by(NetworkListEntry.id)).scalars())
        return row, cidrs


def _import(admin, htmx=False, **data):
    form = {"name": "tor", "description": "Tor exit nodes", "is_anonymous": "y", "cidrs": "", **data}
    return admin.post(PAGE, data=form, content_type="multipart/form-data", htmx=htmx)


def test_the_page_full_and_as_htmx_fragment_says_the_lists_are_shared(app, admin):
    with app.app_context():
        import_network_list("tor", ["185.220.101.0/24", "2a0b:f4c2::/32"], description="Tor exits", now=utcnow())
        import_network_list("hosting", ["192.0.2.0/24"], is_anonymous=False, now=utcnow())
    full = admin.get(PAGE)
    fragment = admin.get(PAGE, headers={"HX-Request": "true"})

    page = parse(full)
    assert full.status_code == 200 and not is_fragment(full)
    assert [text_of(a) for a in page.select('nav[aria-label="Main"] a[aria-current="page"]')] == ["Data"]
    assert [text_of(a) for a in page.select('nav[aria-label="Data"] a[aria-current="page"]')] == ["Network lists"]
    assert "shared by every tenant on this Tollgate" in text_of(page.select_one("#network-lists .hint"))
    assert fragment.status_code == 200 and fragment_root(fragment).get("id") == "network-lists"
    assert "HX-Request" in full.headers["Vary"]
    rows = [(row["Name"], row["Anonymous"], row["CIDRs"], row["Description"])
            for row in table_rows(page, "#network-lists table")]
    assert rows == [("hosting", "No (ip.cidrLists only)", "1", "—"), ("tor", "Yes", "2", "Tor exits")]  # by name
    tabs = parse(admin.get("/console/data/lists")).select('nav[aria-label="Data"] a')
    assert "/console/data/network-lists" in [tab["href"] for tab in tabs]  # a tab


def test_importing_from_the_textarea_creates_the_list_and_audits_it(app, admin):
    response = _import(admin, cidrs="# exits\n185.220.101.1\n10.1.2.3/8\n\n2001:db8::/32\n")

    assert response.status_code == 303 and response.headers["Location"] == PAGE
    row, cidrs = _network_list(app, "tor")
    assert row.is_anonymous and row.version == 1 and row.description == "Tor exit nodes"
    assert cidrs == ["185.220.101.1/32", "10.0.0.0/8", "2001:db8::/32"]
    [event] = audit_events(app, "network_list.imported")
    assert event.before is None and event.target_type == "network_list"
    assert event.after["cidrs"] == 3 and event.after["anonymous"] is True and event.after["addedCount"] == 3
    assert any("now holds 3 CIDRs" in message for message in flash_messages(admin.get(PAGE)))


def test_importing_a_file_under_an_existing_name_replaces_it(app, admin):
    assert _import(admin, cidrs="185.220.101.0/24\n").status_code == 303
    response = _import(admin, is_anonymous="", description="Office and partners",
                       file=(io.BytesIO(b"\xef\xbb\xbf192.0.2.0/24\r\n198.51.100.0/24\n"), "office.txt"))

    assert response.status_code == 303
    row, cidrs = _network_list(app, "tor")
    assert cidrs == ["192.0.2.0/24", "198.51.100.0/24"] and row.version == 2 and not row.is_anonymous
    second = audit_events(app, "network_list.imported")[-1]
    assert second.before["cidrs"] == 1 and second.before["anonymous"] is True
    assert second.after["removed"] == ["185.220.101.0/24"] and second.after["addedCount"] == 2


@pytest.mark.parametrize("data, field, message", [
    ({"cidrs": "10.0.0.0/8\n10.0.0.300\n"}, "cidrs", "line 2: '10.0.0.300' is not an IPv4/IPv6 address or CIDR"),
    ({"name": "tor exits", "cidrs": "10.0.0.0/8"}, "name", "A list name is 1-64 letters, digits"),
    ({"cidrs": "  \n"}, "cidrs", "Choose a text file or paste at least one address or CIDR."),
    ({"file": (io.BytesIO(b"\xff\xfe\x00"), "tor.bin")}, "file", "The file is not UTF-8 text."),
    ({"file": (io.BytesIO(b"10.0.0.0/8\nnope\n"), "tor.txt")}, "file", "line 2: 'nope'"),
])
def test_bad_imports_are_refused_whole_next_to_the_field(app, admin, data, field, message):
    assert _import(admin, cidrs="185.220.101.0/24").status_code == 303

    response = _import(admin, htmx=True, **data)

    assert response.status_code == 400 and message in field_error(response, field)
    assert is_fragment(response)
    row, cidrs = _network_list(app, "tor")
    assert cidrs == ["185.220.101.0/24"] and row.version == 1  # unchanged
    assert len(audit_events(app, "network_list.imported")) == 1


def test_deleting_asks_first_then_deletes_and_audits(app, admin):
    assert _import(admin, cidrs="185.220.101.0/24\n2a0b:f4c2::/32").status_code == 303
    confirm = text_of(parse(admin.get(f"{PAGE}/tor/delete")).find("main"))
    assert "Delete the network list" in confirm and "every tenant on this Tollgate" in confirm and "2 CIDRs" in confirm

    response = admin.post(f"{PAGE}/tor/delete", htmx=True)

    assert response.status_code == 204 and response.headers["HX-Redirect"] == PAGE
    assert _network_list(app, "tor") == (None, [])
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(NetworkListEntry)).scalar() == 0
    [event] = audit_events(app, "network_list.deleted")
    assert event.before["name"] == "tor" and event.before["cidrs"] == 2
    assert admin.get(f"{PAGE}/tor/delete").status_code == 404


def test_changes_need_the_csrf_token(app, admin):
    response = admin.client.post(PAGE, data={"name": "tor", "cidrs": "10.0.0.0/8"})
    assert response.status_code == 400 and _network_list(app, "tor") == (None, [])
    with app.app_context():
        import_network_list("tor", ["10.0.0.0/8"], now=utcnow())
    assert admin.client.post(f"{PAGE}/tor/delete").status_code == 400
    assert _network_list(app, "tor")[0] is not None


def test_reviewers_cannot_open_or_change_network_lists(app, reviewer):
    with app.app_context():
        import_network_list("tor", ["10.0.0.0/8"], now=utcnow())
    assert reviewer.get(PAGE).status_code == 403
    assert reviewer.get(f"{PAGE}/tor/delete").status_code == 403
    assert reviewer.post(PAGE, data={"name": "vpn", "cidrs": "10.0.0.0/8"}).status_code == 403
    assert reviewer.post(f"{PAGE}/tor/delete").status_code == 403
    assert _network_list(app, "tor")[0] is not None and _network_list(app, "vpn")[0] is None


# ---------------------------------------------------------------------------------------------
# A tenant's own CIDR list, matched in ip.cidrLists


def _add_cidr_list(admin, name="office"):
    response = admin.post("/console/data/lists", data={"name": name, "kind": "cidrs", "description": "",
                                                       "items": "192.0.2.0/24"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def test_a_cidr_list_page_says_rules_match_it_in_ip_cidr_lists(admin):
    list_id = _add_cidr_list(admin)
    response = admin.get(f"/console/data/lists/{list_id}")
    said = next(p for p in parse(response).select("#list-form p") if "contains" in text_of(p))
    assert "(ip.cidrLists) contains “office”" in text_of(said) and text_of(said.code) == "ip.cidrLists"
    assert "lists.office" not in response.get_data(as_text=True)  # nowhere: not in the text, not in an attribute


def test_a_cidr_list_that_rules_ask_for_in_ip_cidr_lists_cannot_be_deleted(app, admin, tenant):
    list_id = _add_cidr_list(admin)
    other_id = _add_cidr_list(admin, name="branch")
    make_action(app, tenant.id, "sign-in", rules=[
        rule("Outside the office", 0, "CHALLENGE", {"!": {"in": ["office", {"var": "ip.cidrLists"}]}})])

    refused = admin.post(f"/console/data/lists/{list_id}/delete", htmx=True)
    deleted = admin.post(f"/console/data/lists/{other_id}/delete")

    assert refused.status_code == 409
    assert any("Rules read this list: “Outside the office” (sign-in)" in alert for alert in alerts(refused))
    assert deleted.status_code == 303


def test_the_rule_builder_suggests_network_list_names_for_ip_cidr_lists(app, admin, tenant):
    _add_cidr_list(admin)
    _add_cidr_list(admin, name="strings-only")  # a CIDR list too (the kind decides, not the name)
    with app.app_context():
        import_network_list("tor", ["198.51.100.0/24"], description="", is_anonymous=True, now=utcnow())
    [rule_id] = make_action(app, tenant.id, "sign-in", rules=[
        rule("Outside the office", 0, "CHALLENGE", {"!": {"in": ["office", {"var": "ip.cidrLists"}]}})])

    page = parse(admin.get(f"/console/actions/sign-in/rules/{rule_id}"))

    value = page.find("input", id="c-0-0-value")
    assert value["list"] == "c-0-0-names"
    suggested = page.find("datalist", id=value["list"]).find_all("option")
    assert sorted(option["value"] for option in suggested) == ["office", "strings-only", "tor"]

