"""Track, read, update and query actions; validate challenge tokens."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, jsonify, request

from app.api import bp
from app.api.responses import parse_body
from app.api.schemas import UpdateActionRequest, ValidateRequest
from app.api.serializers import action_response, action_summary, track_response, validation_response
from app.config import current_settings
from app.domain.decision import ActionState
from app.domain.errors import InvalidRequest
from app.models.base import utcnow
from app.services.challenges import sessions as challenges
from app.services.decisions import action_state, replay, tracking
from app.services.reviews import decisions as review_decisions


@bp.post("/users/<user_id>/actions/<action_code>")
def action_track(user_id: str, action_code: str):
    attributes = parse_body(tracking.TrackAttributes)
    # The tenant's redirect allow-list and client token lifetime win over the environment's.
    config = g.caller.config
    result = tracking.track_action(g.caller.tenant_id, user_id, action_code, attributes,
                                   settings=config.settings(current_settings()), now=utcnow(), config=config)
    return jsonify(track_response(result))


@bp.get("/users/<user_id>/actions/<action_code>/<idempotency_key>")
def action_get(user_id: str, action_code: str, idempotency_key: str):
    action = action_state.get_action(g.caller.tenant_id, user_id, action_code, idempotency_key)
    return jsonify(action_response(action, replay.explanation(action, config=g.caller.config)))


@bp.patch("/users/<user_id>/actions/<action_code>/<idempotency_key>")
def action_update(user_id: str, action_code: str, idempotency_key: str):
    body = parse_body(UpdateActionRequest)
    action = review_decisions.update_action_state(
        g.caller.tenant_id, user_id, action_code, idempotency_key, body.state, now=utcnow()
    )
    return jsonify(action_response(action, replay.explanation(action, config=g.caller.config)))


@bp.get("/users/<user_id>/actions")
def action_list(user_id: str):
    state = request.args.get("state") or None
    if state is not None and state not in ActionState.__members__:
        raise InvalidRequest(f"state must be one of {', '.join(ActionState)}.")
    codes = [c for c in (request.args.get("codes") or "").split(",") if c]
    actions = action_state.query_user_actions(
        g.caller.tenant_id,
        user_id,
        from_date=_parse_date(request.args.get("fromDate")),
        codes=codes or None,
        state=ActionState(state) if state else None,
        now=utcnow(),
    )
    return jsonify([action_summary(a) for a in actions])


@bp.post("/validate")
def challenge_validate():
    body = parse_body(ValidateRequest)
    validation = challenges.validate_challenge(
        g.caller.tenant_id,
        body.token,
        user_id=body.user_id,
        action_code=body.action,
        settings=current_settings(),
        now=utcnow(),
    )
    return jsonify(validation_response(validation))


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidRequest("fromDate must be an ISO-8601 date or date-time.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
