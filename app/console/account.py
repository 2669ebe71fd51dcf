"""The signed-in console user's own account: their password, and passkeys as a second factor."""

from __future__ import annotations

from flask import flash, jsonify, request, session, url_for
from flask_login import current_user, login_user

from app.config import MIN_PASSWORD_LENGTH, current_settings
from app.console import bp
from app.console.account_forms import ChangePasswordForm
from app.domain.errors import DomainError
from app.htmx import redirect_to, render
from app.models.base import utcnow
from app.services.console import console_passkeys, console_users


@bp.get("/account")
def account_show():
    return render("console/account/show.html", user=current_user)


@bp.route("/account/password", methods=["GET", "POST"])
def account_password():
    form = ChangePasswordForm()
    required = current_user.must_change_password
    if form.validate_on_submit():
        try:
            console_users.change_password(current_user, current=form.current_password.data,
                                          new=form.new_password.data, settings=current_settings(), now=utcnow())
        except console_users.InvalidPasswordChange as exc:
            for name, message in exc.fields.items():
                form[name].errors.append(message)
        else:
            user = current_user._get_current_object()
            login_user(user)  # the change ended every session, this one included: start it again
            session["seen"] = utcnow().timestamp()
            if required:  # an invitation's first sign-in: now they can start where their role starts
                flash("Your password is set. Welcome to Tollgate.")
                return redirect_to(url_for("console.home"))
            flash("Your password is changed. Other sessions of yours have ended.")
            return redirect_to(url_for("console.account_show"))
    return render("console/account/password.html", "console/account/_password.html",
                  status=400 if form.errors else 200, form=form, required=required,
                  min_length=MIN_PASSWORD_LENGTH)


@bp.post("/account/passkeys/options")
def account_passkey_options():
    started = console_passkeys.start_registration(current_user, settings=current_settings(), now=utcnow())
    return jsonify({"challengeId": started.challenge_id, "options": started.options})


@bp.post("/account/passkeys")
def account_passkey_add():
    try:
        body = request.get_json(silent=True)  # a refused body (InvalidJson) answers as JSON too
        body = body if isinstance(body, dict) else {}
        console_passkeys.finish_registration(
            current_user, challenge_id=body.get("challengeId"), credential=body.get("credential"),
            name=str(body.get("name") or ""), settings=current_settings(), now=utcnow(),
        )
    except DomainError as exc:
        return jsonify({"error": exc.code, "errorDescription": exc.message}), exc.status
    flash("Passkey added. You will need it every time you sign in.")
    return jsonify({"redirect": url_for("console.account_show")})


@bp.post("/account/passkeys/<passkey_id>/delete")
def account_passkey_remove(passkey_id: str):
    console_passkeys.remove_passkey(current_user, passkey_id, now=utcnow())
    flash("Passkey removed.")
    return redirect_to(url_for("console.account_show"))
