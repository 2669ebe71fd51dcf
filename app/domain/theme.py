"""A tenant's theme for the hosted pages: colours, corner radius, font stack, logos, page title.

Pure: parsing what an admin typed into a :class:`Theme`, the WCAG 2.x contrast check that refuses a
theme its users could not read, and the stylesheet (CSS custom properties) the hosted pages link.
A tenant's values never reach a page as markup or an inline style (the pages' CSP forbids both):
they are re-emitted here from parsed numbers and a fixed list of font stacks, so nothing a tenant
types can break out of a declaration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel

from app.domain.errors import InvalidFields

# WCAG 2.x success criterion 1.4.3 (AA) for body text.
MIN_CONTRAST = 4.5
RADIUS_RANGE = (0, 24)  # px
MAX_TITLE = 80
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
_HOST_PORT = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")

# System fonts only: a web font would be a request to somewhere else, which the CSP refuses anyway.
# (After modernfontstacks.com; each ends in a generic family that every browser has.)
FONT_STACKS: dict[str, tuple[str, str]] = {
    "system": ("System UI", 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'),
    "humanist": ("Humanist sans", 'Seravek, "Gill Sans Nova", Ubuntu, Calibri, "DejaVu Sans", source-sans-pro, sans-serif'),
    "geometric": ("Geometric sans", 'Avenir, Montserrat, Corbel, "URW Gothic", source-sans-pro, sans-serif'),
    "rounded": ("Rounded", 'ui-rounded, "Hiragino Maru Gothic ProN", Quicksand, Comfortaa, Manjari, '
                           '"Arial Rounded MT", "Arial Rounded MT Bold", Calibri, source-sans-pro, sans-serif'),
    "serif": ("Serif", 'Charter, "Bitstream Charter", "Sitka Text", Cambria, serif'),
    "monospace": ("Monospace",
                  'ui-monospace, "Cascadia Code", "Source Code Pro", Menlo, Consolas, "DejaVu Sans Mono", monospace'),
}
DEFAULT_FONT = "system"

# What the pages use where the theme says nothing (static/end_user.css has the same values).
DEFAULT_PRIMARY = "#1f4e79"
DEFAULT_BUTTON_TEXT = "#ffffff"
DEFAULT_BACKGROUND = "#ffffff"
DEFAULT_TEXT = "#1a1a1a"
# Error text on a light and on a dark canvas (end_user.css's --danger).
DANGER = ("#b3261e", "#f28b82")
MUTED_SHARE = 0.62  # end_user.css's --muted: this much text colour mixed into the background


class InvalidTheme(InvalidFields, code="invalid_theme"):
    """A theme the console cannot save: a malformed value, or colours that fail WCAG AA."""

    summary = "The theme is not valid: "


@dataclass(frozen=True)
class Theme:
    """Every field optional: ``None`` keeps the pages' own look for it. Colours are ``#rrggbb``."""

    primary_color: str | None = None
    button_text_color: str | None = None
    background_color: str | None = None
    text_color: str | None = None
    radius: int | None = None
    font: str | None = None
    logo_dark_url: str | None = None
    page_title: str | None = None

    @property
    def is_default(self) -> bool:
        return self == Theme()

    @property
    def has_canvas(self) -> bool:
        """Background or text set: the page stops following the device's light/dark scheme."""
        return self.background_color is not None or self.text_color is not None

    @property
    def is_dark(self) -> bool:
        """The page is dark when its background is (then the logo for dark backgrounds is the one shown)."""
        return self.has_canvas and relative_luminance(self.background_color or DEFAULT_BACKGROUND) < 0.18

    def stored(self) -> dict[str, Any] | None:
        """What the tenant row keeps (only the fields set), ``None`` for no theme."""
        values = {name: value for name, value in asdict(self).items() if value is not None}
        return values or None

    @classmethod
    def from_stored(cls, values: dict[str, Any] | None) -> Theme:
        """A stored theme, read by the same rules it was saved by: a value that does not pass them (a row
        written by other means) is left out rather than emitted into a stylesheet, and a key this version
        does not know is ignored."""
        return read_theme(values or {})[0]

    def document(self) -> dict[str, Any]:
        """The theme as the management API and config files write it: camelCase, only the fields set."""
        return {to_camel(name): value for name, value in (self.stored() or {}).items()}

    @staticmethod
    def values_of(document: Mapping[str, Any]) -> dict[str, Any]:
        """A camelCase document's values by field name, as :func:`read_theme` takes them."""
        return {name: document.get(to_camel(name)) for name in THEME_FIELDS}


