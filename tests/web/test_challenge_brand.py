"""The tenant's brand on the hosted pages (its theme's stylesheet, logos, title), the action's display
name, and the way back to the app from every final page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote

import pyotp
import pytest
from sqlalchemy import update

from app.domain.decision import ActionState
from app.domain.theme import Theme
from app.domain.tokens import TokenKind, derive_signing_key, issue_token
from app.extensions import db
from app.models import ActionConfiguration, Tenant, UserAction
from app.models.base import utcnow
from app.services.decisions.tracking import action_ref
from tests.factories import make_action
from tests.html import parse, text_of

REDIRECT = "https://app.example/done?state=xyz"
THEME = Theme(primary_color="#0b5cad", background_color="#fbf7ef", text_color="#222222", radius=12, font="humanist",
              logo_dark_url="https://cdn.acme.example/logo-dark.svg", page_title="Acme Bank")


@pytest.fixture
def payout(app, tenant):
    make_action(app, tenant.id, "payout-v2", name="Send a payout", default_outcome="CHALLENGE",
                unenrolled_policy="REQUIRE_ENROLLMENT")


def set_theme(app, tenant_id: str, theme: Theme | None, **columns) -> None:
    with app.app_context():
        row = db.session.get(Tenant, tenant_id)
        row.theme = theme.stored() if theme else None
        for name, value in columns.items():
            setattr(row, name, value)
        db.session.commit()


def track(api, **body) -> dict:
    return api.post("/users/alice/actions/payout-v2", json={"redirectUrl": REDIRECT, **body}).get_json()


def path_of(url: str) -> str:
    return url.removeprefix("http://localhost:5000")


def set_state(app, state: ActionState) -> None:
    with app.app_context():
        db.session.execute(update(UserAction).values(state=state))
        db.session.commit()


def theme_link(page) -> str | None:
    links = [link["href"] for link in page.select('link[rel="stylesheet"]') if "/challenge/theme/" in link["href"]]
    assert len(links) <= 1
    return links[0] if links else None


def declarations(css: str) -> dict[str, str]:
    body = css.split(":root {", 1)[1].rsplit("}", 1)[0]
    return dict(line.strip().rstrip(";").split(": ", 1) for line in body.splitlines() if line.strip())


# -- the theme's stylesheet --------------------------------------------------------------------------


def test_a_themed_page_links_its_stylesheet_and_keeps_the_strict_csp(app, api, client, tenant, payout):
    set_theme(app, tenant.id, THEME, logo_url="https://cdn.acme.example/logo.svg")
    response = client.get(path_of(track(api)["url"]))
    page = parse(response)

    href = theme_link(page)
    with app.app_context():
        stamp = db.session.get(Tenant, tenant.id).config_stamp
    assert href == f"/challenge/theme/{tenant.id}/{stamp}.css"
    # Nothing of the tenant's reaches the page as an inline style.
    assert page.find("style") is None and page.select("[style]") == []
    csp = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert csp["style-src"] == "'self'" and csp["default-src"] == "'none'"
    assert csp["img-src"].split() == ["'self'", "data:", "https://cdn.acme.example"]
    assert text_of(page.find("title")).endswith("· Acme Bank")

    css = client.get(href)
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Set-Cookie" not in css.headers  # nothing per visitor in a response shared caches keep
    assert declarations(css.get_data(as_text=True))["--accent"] == "#0b5cad"
    assert declarations(css.get_data(as_text=True))["--font"].startswith("Seravek")


def test_an_older_stamp_gets_the_current_theme_not_to_be_kept_and_no_tenant_none(app, api, client, tenant, payout):
    set_theme(app, tenant.id, THEME)
    old = theme_link(parse(client.get(path_of(track(api)["url"]))))
    set_theme(app, tenant.id, Theme(primary_color="#8a1c1c"))
    new = theme_link(parse(client.get(path_of(track(api)["url"]))))

    assert new != old
    stale = client.get(old)
    assert stale.headers["Cache-Control"] == "no-cache"
    assert declarations(stale.get_data(as_text=True)) == {"--accent": "#8a1c1c"}
    assert client.get("/challenge/theme/no-such-tenant/abc.css").status_code == 404


def test_a_tenant_without_a_theme_links_no_stylesheet_of_its_own(app, api, client, tenant, payout):
    page = parse(client.get(path_of(track(api)["url"])))
    assert theme_link(page) is None
    assert text_of(page.find("title")).endswith("· Test tenant")


def test_the_logos_follow_the_device_unless_the_theme_fixes_the_background(app, api, client, tenant, payout):
    light, dark = "https://cdn.acme.example/logo.svg", "https://cdn.acme.example/logo-dark.svg"
    set_theme(app, tenant.id, Theme(logo_dark_url=dark), logo_url=light)
    picture = parse(client.get(path_of(track(api)["url"]))).find("picture")
    assert picture.find("img")["src"] == light
    assert picture.find("source")["media"] == "(prefers-color-scheme: dark)" and picture.find("source")["srcset"] == dark

    set_theme(app, tenant.id, Theme(background_color="#101820", text_color="#f0f0f0", logo_dark_url=dark))
    picture = parse(client.get(path_of(track(api)["url"]))).find("picture")
    assert picture.find("img")["src"] == dark and picture.find("source") is None


# -- what the end user reads ------------------------------------------------------------------------


def test_pages_name_the_action_by_its_display_name_never_its_code(api, client, payout):
    page = parse(client.get(path_of(track(api)["url"])))
    assert text_of(page.select_one(".lead strong")) == "Send a payout"
    assert "payout-v2" not in text_of(page.find("main"))


def test_an_action_without_a_display_name_is_named_by_its_code(app, api, client, payout):
    with app.app_context():
        db.session.execute(update(ActionConfiguration).values(name=""))
        db.session.commit()
    page = parse(client.get(path_of(track(api)["url"])))
    assert text_of(page.select_one(".lead strong")) == "payout-v2"


def return_button(page):
    return page.find("a", id="return")


@pytest.mark.parametrize(("state", "title"), [
    (ActionState.CHALLENGE_SUCCEEDED, "Already verified"),
    (ActionState.REVIEW_FAILED, "Your request was declined"),
    (ActionState.BLOCK, "This request was blocked"),
])
def test_a_final_page_keeps_the_brand_and_offers_the_way_back(app, api, client, tenant, payout, state, title):
    set_theme(app, tenant.id, THEME)
    url = path_of(track(api)["url"])
    set_state(app, state)
    page = parse(client.get(url))

    assert text_of(page.find("h1")) == title
    assert text_of(return_button(page)) == "Return to Test tenant"
    assert return_button(page)["href"] == REDIRECT
    assert theme_link(page) is not None and text_of(page.select_one(".tenant")) == "Test tenant"


def test_an_expired_link_keeps_the_brand_and_the_way_back(app, api, client, tenant, payout):
    set_theme(app, tenant.id, THEME)
    track(api)
    with app.app_context():
        action = db.session.execute(db.select(UserAction)).scalar_one()
        settings = app.config["TOLLGATE"]
        token = issue_token(action_ref(action), kind=TokenKind.CLIENT, scope=(), ttl_seconds=60,
                            now=utcnow() - timedelta(hours=1), signing_key=derive_signing_key(settings.secret_key),
                            issuer=settings.public_url)
    response = client.get("/challenge", query_string={"token": token})
    page = parse(response)

    assert response.status_code == 400 and text_of(page.find("h1")) == "This link has expired"
    assert return_button(page)["href"] == REDIRECT and theme_link(page) is not None


def test_a_link_that_is_not_ours_names_no_tenant_and_no_way_back(client, payout):
    page = parse(client.get("/challenge", query_string={"token": "not-a-token"}))
    assert text_of(page.find("h1")) == "This link is not valid"
    assert return_button(page) is None and page.select_one(".tenant") is None and theme_link(page) is None


def test_no_way_back_to_an_address_off_the_allow_list_nor_in_a_popup(app, api, client, tenant, payout):
    url = path_of(track(api)["url"])
    set_state(app, ActionState.CHALLENGE_SUCCEEDED)
    assert return_button(parse(client.get(url + "&mode=popup"))) is None
    with app.app_context():
        db.session.execute(update(UserAction).values(redirect_url="https://evil.example/steal"))
        db.session.commit()
    assert return_button(parse(client.get(url))) is None


def test_the_recovery_codes_can_be_downloaded_copied_and_printed(app, api, client, tenant, payout):
    set_theme(app, tenant.id, None, name="A&B <Bank>")  # the file is text: the name as written, not as HTML
    token = track(api)["token"]
    setup = parse(client.post("/challenge/totp-setup", data={"token": token}))
    secret = setup.find(id="copy-secret")["data-copy"]
    page = parse(client.post("/challenge/totp", data={"token": token, "code": pyotp.TOTP(secret).now()}))
    codes = [text_of(code) for code in page.select("#recovery-codes code")]

    download = page.find("a", id="download-codes")
    assert download["download"] == "recovery-codes.txt"
    media, _, text = download["href"].partition(",")
    assert media == "data:text/plain;charset=utf-8"
    assert unquote(text).splitlines() == ["Recovery codes for A&B <Bank>. Each code works once.", "", *codes]
    assert page.find(id="copy-codes")["data-copy"].splitlines() == codes
    assert page.find(id="print-codes").has_attr("data-print")
