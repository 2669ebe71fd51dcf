"""The console's small lists (actions, team, API keys, webhooks): search, offset paging, the pager,
the count and the empty states, all from one service helper and one macro (app/services/tenancy/listing.py,
templates/console/_lists.html); each test runs on every list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest

from app.extensions import db
from app.models import ConsoleUser, WebhookEndpoint
from app.services.rulesets.rules import ActionDocument, create_action_configuration
from app.services.tenancy.api_keys import create_api_key
from tests.html import fragment_root, is_fragment, pager_link, parse, table_rows, text_of


def _add_key(app, tenant_id: str, key: str, label: str) -> None:
    create_api_key(tenant_id, name=f"{key} {label}", settings=app.config["TOLLGATE"])


def _add_member(app, tenant_id: str, key: str, label: str) -> None:
    # Straight into the table: hashing a password per row would only slow the test down.
    db.session.add(ConsoleUser(tenant_id=tenant_id, email=f"{key}@example.com", name=label, role="reviewer",
                               password_hash="not a hash"))
    db.session.commit()


def _add_endpoint(app, tenant_id: str, key: str, label: str) -> None:
    db.session.add(WebhookEndpoint(tenant_id=tenant_id, url=f"https://hooks.example/{key}", description=label,
                                   event_types=["webhook.test"]))
    db.session.commit()


def _add_action(app, tenant_id: str, key: str, label: str) -> None:
    create_action_configuration(tenant_id, ActionDocument(code=key, name=label))


@dataclass(frozen=True)
class Listing:
    url: str
    results: str  # the results element's id, what htmx swaps
    one: str
    many: str
    add: Callable[..., None]  # (app, tenant_id, key, label): a row whose first cell starts with key
    none_yet: str | None  # what the empty list says; None where it never is (yourself, the tenant's first key)
    row_pages: bool  # whether each row leads to a page of its own


LISTINGS = {
    "actions": Listing("/console/actions", "action-results", "action", "actions", _add_action,
                       "No actions yet. Create one, or track an action from your backend and it appears here.", True),
    "team": Listing("/console/settings/team", "member-results", "person", "people", _add_member, None, False),
    "keys": Listing("/console/settings/api-keys", "key-results", "key", "keys", _add_key, None, False),
    "webhooks": Listing("/console/webhooks", "webhook-results", "endpoint", "endpoints", _add_endpoint,
                        "No endpoints yet. Add one to receive events.", True),
}


@pytest.fixture(params=LISTINGS.values(), ids=LISTINGS.keys())
def listing(request) -> Listing:
    return request.param


@pytest.fixture
def add(app, tenant, listing):
    def add(key: str, label: str = "") -> None:
        with app.app_context():
            listing.add(app, tenant.id, key, label)
    return add


def shown(response, listing: Listing) -> list[str]:
    """The rows listed, each by the key it was added with: the first word of its first cell (an
    endpoint's URL and a member's email wrap it)."""
    assert response.status_code == 200, response.status_code
    rows = parse(response).select(f"#{listing.results} tbody > tr")
    return [row.td.get_text(" ").split()[0].removeprefix("https://hooks.example/").removesuffix("@example.com")
            for row in rows if row.td.get("colspan") is None]


def empty_text(response, listing: Listing) -> str:
    [cell] = parse(response).select(f"#{listing.results} tbody td[colspan]")
    return text_of(cell)


def count_text(response, listing: Listing) -> str:
    return text_of(parse(response).select_one(f"#{listing.results} [role=status]"))


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_the_search_narrows_case_insensitively_and_says_how_many(admin, listing, add):
    for n in range(12):
        add(f"item-{n:02d}")
    add("other-1")

    response = admin.get(f"{listing.url}?q=ITEM-0")

    assert shown(response, listing) == [f"item-{n:02d}" for n in range(10)]
    assert count_text(response, listing) == f"10 {listing.many} matching “ITEM-0”"
    one = admin.get(f"{listing.url}?q=other")
    assert (shown(one, listing), count_text(one, listing)) == (["other-1"], f"1 {listing.one} matching “other”")


def test_the_search_finds_the_second_field_too(admin, listing, add):
    add("plain-1", "Payments team")
    add("plain-2", "Marketing")

    assert shown(admin.get(f"{listing.url}?q=payments"), listing) == ["plain-1"]


@pytest.mark.parametrize("typed", ["0% o", "a_b"])
def test_percent_and_underscore_in_the_search_are_literal(admin, listing, add, typed):
    add("lit-1", "50% off")
    add("lit-2", "50 x off")
    add("lit-3", "a_b")
    add("lit-4", "axb")

    assert shown(admin.get(listing.url, query_string={"q": typed}), listing) == (
        ["lit-1"] if "%" in typed else ["lit-3"])


def test_pages_of_25_neither_repeat_nor_skip_and_keep_the_search(admin, listing, add):
    keys = [f"item-{n:02d}" for n in range(53)]
    for key in keys:
        add(key)
    add("other-1")

    pages, url = [], f"{listing.url}?q=item"
    while url:
        response = admin.get(url)
        pages.append(shown(response, listing))
        url = pager_link(response)
        if url:
            assert query_of(url)["q"] == ["item"], url
    assert [len(page) for page in pages] == [25, 25, 3]
    assert [key for page in pages for key in page] == keys
    last = admin.get(f"{listing.url}?q=item&page=3")
    assert count_text(last, listing) == f"53 {listing.many} matching “item” · page 3 of 3"
    previous = pager_link(last, "prev")
    assert query_of(previous) == {"q": ["item"], "page": ["2"]}
    assert shown(admin.get(previous), listing) == keys[25:50]
    # The first page's link has no page number: the list's own URL, with the search.
    assert query_of(pager_link(admin.get(previous), "prev")) == {"q": ["item"]}


def test_one_page_has_no_pager_and_odd_page_numbers_fall_back(admin, listing, add):
    for n in range(30):
        add(f"item-{n:02d}")

    single = admin.get(f"{listing.url}?q=item-0")
    assert parse(single).select_one(f"#{listing.results} nav") is None
    assert pager_link(single) is None and pager_link(single, "prev") is None
    assert shown(admin.get(f"{listing.url}?q=item&page=99"), listing) == [f"item-{n:02d}" for n in range(25, 30)]
    for odd in ("x", "-2", "0", "²", "9" * 5000):
        assert shown(admin.get(listing.url, query_string={"q": "item", "page": odd}), listing)[0] == "item-00", odd


def test_no_match_says_so_and_names_the_search(admin, listing, add):
    add("item-1")

    response = admin.get(f"{listing.url}?q=nothing-like-it")

    assert shown(response, listing) == []
    assert empty_text(response, listing) == f"No {listing.many} match “nothing-like-it”."
    assert count_text(response, listing) == f"0 {listing.many} matching “nothing-like-it”"


@pytest.mark.parametrize("listing", [listing for listing in LISTINGS.values() if listing.none_yet],
                         ids=[name for name, listing in LISTINGS.items() if listing.none_yet], indirect=True)
def test_an_empty_list_says_none_yet(admin, listing):
    response = admin.get(listing.url)

    assert empty_text(response, listing) == listing.none_yet
    assert count_text(response, listing) == f"0 {listing.many}"


def test_the_page_has_the_search_form_and_htmx_gets_the_results_alone(admin, listing, add):
    add("item-1")

    page = admin.get(f"{listing.url}?q=item")
    fragment = admin.get(f"{listing.url}?q=item", headers={"HX-Request": "true"})

    assert not is_fragment(page)
    form = parse(page).select_one('form[role="search"]')
    assert (form["method"], form["action"], form["hx-get"], form["hx-target"]) == (
        "get", listing.url, listing.url, f"#{listing.results}")
    box = form.find("input", attrs={"name": "q"})
    assert box["value"] == "item" and form.find("label", attrs={"for": box["id"]}) is not None
    assert fragment_root(fragment).get("id") == listing.results
    assert shown(fragment, listing) == ["item-1"]
    assert "HX-Request" in fragment.headers["Vary"]


def test_pager_links_swap_the_results(admin, listing, add):
    for n in range(26):
        add(f"item-{n:02d}")

    link = parse(admin.get(listing.url)).select_one(f"#{listing.results} a[rel=next]")

    assert link["hx-get"] == link["href"] and link["hx-target"] == f"#{listing.results}"
    assert link["hx-push-url"] == "true"


@pytest.mark.parametrize("listing", [listing for listing in LISTINGS.values() if listing.row_pages],
                         ids=[name for name, listing in LISTINGS.items() if listing.row_pages], indirect=True)
def test_rows_with_a_page_link_to_it_from_their_first_cell(admin, listing, add):
    add("item-1")

    [row] = parse(admin.get(listing.url)).select(f"#{listing.results} tbody > tr")

    [link] = row.td.select("a.row-link")
    assert admin.get(link["href"]).status_code == 200
    assert "row-links" in row.find_parent("table")["class"]


def test_keys_still_guard_the_last_active_key_on_a_later_page(admin, app, tenant):
    with app.app_context():
        for n in range(30):
            _add_key(app, tenant.id, f"item-{n:02d}", "")

    rows = table_rows(admin.get("/console/settings/api-keys?page=2"), "#key-results table")

    assert rows and all(row["Actions"].startswith("Revoke") for row in rows)


@pytest.mark.parametrize("url", ["/console/activity", "/console/users"])
def test_activity_and_user_rows_link_from_their_first_cell_too(admin, api, url):
    api.post("/users/alice/actions/sign-in", json={})

    [row] = parse(admin.get(url)).select("table.row-links tbody > tr")

    [link] = row.td.select("a.row-link")
    assert admin.get(link["href"]).status_code == 200
