"""The console's Test action: what tracking would decide, and why, without tracking anything.

It decides through :func:`app.services.decisions.tracking.decide_with`, the same function a real
track uses, with the same attribute validation. It only reads: no user, action or configuration
is created, and the session is rolled back afterwards so nothing it touched can be flushed later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.config import Settings, current_settings
from app.domain.decision import ActionState, Decision, UnenrolledPolicy, VerificationMethod
from app.domain.documents import parse_document
from app.extensions import db
from app.models import EndUser
from app.models.base import utcnow
from app.services.decisions.signals import SignalInputs, locate
from app.services.decisions.trace_view import DecisionTrace, read_trace
from app.services.decisions.tracking import TrackAttributes, decide_with, request_facts, user_facts
from app.services.end_users.users import enrolled_verification_methods, validate_user_id
from app.services.rulesets.drafts import draft_rule_set
from app.services.rulesets.rules import action_not_found
from app.services.rulesets.versions import draft_of
from app.services.tenancy.tenant_config import current_config


@dataclass(frozen=True)
class Simulation:
    decision: Decision
    state: ActionState
    allowed_verification_methods: list[str]
    default_verification_method: VerificationMethod | None
    user_exists: bool
    enrolled_verification_methods: list[str]
    # Set when a CHALLENGE could not be put to this user (nothing enrolled that the action accepts),
    # so the action's unenrolled policy chose the state instead of the outcome.
    unenrolled_policy: UnenrolledPolicy | None = None
    # What decided: the live version's number, or None for the draft (when it has changes).
    version_number: int | None = None

    @property
    def trace(self) -> DecisionTrace:
        return read_trace(self.decision.output)


def simulate_action(
    tenant_id: str,
    action_code: str,
    user_id: str,
    attributes: dict[str, Any],
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Simulation:
    """``attributes`` are a track call's (camelCase: ipAddress, deviceId, userAgent, custom).

    Risk signals the rules read are computed from the stored history as a track would; ``settings``
    defaults to the running app's (the GeoLite2-City file, the impossible-travel speed)."""
    settings = settings or current_settings()
    now = now or utcnow()
    try:
        validate_user_id(user_id)
        parsed = parse_document(TrackAttributes, attributes)
        config = current_config(tenant_id)
        action = config.action(action_code)
        if action is None:
            raise action_not_found(action_code)
        user = db.session.execute(
            select(EndUser).where(EndUser.tenant_id == tenant_id, EndUser.user_id == user_id)
        ).scalar_one_or_none()
        enrolled = enrolled_verification_methods(user) if user is not None else []
        request = request_facts(action_code, parsed)
        signals = SignalInputs(tenant_id, user, request, user_id, locate(parsed.ip_address, settings=settings),
                               settings, now)
        # The admin tests what they are editing: the draft when it has changes, else the live version.
        draft = draft_of(tenant_id, action_code)
        version = draft_rule_set(draft.document) if draft.diff else None
        decided = decide_with(config, action, user_facts(user_id, user, enrolled), request, signals=signals,
                              version=version)
        result = decided.result
        return Simulation(result.decision, result.state, result.allowed_verification_methods,
                          result.default_verification_method, user is not None, enrolled,
                          decided.version.unenrolled_policy if result.unenrolled_policy_applied else None,
                          decided.version.number)
    finally:
        db.session.rollback()
