"""The admin console: actions and rules, activity, users, settings (htmx, server-rendered)."""

from flask import Blueprint

from app.console.guard import install_guard

bp = Blueprint("console", __name__, url_prefix="/console")

REVIEWER_READS = frozenset({
    "console.home",
    "console.activity_list",
    "console.activity_show",
    "console.user_list",
    "console.user_show",
})
ANYONE = frozenset({
    "console.account_show",
    "console.account_password",
    "console.account_passkey_options",
    "console.account_passkey_add",
    "console.account_passkey_remove",
})
# The Get started panel asks every few seconds whether the first event has arrived.
POLLS = frozenset({"console.action_first_event"})
install_guard(bp, reviewer_reads=REVIEWER_READS, anyone=ANYONE, polls=POLLS)

# Routes register on bp (webhooks, custom_data: admin-only, not listed for reviewers).
from app.console import (  # noqa: E402,F401
    account,
    actions,
    activity,
    custom_data,
    home,
    messages,
    rules,
    settings,
    users,
    webhooks,
)
