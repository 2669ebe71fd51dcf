"""The Overview: an admin's home page, what the tenant's actions have been doing lately."""

from __future__ import annotations

from datetime import date

from flask import request, url_for
from flask_login import current_user

from app.config import current_settings
from app.console import bp
from app.htmx import render
from app.models.base import utcnow
from app.services.console import activity, getting_started, overview


@bp.get("/overview")
def overview_show():
    tenant_id = current_user.tenant_id
    window = overview.parse_window(request.args.get("window"))
    first_run = getting_started.getting_started(tenant_id, public_url=current_settings().public_url)
    now = utcnow()
    data = None if first_run else overview.overview(
        tenant_id, window=window, action_code=request.args.get("action") or None, now=now)
    action = data.action_code if data else None

    def activity_url(days: tuple[date, date], *, outcome: str | None = None, state: str | None = None,
                     code: str | None = None, method: str | None = None, rule: str | None = None) -> str:
        """The activity list filtered as a segment, a cell or a row counts (``code``: else the action picked)."""
        return url_for("console.activity_list", action=code or action, outcome=outcome, state=state, method=method,
                       rule=rule, **{"from": days[0].isoformat(), "to": days[1].isoformat()})

    return render("console/overview/show.html", overview=data, first_run=first_run, window=window,
                  windows=overview.WINDOW_LABELS, now=now, activity_url=activity_url,
                  default_rule=activity.DEFAULT_RULE)
