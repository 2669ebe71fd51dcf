"""Users and their authenticators."""

from __future__ import annotations

from flask import g, jsonify, request

from app.api import bp
from app.api.responses import parse_body
from app.api.schemas import UpdateUserRequest
from app.api.serializers import authenticator_response, user_response, user_summary
from app.config import current_settings
from app.domain.errors import InvalidRequest
from app.models.base import utcnow
from app.services.end_users import authenticators, users
from app.services.operations import erasure


@bp.get("/users/<user_id>")
def user_get(user_id: str):
    return jsonify(user_response(user_id, users.find_user(g.caller.tenant_id, user_id)))


@bp.patch("/users/<user_id>")
def user_update(user_id: str):
    body = parse_body(UpdateUserRequest)
    user = users.update_user(g.caller.tenant_id, user_id, body.model_dump(exclude_unset=True), now=utcnow())
    return jsonify(user_response(user_id, user))


@bp.delete("/users/<user_id>")
def user_delete(user_id: str):
    users.delete_user(g.caller.tenant_id, user_id)
    return jsonify({"success": True})


@bp.post("/users/<user_id>/erase")
def user_erase(user_id: str):
    """Tollgate's own, beside the contract's DELETE (which keeps the user's actions as history):
    everything held about the user, deleted or anonymised (services.operations.erasure)."""
    erased = erasure.erase_user(g.caller.tenant_id, user_id, by="api", now=utcnow())
    return jsonify({"success": True, "erased": erased.counts.as_dict()})


@bp.get("/users")
def user_list():
    try:
        limit = int(request.args.get("limit") or users.MAX_QUERY_LIMIT)
    except ValueError as exc:
        raise InvalidRequest("limit must be a whole number.") from exc
    if not 1 <= limit <= users.MAX_QUERY_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {users.MAX_QUERY_LIMIT}.")
    page = users.query_users(
        g.caller.tenant_id,
        email=request.args.get("email"),
        phone_number=request.args.get("phoneNumber"),
        username=request.args.get("username"),
        limit=limit,
        after_user_id=request.args.get("lastEvaluatedUserId"),
    )
    body: dict = {"users": [user_summary(u) for u in page.users]}
    if page.last_evaluated_user_id:
        body["lastEvaluatedUserId"] = page.last_evaluated_user_id
    return jsonify(body)


@bp.get("/users/<user_id>/authenticators")
def authenticator_list(user_id: str):
    found = authenticators.list_authenticators(g.caller.tenant_id, user_id)
    return jsonify([authenticator_response(a, user_id) for a in found])


@bp.post("/users/<user_id>/authenticators")
def authenticator_enroll(user_id: str):
    authenticator = authenticators.enroll_verified_authenticator(
        g.caller.tenant_id,
        user_id,
        parse_body(authenticators.EnrollRequest),
        settings=current_settings(),
        now=utcnow(),
    )
    return jsonify({"authenticator": authenticator_response(authenticator, user_id)})


@bp.delete("/users/<user_id>/authenticators/<authenticator_id>")
def authenticator_delete(user_id: str, authenticator_id: str):
    authenticators.delete_authenticator(g.caller.tenant_id, user_id, authenticator_id)
    return jsonify({"success": True})
