"""Revoking a secret key, of the server API or of the management API: a confirmation page, then the
POST that revokes it. Both kinds answer alike: a key already revoked re-renders the page with the
reason (409), a revoked one flashes its name and hint and returns to the API keys page, where both
lists live."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, url_for
from flask_login import current_user

from app.console import bp
from app.console.forms import ConfirmForm
from app.domain.errors import Conflict
from app.htmx import redirect_to, render
from app.models.base import utcnow
from app.services.tenancy import api_keys, management_keys


@dataclass(frozen=True)
class KeyKind:
    endpoint: str  # the endpoints are <endpoint>_revoke_confirm and <endpoint>_revoke
    path: str  # the collection's path; a key's confirmation page is <path>/<key_id>/revoke
    templates: str  # holds revoke.html and its fragment _revoke.html
    noun: str  # how the flash names a key
    get: Callable[[str, str], Any]  # tenant id, key id → key
    revoke: Callable[..., Any]  # actor, key id, now= → key


def _serve(kind: KeyKind) -> None:
    def page(key_id: str, *, error: str | None = None, status: int = 200):
        return render(f"{kind.templates}/revoke.html", f"{kind.templates}/_revoke.html", status=status,
                      key=kind.get(current_user.tenant_id, key_id), form=ConfirmForm(), error=error)

    def confirm(key_id: str):
        return page(key_id)

    def revoke(key_id: str):
        try:
            key = kind.revoke(current_user, key_id, now=utcnow())
        except Conflict as exc:
            return page(key_id, error=exc.message, status=409)
        flash(f"{kind.noun} “{key.name}” ({key.hint}) is revoked. Requests that use it now get 401.")
        return redirect_to(url_for("console.settings_key_list"))

    bp.add_url_rule(f"{kind.path}/<key_id>/revoke", f"{kind.endpoint}_revoke_confirm", confirm, methods=["GET"])
    bp.add_url_rule(f"{kind.path}/<key_id>/revoke", f"{kind.endpoint}_revoke", revoke, methods=["POST"])


_serve(KeyKind("settings_key", "/settings/api-keys", "console/settings/keys", "Key",
               api_keys.get_api_key, api_keys.revoke_api_key))
_serve(KeyKind("settings_key_management", "/settings/management-keys", "console/settings/management_keys",
               "Management key", management_keys.get_management_key, management_keys.revoke_management_key))
