"""Sign in (password, then the account's passkey when it has one) and sign out."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.auth import bp
from app.auth.forms import SignInForm
from app.config import current_settings
from app.domain.errors import DomainError, TooManyRequests
from app.extensions import db
from app.models import ConsoleUser
from app.models.base import utcnow
from app.services.console import console_passkeys, console_users

PENDING_KEY = "pending_second_factor"
# The password step is only good for a short while: the passkey must follow promptly.
PENDING_FOR = timedelta(minutes=5)


def landing_url(user: ConsoleUser) -> str:
    # A reviewer's work is the queue; an admin's starts with what the tenant's actions have been doing.
    return url_for("console.overview_show") if user.is_admin else url_for("review.queue_list")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = SignInForm()
    if form.validate_on_submit():
        try:
            result = console_users.check_password(
                form.email.data, form.password.data, client_ip=request.remote_addr, settings=current_settings(),
                now=utcnow(),
            )
        except TooManyRequests as exc:
            form.password.errors.append(exc.message)
            return render_template("auth/login.html", form=form), exc.status, exc.headers
        if result.user is None:
            form.password.errors.append(result.error)
            return render_template("auth/login.html", form=form), 400
        if result.user.passkeys:
            session.clear()
            session[PENDING_KEY] = {"user": result.user.id, "at": utcnow().timestamp()}
            return redirect(url_for("auth.second_factor"))
        return _sign_in(result.user)
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


def _sign_in(user: ConsoleUser):
    session.clear()  # nothing from before sign-in survives it
    console_users.start_session(user, now=utcnow())
    login_user(user)
    session["seen"] = utcnow().timestamp()
    return redirect(landing_url(user))


def _pending_user() -> ConsoleUser | None:
    pending = session.get(PENDING_KEY) or {}
    if not pending or utcnow().timestamp() - float(pending.get("at", 0)) > PENDING_FOR.total_seconds():
        return None
    user = db.session.get(ConsoleUser, pending.get("user"))
    return user if user is not None and user.is_active else None


@bp.get("/passkey")
def second_factor():
    if _pending_user() is None:
        flash("Sign in again.")
        return redirect(url_for("auth.login"))
    return render_template("auth/passkey.html")


@bp.post("/passkey/options")
def second_factor_options():
    user = _pending_user()
    if user is None:
        return jsonify({"error": "expired", "errorDescription": "Sign in again."}), 401
    started = console_passkeys.start_sign_in(user, settings=current_settings(), now=utcnow())
    session["passkey_challenge"] = started.challenge_id
    return jsonify({"options": started.options})


@bp.post("/passkey/verify")
def second_factor_verify():
    user = _pending_user()
    if user is None:
        return jsonify({"error": "expired", "errorDescription": "Sign in again."}), 401
    try:
        console_passkeys.finish_sign_in(
            user, challenge_id=session.pop("passkey_challenge", None), credential=request.get_json(silent=True),
            settings=current_settings(), now=utcnow(),
        )
    except DomainError as exc:
        return jsonify({"error": exc.code, "errorDescription": exc.message}), exc.status
    _sign_in(user)
    return jsonify({"redirect": landing_url(user)})


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        console_users.end_session(current_user)
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))
