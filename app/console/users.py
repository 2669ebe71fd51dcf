"""End users: search and inspect."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from app.console import bp
from app.htmx import render
from app.services import users


@bp.get("/users")
def user_list():
    page = users.query_users(current_user.tenant_id, limit=50)
    return render("console/users/list.html", users=page.users)


@bp.get("/users/<path:user_id>")
def user_show(user_id: str):
    user = users.find_user(current_user.tenant_id, user_id)
    if user is None:
        abort(404)
    return render("console/users/show.html", user=user)
