"""What the messages say: Jinja templates under ``templates/messages/``, plain text and HTML.

The HTML is autoescaped (a tenant's name is the tenant admin's text); the plain text is not HTML
and is not escaped. The code stands on a line of its own in the text, so mail clients offer to copy
it and a person (or a test) finds it at a glance.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.services.delivery.messages import EmailContent

_TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "messages"
_text = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=False, undefined=StrictUndefined,
                    keep_trailing_newline=True)
_html = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True, undefined=StrictUndefined)


def code_email(*, code: str, minutes: int, tenant_name: str, logo_url: str | None, action_code: str) -> EmailContent:
    values = {"code": code, "minutes": minutes, "tenant_name": tenant_name, "logo_url": logo_url,
              "action_code": action_code}
    return EmailContent(
        subject=f"Your {tenant_name} verification code",
        text=_text.get_template("code_email.txt").render(values),
        html=_html.get_template("code_email.html").render(values),
        sender_name=tenant_name,
    )
