"""Opening a magic link from a received email through the Flask test client, as a person does:
the link's page, then its confirm button (a POST with the page's CSRF token)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.html import parse, text_of

PUBLIC_URL = "http://localhost:5000"


def open_link(client, link: str):
    assert link.startswith(f"{PUBLIC_URL}/challenge/email-magic-link?link=")
    return client.get(link.removeprefix(PUBLIC_URL))


def confirm_fields(page) -> dict[str, str]:
    return {field["name"]: field["value"] for field in parse(page).find("form").find_all("input", type="hidden")}


def confirm(client, link: str):
    """Open the link and press its button."""
    page = open_link(client, link)
    assert page.status_code == 200, text_of(parse(page).find("h1"))
    return client.post(parse(page).find("form")["action"], data=confirm_fields(page))


def link_secret(link: str) -> str:
    """What the link carries: ``<challenge id>.<secret>``."""
    return parse_qs(urlsplit(link).query)["link"][0]
