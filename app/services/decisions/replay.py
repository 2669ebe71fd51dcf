"""Replaying a stored action: its decision again from the version and the input snapshot it stored,
and what the live version (and the draft, when there is one) would decide for the same inputs.

Nothing is recomputed but the decision itself: the signals, the list items (by version) and the
data point types are those the track saw, so a replay by the action's own version reproduces it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, tuple_

from app.domain.errors import InvalidRequest, NotFound
from app.domain.track_decision import InputSnapshot, RuleSetVersion, TrackDecision, decide_track, list_refs
from app.extensions import db
from app.models import ActionConfiguration, ActionStateChange, ActionVersion, CustomListVersion, UserAction
from app.services.rulesets.drafts import draft_rule_set
from app.services.rulesets.versions import draft_for
from app.services.tenancy.tenant_config import ActionPolicy, current_config


@dataclass(frozen=True)
class DecisionRecord:
    """One decision as compared: which version, and what of it is stored on an action."""

    version_number: int | None  # None: the draft
    state: str
    matched_rule_ids: list[str]
    deciding_rule_id: str | None
    output: dict[str, Any]

    @classmethod
    def of(cls, number: int | None, result: TrackDecision) -> DecisionRecord:
        decision = result.decision
        return cls(number, result.state.value, list(decision.matched_rule_ids),
                   decision.deciding_rule.rule_id if decision.deciding_rule else None,
                   json.loads(json.dumps(decision.output)))  # as stored: through JSON


@dataclass(frozen=True)
class Replay:
    action_id: int
    stored: DecisionRecord
    reproduced: DecisionRecord  # by the action's own version
    live: DecisionRecord
    draft: DecisionRecord | None  # only when the draft differs from live

    @property
    def reproduces(self) -> bool:
        return self.reproduced == self.stored


def replay_action(tenant_id: str, action_id: int) -> Replay:
    action = db.session.execute(
        select(UserAction).where(UserAction.tenant_id == tenant_id, UserAction.id == action_id)
    ).scalar_one_or_none()
    if action is None:
        raise NotFound(f"No action {action_id} exists.", code="action_not_found")
    if action.action_version_id is None or action.input_snapshot is None:
        raise InvalidRequest("This action cannot be replayed: it was tracked before rule-set versions, or its "
                             "user was erased. Its stored trace is all there is.", code="not_replayable")
    version = db.session.get(ActionVersion, action.action_version_id)
    snapshot = InputSnapshot.from_document(action.input_snapshot, _list_items(action.input_snapshot))
    config = current_config(tenant_id)
    reproduced = DecisionRecord.of(version.number, decide_track(_compiled(config, version), snapshot))
    live = draft = None
    configuration = db.session.get(ActionConfiguration, action.action_configuration_id) \
        if action.action_configuration_id else None
    if configuration is not None:
        pending = draft_for(configuration)
        live = DecisionRecord.of(pending.live.number, decide_track(_compiled(config, pending.live), snapshot))
        if pending.diff:
            draft = DecisionRecord.of(None, decide_track(draft_rule_set(pending.document), snapshot))
    return Replay(action.id, _stored(action, version.number), reproduced, live or reproduced, draft)


def _compiled(config, version: ActionVersion) -> RuleSetVersion:
    return config.rule_set(ActionPolicy(version.action_configuration_id, version.tenant_id, version.action_code,
                                        version.id, version.number, version.document))


def _stored(action: UserAction, number: int) -> DecisionRecord:
    first_state = db.session.execute(
        select(ActionStateChange.to_state).where(ActionStateChange.user_action_id == action.id)
        .order_by(ActionStateChange.id).limit(1)
    ).scalar_one()
    return DecisionRecord(number, first_state.value, list(action.rule_ids), action.priority_rule_id, action.output)


def _list_items(document: dict[str, Any]) -> dict[tuple[str, int], list[Any]]:
    refs = list_refs(document)
    if not refs:
        return {}
    rows = db.session.execute(
        select(CustomListVersion.list_id, CustomListVersion.version, CustomListVersion.items)
        .where(tuple_(CustomListVersion.list_id, CustomListVersion.version).in_(sorted(refs)))
    )
    return {(row.list_id, row.version): row.items for row in rows}
