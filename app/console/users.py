"""End users: search, inspect, remove an authenticator and erase a user (admins only, after confirming)."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user

from app.console import bp
from app.domain.errors import NotFound
from app.htmx import redirect_to, render
from app.models.base import utcnow
from app.services.console import user_profile
from app.services.end_users import authenticators, trusted_devices, users
from app.services.operations import erasure


@bp.get("/users")
def user_list():
    text = (request.args.get("q") or "").strip()
    page = users.search_users(current_user.tenant_id, text, after_user_id=request.args.get("after") or None)
    return render("console/users/list.html", "console/users/_list.html",
                  results=page, q=text, paged=bool(request.args.get("after")))


@bp.get("/users/<path:user_id>")
def user_show(user_id: str):
    profile = user_profile.get_user_profile(current_user.tenant_id, user_id)
    return render("console/users/show.html", profile=profile, user=profile.user)


@bp.route("/users/<path:user_id>/authenticators/<authenticator_id>/delete", methods=["GET", "POST"])
def user_authenticator_delete(user_id: str, authenticator_id: str):
    """GET asks for confirmation; POST removes, and only with the confirmation box ticked."""
    authenticator = authenticators.find_authenticator(current_user.tenant_id, user_id, authenticator_id)
    if authenticator is None:
        raise NotFound(f"User “{user_id}” has no such authenticator: it may have been removed already.")
    if request.method == "POST" and request.form.get("confirm") == "yes":
        authenticators.remove_authenticator(current_user, user_id, authenticator_id, now=utcnow())
        flash("Authenticator removed.")
        return redirect_to(url_for("console.user_show", user_id=user_id))
    error = "Tick the box to confirm the removal." if request.method == "POST" else None
    return render("console/users/authenticator_delete.html", "console/users/_authenticator_delete.html",
                  status=400 if error else 200, authenticator=authenticator, user_id=user_id, error=error)


@bp.post("/users/<path:user_id>/trusted-devices/<device_id>/revoke")
def user_trusted_device_revoke(user_id: str, device_id: str):
    trusted_devices.revoke_trusted_device(current_user.tenant_id, user_id, device_id, actor=current_user, now=utcnow())
    flash("Trusted device revoked: the next track from it is decided without it.")
    return redirect_to(url_for("console.user_show", user_id=user_id))


@bp.route("/users/<path:user_id>/erase", methods=["GET", "POST"])
def user_erase(user_id: str):
    """GET shows what is held and asks for the user id to be typed; POST erases, only when it was
    typed exactly (as GitHub asks for a repository's name): a slip of the mouse cannot erase anyone."""
    if request.method == "POST" and request.form.get("confirm_user_id") == user_id:
        counts = erasure.erase_user(current_user.tenant_id, user_id, by=current_user, now=utcnow()).counts
        # No user id in the message: it would travel in the session cookie.
        flash(f"User erased: {counts.actions} actions and {counts.review_decisions} review decisions anonymised, "
              f"{counts.deleted} rows deleted (their record, authenticators, review notes, webhook events), "
              f"{counts.audit_events} audit entries redacted.")
        return redirect_to(url_for("console.user_list"))
    held = erasure.held_about(current_user.tenant_id, user_id)
    error = "Type the user id exactly as shown to erase it." if request.method == "POST" else None
    return render("console/users/erase.html", "console/users/_erase.html",
                  status=400 if error else 200, held=held, user_id=user_id, error=error)
