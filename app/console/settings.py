"""Tenant settings and API keys."""

from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select

from app.console import bp
from app.extensions import db
from app.htmx import render
from app.models import ApiKey


@bp.get("/settings")
def settings_show():
    keys = db.session.execute(
        select(ApiKey).where(ApiKey.tenant_id == current_user.tenant_id).order_by(ApiKey.created_at)
    ).scalars()
    return render("console/settings/show.html", keys=list(keys))