THEME_FIELDS = tuple(f.name for f in fields(Theme))
_Short = Annotated[str, StringConstraints(max_length=40)]


class ThemeDocument(BaseModel):
    """A theme as the management API's body and a config file's ``settings.theme`` carry it: camelCase,
    every field optional, an unknown one refused (a typo must not pass as "unchanged"). Only the shape:
    :func:`read_theme` judges the values."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", strict=True, frozen=True)

    primary_color: _Short | None = None
    button_text_color: _Short | None = None
    background_color: _Short | None = None
    text_color: _Short | None = None
    radius: int | None = None
    font: _Short | None = None
    logo_dark_url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    page_title: Annotated[str, StringConstraints(max_length=200)] | None = None


@dataclass(frozen=True)
class Contrast:
    """A pair of colours a reader must tell apart (``foreground``/``background`` are field names), and
    their contrast ratio. ``is_set``: the theme sets one of them (else the page keeps its own pair)."""

    foreground: str
    background: str
    ratio: float
    is_set: bool

    @property
    def passes(self) -> bool:
        return self.ratio >= MIN_CONTRAST

    @property
    def shown(self) -> str:
        """"4.47:1": two decimals, rounded down, so a ratio just under AA never reads as 4.50."""
        return f"{int(self.ratio * 100) / 100:.2f}:1"


def parse_color(value: str) -> str:
    """``#rrggbb`` (lower case) from ``#rrggbb``, ``rrggbb`` or ``#rgb``; ``ValueError`` for anything else."""
    match = _HEX.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"“{value}” is not a colour: use #rrggbb, e.g. #1f4e79.")
    digits = match.group(1).lower()
    return "#" + ("".join(c * 2 for c in digits) if len(digits) == 3 else digits)


