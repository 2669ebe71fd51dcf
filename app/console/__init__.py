"""The admin console: actions and rules, activity, users, settings (htmx, server-rendered)."""

from flask import Blueprint

from app.console.guard import install_guard

bp = Blueprint("console", __name__, url_prefix="/console")

install_guard(
    bp,
    reviewer_reads={
        "console.home",
        "console.activity_list",
        "console.activity_show",
        "console.user_list",
        "console.user_show",
    },
    anyone={
        "console.account_show",
        "console.account_passkey_options",
        "console.account_passkey_add",
        "console.account_passkey_remove",
    },
)

from app.console import account, actions, activity, home, settings, users  # noqa: E402,F401  (routes register on bp)
