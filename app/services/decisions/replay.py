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

from app.domain.context import RequestFacts
from app.domain.errors import InvalidRequest, NotFound
from app.domain.track_decision import InputSnapshot, RuleSetVersion, TrackDecision, decide_track, list_refs
from app.extensions import db
from app.models import ActionConfiguration, ActionVersion, CustomListVersion, UserAction
from app.services.decisions.trace_view import (
    NO_DIFFERENCES,
    DecisionTrace,
    TraceDifferences,
    read_trace,
    trace_differences,
)
from app.services.rulesets.drafts import draft_rule_set
from app.services.rulesets.versions import draft_for
from app.services.tenancy.tenant_config import ActionPolicy, TenantConfig, current_config


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
class ReplayColumn:
    """One decision of a replay as the console shows it, beside the stored one."""

    kind: str  # stored, reproduced (only when it is not the stored one), live, draft
    record: DecisionRecord
    trace: DecisionTrace
    state_differs: bool  # from the stored state
    differences: TraceDifferences  # from the stored trace

    @property
    def differs(self) -> bool:
        return self.state_differs or bool(self.differences)


@dataclass(frozen=True)
class Replay:
    action_id: int
    stored: DecisionRecord
    reproduced: DecisionRecord  # by the action's own version
    live: DecisionRecord | None  # None: the action was deleted since
    draft: DecisionRecord | None  # only when the draft differs from live

    @property
    def reproduces(self) -> bool:
        return self.reproduced == self.stored

    def columns(self) -> list[ReplayColumn]:
        """Stored, then (when it differs) the replay by its own version, the live version and the draft."""
        stored = read_trace(self.stored.output)
        columns = [ReplayColumn("stored", self.stored, stored, False, NO_DIFFERENCES)]
        for kind, record in (("reproduced", None if self.reproduces else self.reproduced),
                             ("live", self.live), ("draft", self.draft)):
            if record is not None:
                trace = read_trace(record.output)
                columns.append(ReplayColumn(kind, record, trace, record.state != self.stored.state,
                                            trace_differences(stored, trace)))
        return columns


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
    snapshot = stored_snapshot(action, list_items(list_refs(action.input_snapshot)))
    config = current_config(tenant_id)
    reproduced = DecisionRecord.of(version.number, decide_track(compiled_version(config, version), snapshot))
    live = draft = None
    configuration = db.session.get(ActionConfiguration, action.action_configuration_id) \
        if action.action_configuration_id else None
    if configuration is not None:
        pending = draft_for(configuration)
        live = DecisionRecord.of(pending.live.number, decide_track(compiled_version(config, pending.live), snapshot))
        if pending.diff:
            draft = DecisionRecord.of(None, decide_track(draft_rule_set(pending.document), snapshot))
    return Replay(action.id, _stored(action, version.number, reproduced.output), reproduced, live, draft)


def compiled_version(config: TenantConfig, version: ActionVersion) -> RuleSetVersion:
    """A published version, compiled once per process (it never changes)."""
    return config.rule_set(ActionPolicy(version.action_configuration_id, version.tenant_id, version.action_code,
                                        version.id, version.number, version.document))


def _stored(action: UserAction, number: int, rebuilt: dict[str, Any]) -> DecisionRecord:
    """What the action stores of its decision; ``rebuilt``: its output by its own version, which is
    the output it has when it stores none (see :func:`explanation`)."""
    return DecisionRecord(number, action.initial_state.value, list(action.rule_ids), action.priority_rule_id,
                          action.output or rebuilt)


def explanation(action: Any, *, config: TenantConfig | None = None) -> dict[str, Any]:
    """The action's decision rule by rule (get-action's ``output``, the console's trace).

    A track stores no trace (it is most of a track's bytes and of its rule-evaluation time): its
    version rebuilds it from the input snapshot it stores, exactly, as a replay does. Actions
    tracked before versions, and erased ones (their snapshot is gone), keep the output stored with
    them. ``action``: the row, or a row of its columns (output, version, snapshot and what
    :func:`stored_snapshot` reads). ``config``: its tenant's, when the caller holds it already
    (the server API's key check read it)."""
    if action.output or action.action_version_id is None or action.input_snapshot is None:
        return action.output or {}
    version = (config or current_config(action.tenant_id)).version(action.action_version_id)
    if version is None:
        return {}
    decided = decide_track(version, stored_snapshot(action, list_items(list_refs(action.input_snapshot))))
    return json.loads(json.dumps(decided.decision.output))  # as a stored one reads: through JSON


def stored_snapshot(action: Any, lists: dict[tuple[str, int], list[Any]]) -> InputSnapshot:
    """The inputs that decided ``action`` (a row with its snapshot and request columns): the
    snapshot keeps only what the row's own columns do not."""
    request = RequestFacts(action.action_code, action.ip_address, action.device_id, action.user_agent,
                           (action.attributes or {}).get("custom") or {})
    return InputSnapshot.from_document(action.input_snapshot, lists, user_id=action.user_id, request=request)


# What stored_snapshot reads of a row, for queries that select columns rather than the row.
SNAPSHOT_COLUMNS = (UserAction.user_id, UserAction.action_code, UserAction.ip_address, UserAction.device_id,
                    UserAction.user_agent, UserAction.attributes, UserAction.input_snapshot)


def list_items(refs: set[tuple[str, int]]) -> dict[tuple[str, int], list[Any]]:
    """The items of each (list id, version) a snapshot reads."""
    if not refs:
        return {}
    rows = db.session.execute(
        select(CustomListVersion.list_id, CustomListVersion.version, CustomListVersion.items)
        .where(tuple_(CustomListVersion.list_id, CustomListVersion.version).in_(sorted(refs)))
    )
    return {(row.list_id, row.version): row.items for row in rows}
