"""The languages Tollgate speaks to end users (hosted pages, and the emails and texts they are sent),
and reading an integrator's BCP 47 tag ("de-AT", "ar_EG") as one of them, by its language."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

LANGUAGES = ("en", "de", "ar")
DEFAULT = "en"


def supported_language(tag: object) -> str | None:
    """One of :data:`LANGUAGES` for ``tag``, or None for a tag of another language or no tag at all."""
    if not isinstance(tag, str):
        return None
    try:
        language = Locale.parse(tag, sep="-" if "-" in tag else "_").language
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    return language if language in LANGUAGES else None


def first_supported(*tags: object) -> str:
    """The first of ``tags`` (most wanted first) Tollgate speaks, else :data:`DEFAULT`."""
    return next((language for tag in tags if (language := supported_language(tag))), DEFAULT)
