"""Settings → Brand: the hosted pages' theme, refused with a message when it is malformed or unreadable,
and previewed live (htmx) before it is saved."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app.extensions import db
from app.models import Tenant
from tests.factories import make_action
from tests.html import field_error, flash_messages, fragment_root, parse, text_of
from tests.web.conftest import audit_events

BLANK = {"primary_color": "", "button_text_color": "", "background_color": "", "text_color": "", "radius": "",
         "font": "system", "logo_dark_url": "", "page_title": ""}
GOOD = {**BLANK, "primary_color": "#0B5CAD", "background_color": "#fbf7ef", "text_color": "#222222", "radius": "12",
        "font": "rounded", "logo_dark_url": "https://cdn.acme.example/dark.svg", "page_title": "Acme Bank"}


def save(admin, htmx=False, **fields):
    return admin.post("/console/settings/brand", data={**BLANK, **fields}, htmx=htmx)


def stored_theme(app, tenant_id):
    with app.app_context():
        return db.session.get(Tenant, tenant_id).theme


def csp_of(response) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))


def test_a_readable_theme_is_saved_audited_and_shown_again(app, admin, tenant):
    response = save(admin, **GOOD)

    assert response.status_code == 303
    assert stored_theme(app, tenant.id) == {
        "primary_color": "#0b5cad", "background_color": "#fbf7ef", "text_color": "#222222", "radius": 12,
        "font": "rounded", "logo_dark_url": "https://cdn.acme.example/dark.svg", "page_title": "Acme Bank"}
    assert [e.after["primary_color"] for e in audit_events(app, "tenant.theme_updated")] == ["#0b5cad"]
    page = parse(admin.get(response.headers["Location"]))
    assert flash_messages(page) == ["Brand saved. The verification pages use it from the next page they show."]
    assert page.find(id="primary_color")["value"] == "#0b5cad"
    assert page.find(id="font").find("option", selected=True)["value"] == "rounded"


def test_an_invalid_colour_is_a_message_beside_it_and_nothing_is_saved(app, admin, tenant):
    response = save(admin, **{**GOOD, "primary_color": "navy", "radius": "huge"})

    assert response.status_code == 400
    assert field_error(response, "primary_color") == "“navy” is not a colour: use #rrggbb, e.g. #1f4e79."
    assert field_error(response, "radius") == "The corner radius must be a whole number of pixels."
    assert stored_theme(app, tenant.id) is None


def test_an_unreadable_theme_is_refused_naming_the_pair_and_the_ratio(app, admin, tenant):
    response = save(admin, htmx=True, background_color="#ffffff", text_color="#aaaaaa", primary_color="#ffd700")

    assert response.status_code == 400
    assert fragment_root(response)["id"] == "brand-settings"
    assert field_error(response, "text_color") == (
        "The text colour on the background colour has a contrast of 2.32:1; WCAG AA needs at least 4.5:1.")
    assert field_error(response, "button_text_color").startswith(
        "The button text colour on the primary colour has a contrast of 1.4")
    assert stored_theme(app, tenant.id) is None


def test_a_bad_dark_logo_url_is_refused_like_the_logo_url(admin):
    response = save(admin, logo_dark_url="javascript:alert(1)")
    assert field_error(response, "logo_dark_url") == "The logo URL must be an absolute https:// URL."


@pytest.mark.parametrize("fields", [
    {"font": "Comic Sans"}, {"radius": "1e309"}, {"radius": "-1"}, {"page_title": "x" * 5000},
    {"primary_color": "#fff;} body{display:none"}, {"text_color": "#12345g"},
])
def test_bad_input_is_a_form_message_never_a_500(admin, fields):
    response = save(admin, **fields)
    assert response.status_code == 400
    assert parse(response).select(".field.has-error")


def test_the_live_preview_shows_what_the_form_holds_without_saving_it(app, admin, tenant):
    typed = {"primary_color": "#ffd700", "text_color": "#222222", "radius": "0"}
    response = admin.get("/console/settings/brand/preview", query_string=typed, headers={"HX-Request": "true"})

    preview = fragment_root(response)
    assert preview["id"] == "brand-preview"
    contrast = [text_of(item) for item in preview.select("#brand-contrast li")]
    assert contrast[0].startswith("Text on background: 15.") and contrast[0].endswith("(passes AA)")
    assert contrast[1] == "Button text on primary: 1.40:1 (fails AA, needs 4.5:1)"
    assert [text_of(li) for li in preview.select("#brand-problems li")] == [
        "The button text colour on the primary colour has a contrast of 1.40:1; WCAG AA needs at least 4.5:1."]
    sample = urlsplit(preview.find("iframe")["src"])
    assert sample.path == "/console/settings/brand/sample"
    assert parse_qs(sample.query) == {"primary_color": ["#ffd700"], "text_color": ["#222222"], "radius": ["0"]}
    assert stored_theme(app, tenant.id) is None


def test_the_preview_without_htmx_is_the_whole_page_with_the_typed_values(admin):
    page = parse(admin.get("/console/settings/brand/preview", query_string={"primary_color": "#8a1c1c"}))
    assert page.find("html") is not None and page.find(id="primary_color")["value"] == "#8a1c1c"


def test_the_sample_is_the_hosted_page_styled_by_the_typed_theme_and_framed_only_by_the_console(app, admin, tenant):
    make_action(app, tenant.id, "payout")
    typed = {"primary_color": "#0b5cad", "logo_dark_url": "https://cdn.acme.example/dark.svg", "page_title": "Acme"}
    response = admin.get("/console/settings/brand/sample", query_string=typed)

    assert csp_of(response)["frame-ancestors"] == "'self'" and response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert csp_of(response)["style-src"] == "'self'"
    assert csp_of(response)["img-src"].split() == ["'self'", "data:", "https://cdn.acme.example"]
    page = parse(response)
    assert text_of(page.find("title")) == "Verify it's you · Acme"
    assert page.find("style") is None and page.select("[style]") == []
    css_href = page.select('link[rel="stylesheet"]')[-1]["href"]
    css = admin.get(css_href)
    assert css.mimetype == "text/css" and "--accent: #0b5cad;" in css.get_data(as_text=True).splitlines()[2]
    # Every other console page still refuses to be framed.
    other = admin.get("/console/settings/brand")
    assert csp_of(other)["frame-ancestors"] == "'none'" and other.headers["X-Frame-Options"] == "DENY"


def test_a_saved_theme_reaches_the_hosted_pages(app, admin, api, client, tenant):
    make_action(app, tenant.id, "payout", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")
    save(admin, **GOOD)
    url = api.post("/users/alice/actions/payout", json={}).get_json()["url"]
    page = parse(client.get(url.removeprefix("http://localhost:5000")))

    href = next(link["href"] for link in page.select('link[rel="stylesheet"]') if "/challenge/theme/" in link["href"])
    css = client.get(href).get_data(as_text=True)
    assert "  --accent: #0b5cad;" in css.splitlines()
    assert text_of(page.find("title")).endswith("· Acme Bank")
