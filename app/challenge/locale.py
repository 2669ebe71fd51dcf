"""Which language the hosted pages speak (Flask-Babel's locale selector), and the switcher's links.

In order: the language picked in the page's switcher (``?lang=``, then remembered for that challenge
in a cookie scoped to /challenge), the track request's ``locale``, the user's stored ``locale`` (the
server API's user update), the browser's Accept-Language, English. Every other surface (console, APIs) stays English.
"""

from __future__ import annotations

from babel import Locale
from flask import g, request, url_for
from flask_babel import get_locale

from app.domain.languages import DEFAULT, LANGUAGES, supported_language

COOKIE = "tollgate_lang"


def select_locale() -> str:
    if request.blueprint != "challenge":
        return DEFAULT
    return (picked_language() or _remembered() or supported_language(g.get("track_locale"))
            or supported_language(g.get("user_locale")) or _accepted() or DEFAULT)


def picked_language() -> str | None:
    lang = request.args.get("lang")
    return lang if lang in LANGUAGES else None


def _remembered() -> str | None:
    # "<action id>:<language>": a choice made for one challenge does not follow the browser to the next.
    action_id, _, lang = request.cookies.get(COOKIE, "").partition(":")
    return lang if lang in LANGUAGES and action_id and action_id == g.get("action_id") else None


def _accepted() -> str | None:
    # By language, best quality first: werkzeug's best_match prefers an exact "en;q=0.1" to "de-CH;q=0.8".
    return next((lang for tag, _ in request.accept_languages if (lang := supported_language(tag))), None)


def remember(response):
    """After a hosted page: keep the switcher's pick for the rest of this challenge."""
    lang = picked_language()
    if lang and g.get("action_id"):
        response.set_cookie(COOKIE, f"{g.action_id}:{lang}", path="/challenge", httponly=True, samesite="Lax",
                            secure=request.is_secure)
    return response


def page_language() -> dict:
    """The template's <html lang dir> and the switcher: each language named in itself, linking to this
    page in it. Only GET pages link (a POST's result cannot be fetched again)."""
    locale = get_locale()
    links = []
    if request.method == "GET" and request.endpoint:
        args = request.args.to_dict()
        links = [{"code": code, "name": Locale.parse(code).get_display_name(code).capitalize(),
                  "href": url_for(request.endpoint, **{**args, "lang": code}), "current": code == locale.language}
                 for code in LANGUAGES]
    return {"page_lang": locale.language, "page_dir": locale.text_direction, "languages": links}
