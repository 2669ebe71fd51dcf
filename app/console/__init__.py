"""The admin console: actions and rules, activity, users, settings (htmx, server-rendered)."""

from flask import Blueprint

from app.console.guard import install_guard

bp = Blueprint("console", __name__, url_prefix="/console")

install_guard(bp)  # who may open what: the tables in console/guard.py

# Routes register on bp (webhooks, custom_data: admin-only, not listed for reviewers).
from app.console import (  # noqa: E402,F401
    account,
    actions,
    activity,
    backtests,
    brand,
    custom_data,
    home,
    key_revocation,
    management_keys,
    messages,
    overview,
    rules,
    settings,
    shadows,
    users,
    versions,
    webhooks,
)
