"""Messages: the emails and text messages Tollgate sent or is sending, with their status (admins only).

With no SMTP server (or Twilio account) configured outside production this is the development
outbox: the messages never leave the database and are shown here in full, so a demo works with no
mail server or SMS provider at all.
"""

from __future__ import annotations

from flask_login import current_user

from app.config import current_settings
from app.console import bp
from app.htmx import render
from app.services.delivery import messages


@bp.get("/messages")
def message_list():
    settings = current_settings()
    return render("console/messages/list.html", listed=messages.recent_messages(current_user.tenant_id, settings=settings),
                  development_outbox=settings.development_outbox,
                  can_send_email=messages.can_send(messages.EMAIL, current_user.tenant_id, settings),
                  development_sms_outbox=settings.development_sms_outbox,
                  # SMS pumping buys premium numbers in far countries: an open allow-list is worth a warning.
                  any_sms_country=not settings.sms_allowed_countries)
