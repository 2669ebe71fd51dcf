"""What the messages say: Jinja templates under ``templates/messages/``, plain text and HTML (and a
text message's one line: the code first, so a phone shows it in the notification).

The HTML is autoescaped (a tenant's name is the tenant admin's text); the plain text is not HTML
and is not escaped. The code (or a magic link's address) stands on a line of its own in the text, so
mail clients offer to copy it and a person (or a test) finds it at a glance. Each message is in the language of the page that
asked for it, from the hosted pages' catalogues (app/translations).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.services.delivery.messages import EmailContent, TextContent

_TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "messages"
_TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"


@cache
def _environments(locale: str) -> tuple[Translations, Environment, Environment]:
    """The catalogue and the text and HTML environments speaking it (an unknown locale reads English)."""
    translations = Translations.load(str(_TRANSLATIONS), [locale])
    text = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=False, undefined=StrictUndefined,
                       keep_trailing_newline=True, extensions=["jinja2.ext.i18n"])
    html = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True, undefined=StrictUndefined,
                       extensions=["jinja2.ext.i18n"])
    for environment in (text, html):
        environment.install_gettext_translations(translations, newstyle=True)
    return translations, text, html


def code_email(*, code: str, minutes: int, tenant_name: str, logo_url: str | None, action_code: str,
               locale: str) -> EmailContent:
    return _email("code_email", "Your %(tenant_name)s verification code", locale=locale, code=code, minutes=minutes,
                  tenant_name=tenant_name, logo_url=logo_url, action_code=action_code)


def link_email(*, url: str, minutes: int, tenant_name: str, logo_url: str | None, action_code: str,
               locale: str) -> EmailContent:
    """A magic link: ``url`` stands on a line of its own in the text, like a code."""
    return _email("link_email", "Your %(tenant_name)s sign-in link", locale=locale, url=url, minutes=minutes,
                  tenant_name=tenant_name, logo_url=logo_url, action_code=action_code)


def code_text(*, code: str, minutes: int, tenant_name: str, locale: str) -> TextContent:
    """An SMS or WhatsApp message carrying a code."""
    _, text, _ = _environments(locale)
    body = text.get_template("code_text.txt").render(code=code, minutes=minutes, tenant_name=tenant_name)
    return TextContent(body=body.strip())


def _email(template: str, subject: str, *, locale: str, **values) -> EmailContent:
    """``subject``: a catalogue msgid taking the tenant's name."""
    translations, text, html = _environments(locale)
    values["locale"] = locale
    return EmailContent(
        subject=translations.gettext(subject) % {"tenant_name": values["tenant_name"]},
        text=text.get_template(f"{template}.txt").render(values),
        html=html.get_template(f"{template}.html").render(values),
        sender_name=values["tenant_name"],
    )