def _channels(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def relative_luminance(color: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb`` (sRGB, 0 for black to 1 for white)."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _channels(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.x contrast ratio of two ``#rrggbb`` colours, from 1 (same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def contrasts(theme: Theme) -> list[Contrast]:
    """Text on the background and button text on the primary colour, as the page will show them: a
    colour left out counts as its default."""
    return [
        Contrast("text_color", "background_color",
                 contrast_ratio(theme.text_color or DEFAULT_TEXT, theme.background_color or DEFAULT_BACKGROUND),
                 theme.has_canvas),
        Contrast("button_text_color", "primary_color",
                 contrast_ratio(theme.button_text_color or DEFAULT_BUTTON_TEXT, theme.primary_color or DEFAULT_PRIMARY),
                 theme.primary_color is not None or theme.button_text_color is not None),
    ]


def contrast_problems(theme: Theme) -> list[Contrast]:
    """The pairs the theme sets that fail AA."""
    return [pair for pair in contrasts(theme) if pair.is_set and not pair.passes]


FIELD_LABELS = {"primary_color": "primary colour", "button_text_color": "button text colour",
                "background_color": "background colour", "text_color": "text colour"}


def describe(problem: Contrast) -> str:
    return (f"The {FIELD_LABELS[problem.foreground]} on the {FIELD_LABELS[problem.background]} has a contrast of "
            f"{problem.shown}; WCAG AA needs at least {MIN_CONTRAST}:1.")


def parse_theme(values: dict[str, Any]) -> Theme:
    """A :class:`Theme` from what an admin typed (strings; blank means unset), or ``InvalidTheme`` naming
    every bad field. Logo URLs are checked by the caller, with the tenant's other URLs."""
    theme, errors = read_theme(values)
    if errors:
        raise InvalidTheme(errors)
    return theme


def read_theme(values: dict[str, Any]) -> tuple[Theme, dict[str, list[str]]]:
    """What the admin typed as far as it is usable, and what is wrong with it: the live preview shows
    both (a colour that fails AA is previewed, so the admin sees why it is refused)."""
    errors: dict[str, list[str]] = {}
    parsed: dict[str, Any] = {}
    for name in FIELD_LABELS:
        raw = _blank_to_none(values.get(name))
        if raw is None:
            continue
        try:
            parsed[name] = parse_color(raw)
        except ValueError as exc:
            errors.setdefault(name, []).append(str(exc))
    radius = _blank_to_none(values.get("radius"))
    if radius is not None:
        low, high = RADIUS_RANGE
        try:
            number = int(radius)
        except (TypeError, ValueError):
            errors.setdefault("radius", []).append("The corner radius must be a whole number of pixels.")
        else:
            if low <= number <= high:
                parsed["radius"] = number
            else:
                errors.setdefault("radius", []).append(f"The corner radius must be between {low} and {high} pixels.")
    font = _blank_to_none(values.get("font"))
    if font is not None:
        if font in FONT_STACKS:
            parsed["font"] = None if font == DEFAULT_FONT else font
        else:
            errors.setdefault("font", []).append("Pick one of the listed fonts.")
    title = _blank_to_none(values.get("page_title"))
    if title is not None:
        if len(title) > MAX_TITLE:
            errors.setdefault("page_title", []).append(f"The page title must be at most {MAX_TITLE} characters.")
        else:
            parsed["page_title"] = title
    parsed["logo_dark_url"] = _blank_to_none(values.get("logo_dark_url"))
    theme = Theme(**parsed)
    for problem in contrast_problems(theme):
        # Beside the field the admin can change; a malformed colour is the message there already.
        if not {problem.foreground, problem.background} & errors.keys():
            errors.setdefault(problem.foreground, []).append(describe(problem))
    return theme, errors


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
    return None if value in (None, "") else value


def _mix(first: str, second: str, share: float) -> str:
    """``share`` of ``first`` with the rest ``second``, per sRGB channel (CSS ``color-mix(in srgb, ...)``)."""
    pairs = zip(_channels(first), _channels(second), strict=True)
    return "#" + "".join(f"{round(a * share + b * (1 - share)):02x}" for a, b in pairs)


def _readable(candidates: tuple[str, ...], background: str, fallback: str) -> str:
    """The first candidate that reads on ``background`` at AA, else ``fallback`` (which was checked to)."""
    return next((c for c in candidates if contrast_ratio(c, background) >= MIN_CONTRAST), fallback)


def stylesheet(theme: Theme) -> str:
    """The CSS the hosted pages link for this theme: custom properties static/end_user.css reads.

    With a background or text colour the page's colours are fixed (no more following the device's
    dark mode), so the colours derived from them (muted text, errors, links) are computed here to
    stay at AA on that background rather than left to the light/dark defaults.
    """
    props: list[tuple[str, str]] = []
    if theme.primary_color:
        props.append(("--accent", theme.primary_color))
    if theme.button_text_color:
        props.append(("--accent-text", theme.button_text_color))
    if theme.has_canvas:
        background = theme.background_color or DEFAULT_BACKGROUND
        text = theme.text_color or DEFAULT_TEXT
        props += [
            ("color-scheme", "dark" if theme.is_dark else "light"),
            ("--canvas", background),
            ("--text", text),
            ("--muted", _readable((_mix(text, background, MUTED_SHARE),), background, text)),
            ("--danger", _readable(DANGER, background, text)),
            ("--link", _readable((theme.primary_color or DEFAULT_PRIMARY,), background, text)),
        ]
    if theme.radius is not None:
        props.append(("--radius", f"{theme.radius}px"))
    if theme.font:
        props.append(("--font", FONT_STACKS[theme.font][1]))
    body = "".join(f"  {name}: {value};\n" for name, value in props)
    return f"/* Tollgate: this tenant's theme (console Settings → Brand). */\n:root {{\n{body}}}\n"


def logo_sources(theme: Theme, light_url: str | None) -> tuple[str | None, str | None]:
    """(the logo ``<img>`` shows, the one a device in dark mode shows instead, or ``None``).

    A fixed canvas shows the logo made for it; a page that follows the device swaps logos with it.
    """
    dark = theme.logo_dark_url
    if theme.has_canvas:
        return ((dark or light_url) if theme.is_dark else (light_url or dark)), None
    if light_url and dark:
        return light_url, dark
    return light_url or dark, None


def logo_origins(urls: list[str | None]) -> list[str]:
    """The origins of a tenant's logos, for a page's CSP ``img-src`` (sorted, each once). The URLs were
    validated as http(s) when saved; anything that could end a CSP directive is left out all the same."""
    origins = set()
    for url in urls:
        parts = urlsplit(url or "")
        if parts.scheme in ("http", "https") and _HOST_PORT.fullmatch(parts.netloc):
            origins.add(f"{parts.scheme}://{parts.netloc}")
    return sorted(origins)
