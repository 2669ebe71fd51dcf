"""Actions and their rules."""

from __future__ import annotations

from flask_login import current_user

from app.console import bp
from app.htmx import render
from app.services import rules


@bp.get("/actions")
def action_list():
    return render("console/actions/list.html", actions=rules.list_action_configurations(current_user.tenant_id))
