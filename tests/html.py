"""Reading pages in tests: parse the HTML, then ask for elements, roles, attributes and text.

Page tests assert on what a reader (or a screen reader) gets from a page: an element, its role, its
attributes, its text. Never on substrings of markup, so that a harmless template change (attribute
order, quoting, white space, a wrapping element) does not break them. The parser is BeautifulSoup
with the standard library's "html.parser", which adds no <html> element of its own: a fragment stays
a fragment. Selectors are CSS (soupsieve): ``parse(response).select_one("#claim")``.
"""

from __future__ import annotations

import json

from bs4 import BeautifulSoup, NavigableString, Tag


def parse(source) -> Tag:
    """A test client response's body (or an HTML string, or bytes), parsed; an element already parsed stays itself."""
    if isinstance(source, Tag):
        return source
    if hasattr(source, "get_data"):
        source = source.get_data(as_text=True)
    return BeautifulSoup(source, "html.parser")


def text_of(element: Tag | BeautifulSoup | None) -> str:
    """An element's text as a reader sees it: white space runs folded to one space, ends stripped."""
    assert element is not None, "no such element"
    return " ".join(element.get_text().split())


def is_fragment(source) -> bool:
    """Whether the response is a fragment (what htmx swaps in) rather than a full page: no <html> element."""
    return parse(source).find("html") is None


def fragment_root(source) -> Tag:
    """A fragment's outermost element, checking that it is a fragment and starts with that element (not text)."""
    page = parse(source)
    assert page.find("html") is None, "a full page, not a fragment"
    first = next((node for node in page.contents if not (isinstance(node, NavigableString) and not node.strip())), None)
    assert isinstance(first, Tag), f"the fragment starts with {first!r}, not an element"
    return first


def csrf_from(source) -> str:
    """The CSRF token a page carries: in its form's hidden field, or in the body's hx-headers for htmx."""
    page = parse(source)
    field = page.find("input", attrs={"name": "csrf_token"})
    if field is not None and field.get("value"):
        return field["value"]
    body = page.find("body")
    assert body is not None and body.get("hx-headers"), "page carries no CSRF token"
    return json.loads(body["hx-headers"])["X-CSRFToken"]


def field_error(source, field: str, control: str | None = None) -> str:
    """The error shown next to a form control, checking that the control (its id is the field's name unless
    given) is marked invalid and points at the error; for a group of checkboxes or radio buttons, that the
    fieldset points at it and every box is marked invalid."""
    page = parse(source)
    error = page.find(id=f"{field}-error")
    assert error is not None and "error" in error.get("class", []), f"no error shown for {field}"
    element = page.find(["input", "textarea", "select"], id=control or field)
    if element is not None:
        assert element.get("aria-invalid") == "true", element
        assert f"{field}-error" in element.get("aria-describedby", "").split(), element
    else:
        group = page.select_one(f'fieldset[aria-describedby~="{field}-error"]')
        assert group is not None, f"nothing points at the error for {field}"
        assert all(box.get("aria-invalid") == "true" for box in group.find_all("input")), group
    return text_of(error)


def outcome_badges(source) -> list[str]:
    """The outcome and state badges, in order: the outcome or state each is styled as, checked to be what it
    says (as the code, "CHALLENGE_REQUIRED", or in words, "Challenge required")."""
    shown = []
    for badge in parse(source).select(".badge"):
        [named] = [name for name in badge["class"] if name != "badge"]
        assert text_of(badge).upper().replace(" ", "_") == named, badge
        shown.append(named)
    return shown


def definitions(source) -> dict[str, str]:
    """A description list (<dl>): each term's text and the text of its description."""
    terms = parse(source).find_all("dt")
    return {text_of(term): text_of(term.find_next_sibling("dd")) for term in terms}


def selected_value(source, name: str) -> str | None:
    """The value of the chosen option of the <select> with that name (None when none is marked selected)."""
    select = parse(source).find("select", attrs={"name": name})
    assert select is not None, f"no select {name}"
    chosen = select.find("option", selected=True)
    return None if chosen is None else chosen.get("value")


def checked_value(source, name: str) -> str | None:
    """The value of the checked radio button of the group with that name (None when none is)."""
    chosen = parse(source).find("input", attrs={"type": "radio", "name": name, "checked": True})
    return None if chosen is None else chosen.get("value")


def option_texts(source, name: str) -> dict[str, str]:
    """The options the <select> with that name offers: value -> text, in order."""
    select = parse(source).find("select", attrs={"name": name})
    assert select is not None, f"no select {name}"
    return {option.get("value"): text_of(option) for option in select.find_all("option")}


def section(source, heading: str) -> Tag:
    """The <section> (a page's card) whose heading reads exactly that."""
    title = parse(source).find(["h2", "h3"], string=heading)
    assert title is not None, f"no heading {heading!r}"
    return title.find_parent("section")


def table_rows(source, selector: str = "table") -> list[dict[str, str]]:
    """The body rows of the (first) table matching the selector, each cell's text under its column heading."""
    table = parse(source).select_one(selector)
    assert table is not None, f"no table {selector}"
    headings = [text_of(th) for th in table.select("thead th")]
    return [dict(zip(headings, (text_of(td) for td in tr.find_all(["td", "th"], recursive=False)), strict=False))
            for tr in table.select("tbody > tr")]


def inline_scripts(source) -> list[Tag]:
    """The page's inline scripts: <script> elements with code in them or no src (what a strict CSP refuses)."""
    return [script for script in parse(source).find_all("script") if not script.get("src") or script.get_text().strip()]


def alerts(source) -> list[str]:
    """What the page announces as alerts (role="alert": refusals, errors, one-time warnings), in order."""
    return [text_of(element) for element in parse(source).select('[role="alert"]')]


def flash_messages(source) -> list[str]:
    """The messages the page flashes (the status region at the top of the content)."""
    return [text_of(p) for p in parse(source).select('.flash[role="status"] p')]


def pager_link(source, rel: str = "next") -> str | None:
    """The href of the list's "next" (or "prev") page link (keyset paging); None on the last page."""
    link = parse(source).select_one(f'a[rel~="{rel}"]')
    return None if link is None else link["href"]


def shown_secret(source, label: str) -> str:
    """The one-time secret (a new API key or first password) shown under the given label."""
    page = parse(source)
    heading = page.find(string=lambda s: s.strip() == label)
    assert heading is not None and heading.parent.get("id"), f"no label {label!r}"
    secret = page.find(attrs={"aria-labelledby": heading.parent["id"]})
    assert secret is not None, f"nothing is labelled {label!r}"
    return text_of(secret)
