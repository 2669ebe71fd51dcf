"""Tracked actions, newest first, and one action's whole story."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from app.console import bp
from app.extensions import db
from app.htmx import render
from app.models import UserAction


@bp.get("/activity")
def activity_list():
    actions = db.session.execute(
        select(UserAction).where(UserAction.tenant_id == current_user.tenant_id).order_by(UserAction.id.desc()).limit(50)
    ).scalars()
    return render("console/activity/list.html", actions=list(actions))


@bp.get("/activity/<int:action_id>")
def activity_show(action_id: int):
    action = db.session.get(UserAction, action_id)
    if action is None or action.tenant_id != current_user.tenant_id:
        abort(404)
    return render("console/activity/show.html", action=action)
