"""The one guard every console-side blueprint installs: signed in, not idle, not past the
session's lifetime, allowed by role.

Admins may do everything. Reviewers get only what the tables below list, for every blueprint at
once; a view added without thinking about roles is therefore admin-only, the safe default.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, make_response, redirect, request, session, url_for
from flask_login import current_user, logout_user

from app.config import current_settings
from app.htmx import redirect_to
from app.models.base import utcnow
from app.services.console import console_users

READ_METHODS = frozenset({"GET", "HEAD"})
# Where a user whose password someone else chose (an invitation) may go until they choose their own.
PASSWORD_CHANGE = "console.account_password"

# Endpoints reviewers may GET: the console's activity and users, the queue and its cases.
REVIEWER_READS = frozenset({
    "console.home", "console.activity_list", "console.activity_show", "console.activity_replay",
    "console.user_list", "console.user_show",
    "review.queue_list", "review.queue_count", "review.case_show", "review.case_next",
})
# Endpoints any signed-in role may use: one's own account, and working a case (bulk decisions stay
# admin-only).
ANYONE = frozenset({
    "console.account_show", "console.account_password", "console.account_passkey_options",
    "console.account_passkey_add", "console.account_passkey_remove",
    "review.case_claim", "review.case_release", "review.note_create", "review.case_decide",
})
# Endpoints a page asks by itself, on a timer or as the admin types (listed above too, for the roles
# that may read them): they never write the session, so one in flight cannot drop a flash saved meanwhile.
POLLS = frozenset({
    "console.action_first_event",  # the Get started panel: has the first event arrived?
    "console.backtest_progress",  # a back-test's page and the draft's impact preview, while it runs
    # Settings → Brand's live preview: the fragment, and the iframe's page and stylesheet.
    "console.settings_brand_preview", "console.settings_brand_sample", "console.settings_brand_sample_css",
    "review.queue_count",  # the nav badge, every 30 s
})


def install_guard(bp: Blueprint) -> None:
    """Every request to ``bp`` passes the guard, by the tables above.

    A poll is not the user at work: it never counts as activity (an open tab would otherwise never
    reach the idle sign-out) and never redirects. Where a page would be sent elsewhere (signed out,
    idle, a password to choose), a poll answers 204, which htmx does not swap: a poll that redirected
    would load a page that polls again, and a page polling its own redirect reloads itself for ever.
    """
    @bp.before_request
    def guard() -> object:
        if request.endpoint in POLLS:
            return _poll_guard()
        if not current_user.is_authenticated:
            return _to_sign_in(None)
        now = utcnow()
        ended = _why_ended(now)
        if ended:
            console_users.end_session(current_user)
            logout_user()
            session.clear()
            return _to_sign_in(ended)
        session["seen"] = now.timestamp()
        if current_user.must_change_password and request.endpoint != PASSWORD_CHANGE:
            flash("Choose your own password first: the one you signed in with was set by someone else.")
            return redirect_to(url_for(PASSWORD_CHANGE))
        return _by_role()

    def _poll_guard() -> object:
        if not current_user.is_authenticated or _why_ended(utcnow()) or current_user.must_change_password:
            return make_response("", 204)
        return _by_role()

    def _by_role() -> object:
        if current_user.is_admin or request.endpoint in ANYONE:
            return None
        if request.endpoint in REVIEWER_READS and request.method in READ_METHODS:
            return None
        abort(403)


def _why_ended(now: datetime) -> str | None:
    """What ends the signed-in session now (the message for the sign-in page), or None while it goes on.

    The absolute lifetime counts from sign-in, on the server (the user's ``last_login_at``), so no
    amount of activity, and no copy of the cookie, keeps a session past it."""
    settings = current_settings()
    hours = settings.console_session_hours
    started = current_user.last_login_at
    if started is None or now - started > timedelta(hours=hours):
        return f"You were signed out: a session lasts at most {hours} hour{'s' if hours != 1 else ''}. Sign in again."
    if now.timestamp() - float(session.get("seen", 0)) > settings.console_idle_minutes * 60:
        return "You were signed out after a period of inactivity."
    return None


def _to_sign_in(message: str | None):
    if message:
        flash(message)
    target = url_for("auth.login", next=request.full_path if request.method in READ_METHODS else None)
    if request.htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)
