"""Tenant themes: colours as typed, WCAG 2.x contrast, and the stylesheet a theme becomes."""

from __future__ import annotations

import pytest

from app.domain.theme import (
    FONT_STACKS,
    InvalidTheme,
    Theme,
    contrast_problems,
    contrast_ratio,
    contrasts,
    parse_color,
    parse_theme,
    relative_luminance,
    stylesheet,
)


def refused(**values) -> dict[str, list[str]]:
    with pytest.raises(InvalidTheme) as caught:
        parse_theme(values)
    return caught.value.fields


def declarations(css: str) -> dict[str, str]:
    """The custom properties (and color-scheme) a generated stylesheet declares on :root."""
    body = css.split(":root {", 1)[1].rsplit("}", 1)[0]
    return dict(line.strip().rstrip(";").split(": ", 1) for line in body.splitlines() if line.strip())


@pytest.mark.parametrize(("typed", "parsed"), [
    ("#1F4E79", "#1f4e79"), ("1f4e79", "#1f4e79"), (" #abc ", "#aabbcc"), ("#000000", "#000000"),
])
def test_colours_are_read_as_rrggbb(typed, parsed):
    assert parse_color(typed) == parsed


@pytest.mark.parametrize("typed", ["red", "#12345", "#1234567", "#ggg000", "rgb(0,0,0)", "#fff;}body{x", "", "#"])
def test_anything_else_is_not_a_colour(typed):
    with pytest.raises(ValueError, match="is not a colour"):
        parse_color(typed)


def test_relative_luminance_follows_wcag():
    assert relative_luminance("#000000") == 0
    assert relative_luminance("#ffffff") == pytest.approx(1)
    # WCAG's own worked value for mid grey (#777777 ≈ 0.184).
    assert relative_luminance("#777777") == pytest.approx(0.1845, abs=1e-3)


@pytest.mark.parametrize(("first", "second", "ratio"), [
    ("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0),
    ("#767676", "#ffffff", 4.54),  # the lightest grey that passes AA on white
    ("#777777", "#ffffff", 4.48),  # one step lighter fails
    ("#595959", "#ffffff", 7.0),  # AAA grey
])
def test_contrast_ratio(first, second, ratio):
    assert contrast_ratio(first, second) == pytest.approx(ratio, abs=0.01)
    assert contrast_ratio(second, first) == contrast_ratio(first, second)


def test_a_readable_theme_is_kept():
    theme = parse_theme({"primary_color": "#0B5CAD", "button_text_color": "#fff", "background_color": "#fafafa",
                         "text_color": "#222222", "radius": "12", "font": "humanist", "page_title": " Acme Bank ",
                         "logo_dark_url": ""})
    assert theme == Theme(primary_color="#0b5cad", button_text_color="#ffffff", background_color="#fafafa",
                          text_color="#222222", radius=12, font="humanist", page_title="Acme Bank")
    assert contrast_problems(theme) == []


def test_text_that_fails_aa_on_the_background_is_refused_naming_the_pair_and_the_ratio():
    errors = refused(background_color="#ffffff", text_color="#777777")
    assert errors == {"text_color": [
        "The text colour on the background colour has a contrast of 4.47:1; WCAG AA needs at least 4.5:1."]}


def test_button_text_that_fails_aa_on_the_primary_colour_is_refused():
    errors = refused(primary_color="#ffcc00")  # the default white button text on yellow
    assert list(errors) == ["button_text_color"]
    assert "button text colour on the primary colour" in errors["button_text_color"][0]
    assert "1.5" in errors["button_text_color"][0]


def test_a_ratio_just_under_aa_never_reads_as_a_pass():
    # 4.478…:1 is rounded down in the message: a ratio just under AA never reads as 4.50.
    problems = contrast_problems(Theme(text_color="#777777"))
    assert problems and problems[0].ratio < 4.5
    assert "4.47:1" in refused(text_color="#777777")["text_color"][0]


def test_both_pairs_are_reported_as_the_page_will_show_them():
    pairs = contrasts(Theme(primary_color="#ffd700"))
    assert [(p.foreground, p.background, p.is_set, p.passes) for p in pairs] == [
        ("text_color", "background_color", False, True), ("button_text_color", "primary_color", True, False)]
    assert pairs[1].shown == "1.40:1"


def test_only_one_of_a_pair_set_is_checked_against_the_default_of_the_other():
    # A dark background with the default (dark) text: unreadable, so refused.
    assert list(refused(background_color="#111111")) == ["text_color"]
    assert parse_theme({"background_color": "#111111", "text_color": "#eeeeee"}).is_dark


def test_malformed_values_are_messages_per_field_not_exceptions():
    errors = refused(primary_color="blue", radius="wide", font="Comic Sans", page_title="x" * 81)
    assert set(errors) == {"primary_color", "radius", "font", "page_title"}
    assert refused(radius="40") == {"radius": ["The corner radius must be between 0 and 24 pixels."]}


def test_a_blank_form_is_no_theme():
    theme = parse_theme({"primary_color": " ", "radius": "", "font": "system"})
    assert theme.is_default and theme.stored() is None
    assert Theme.from_stored(None) == Theme()


def test_a_stored_theme_reads_back_and_ignores_keys_it_does_not_know():
    theme = Theme(primary_color="#0b5cad", radius=0, font="serif", logo_dark_url="https://cdn.example/d.svg")
    assert Theme.from_stored({**theme.stored(), "retired": 1}) == theme


def test_a_stored_value_that_breaks_the_rules_never_reaches_the_stylesheet():
    # A row written by other means than the console: what would end the declaration is left out.
    theme = Theme.from_stored({"primary_color": "red;}body{display:none", "radius": 99, "font": "Comic Sans",
                               "text_color": "#222222"})
    assert theme == Theme(text_color="#222222")
    assert "display" not in stylesheet(theme)


def test_the_stylesheet_declares_the_theme_as_custom_properties():
    css = declarations(stylesheet(Theme(primary_color="#0b5cad", radius=0, font="serif")))
    assert css == {"--accent": "#0b5cad", "--radius": "0px", "--font": FONT_STACKS["serif"][1]}


def test_a_fixed_canvas_fixes_the_scheme_and_keeps_derived_colours_readable():
    theme = Theme(background_color="#f2e8d5", text_color="#3b3b3b", primary_color="#8a5a00")
    css = declarations(stylesheet(theme))
    assert css["color-scheme"] == "light"
    assert (css["--canvas"], css["--text"]) == ("#f2e8d5", "#3b3b3b")
    for derived in ("--muted", "--danger", "--link"):
        assert contrast_ratio(css[derived], "#f2e8d5") >= 4.5, derived
    dark = declarations(stylesheet(Theme(background_color="#101820", text_color="#f0f0f0")))
    assert dark["color-scheme"] == "dark"
    assert dark["--danger"] == "#f28b82"
    assert contrast_ratio(dark["--link"], "#101820") >= 4.5


def test_without_a_canvas_the_page_keeps_following_the_device():
    css = declarations(stylesheet(Theme(primary_color="#0b5cad")))
    assert "color-scheme" not in css and "--canvas" not in css
