"""Deciding a tracked action: one pure function of a rule-set version and an input snapshot.

:func:`decide_track` is the whole decision. Given the same :class:`RuleSetVersion` (what an admin
configured) and :class:`InputSnapshot` (every fact as it was at track time), it returns the same
:class:`TrackDecision`, trace included, on any machine and at any later time. Services only load
those two values, call it once, and store what it returns: nothing edits the context before it or
the output after it, which is what makes a stored decision replayable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from app.domain.catalogue import LIST_NAME
from app.domain.context import RequestFacts, UserFacts, build_context
from app.domain.custom_data import CustomDataReport, check_custom_values, names_read, points_read
from app.domain.decision import (
    ActionState,
    Decision,
    Outcome,
    RuleInput,
    UnenrolledPolicy,
    VerificationMethod,
    decide,
    initial_state,
)
from app.domain.rules import LISTS_PREFIX


@dataclass(frozen=True)
class RuleSetVersion:
    """What decides one action: its active rules in priority order and the action's own policy."""

    default_outcome: Outcome
    verification_methods: tuple[str, ...]
    default_verification_method: VerificationMethod | None
    unenrolled_policy: UnenrolledPolicy
    rules: tuple[RuleInput, ...] = ()
    # Which published version this is (None: a draft, or the defaults of an action not stored yet).
    version_id: str | None = None
    number: int | None = None

    @cached_property
    def fields_read(self) -> frozenset[str]:
        """Every context path the rules read (``custom.amount``, ``lists.high-risk``, ``ip.isAnonymous``)."""
        return frozenset().union(*(rule.conditions.fields for rule in self.rules))

    @cached_property
    def reads_custom_data(self) -> bool:
        """Whether declared data point types can matter: a rule reads ``custom.*`` or ``user.custom.*``."""
        return any(path.startswith(("custom.", "user.custom.")) for path in self.fields_read)

    @cached_property
    def data_points_read(self) -> tuple[tuple[str, str], ...]:
        """(model type, name) of every custom value the rules read: the data point types that matter."""
        return points_read(self.fields_read)

    @cached_property
    def list_names(self) -> tuple[str, ...]:
        """The tenant's custom lists the rules read, by name: the snapshot must carry their items."""
        return tuple(sorted(name for name in names_read(self.fields_read, LISTS_PREFIX) if LIST_NAME.fullmatch(name)))


@dataclass(frozen=True)
class ListVersion:
    """A custom list's items as of one of its versions (stored for ever: a replay reads the same)."""

    list_id: str
    version: int
    items: list[Any]


@dataclass(frozen=True)
class InputSnapshot:
    """Every input of a decision as it was at track time.

    ``signals``: the risk-signal namespaces computed for the rules that read them (``None`` when they
    read none); ``lists``: each list the rules read that exists, as of the version read;
    ``data_point_types``: (model type, name) → declared type of the tenant's custom data points."""

    user: UserFacts
    request: RequestFacts
    signals: Mapping[str, Any] | None = None
    lists: Mapping[str, ListVersion] = field(default_factory=dict)
    data_point_types: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def to_document(self) -> dict[str, Any]:
        """The snapshot as JSON, stored with every tracked action. Lists by reference (id and version):
        their items are kept once per version, not once per track. Compact, because it is written per
        track: a fact that is empty (no email, no custom data, no signal computed) is left out, and
        so is what the action's row keeps in its own columns (the user id, and the request: action
        code, address, device, agent, custom data); :meth:`from_document` reads both back."""
        user = self.user
        document = {
            "user": _present({"email": user.email, "phoneNumber": user.phone_number, "username": user.username,
                              "custom": dict(user.custom),
                              "enrolledVerificationMethods": list(user.enrolled_verification_methods)}),
            "signals": self.signals,
            "lists": {name: {"listId": found.list_id, "version": found.version} for name, found in self.lists.items()},
            "dataPointTypes": [[model, name, data_type] for (model, name), data_type in self.data_point_types.items()],
        }
        return _present(document)

    @classmethod
    def from_document(cls, document: Mapping[str, Any], lists: Mapping[tuple[str, int], list[Any]], *,
                      user_id: str, request: RequestFacts) -> InputSnapshot:
        """Back from :meth:`to_document`; ``user_id`` and ``request``: what the action's row holds.
        Older rows kept both in the document too (and every key, empty or not): theirs are read."""
        user, stored_request = document.get("user", {}), document.get("request")
        if stored_request is not None:
            request = RequestFacts(stored_request["actionCode"], stored_request.get("ipAddress"),
                                   stored_request.get("deviceId"), stored_request.get("userAgent"),
                                   stored_request.get("custom", {}))
        return cls(
            user=UserFacts(user.get("userId", user_id), user.get("email"), user.get("phoneNumber"),
                           user.get("username"), user.get("custom", {}),
                           tuple(user.get("enrolledVerificationMethods", ()))),
            request=request,
            signals=document.get("signals"),
            lists={name: ListVersion(ref["listId"], ref["version"], lists[(ref["listId"], ref["version"])])
                   for name, ref in document.get("lists", {}).items()},
            data_point_types={(model, name): data_type for model, name, data_type in document.get("dataPointTypes", ())},
        )


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the empty ones (``None``, ``{}``, ``[]``); ``False`` and ``0`` are facts."""
    return {key: value for key, value in values.items() if value is not None and value != {} and value != []}


def list_refs(document: Mapping[str, Any]) -> set[tuple[str, int]]:
    """The (list id, version) pairs a stored snapshot reads."""
    return {(ref["listId"], ref["version"]) for ref in document.get("lists", {}).values()}


@dataclass(frozen=True)
class TrackDecision:
    decision: Decision  # outcome, deciding and matched rules, and the output (the explanation stored)
    state: ActionState
    allowed_verification_methods: list[str]
    default_verification_method: VerificationMethod | None
    # A CHALLENGE put to a user with nothing the action accepts: the unenrolled policy chose the state.
    unenrolled_policy_applied: bool


def decide_track(version: RuleSetVersion, snapshot: InputSnapshot, *, explain: bool = True) -> TrackDecision:
    """``explain=False``: the same decision with an empty output (see :func:`decide`)."""
    return decide_tracks((version,), snapshot, explain=explain)[0]


def decide_tracks(versions: Sequence[RuleSetVersion], snapshot: InputSnapshot, *,
                  explain: bool = True) -> list[TrackDecision]:
    """``[decide_track(version, snapshot) for version in versions]``, for less: what a back-test
    asks of two versions a million times. Versions that read the same lists and data points see
    the same context, so it is built once for them, and a condition both have is evaluated once."""
    decided: list[TrackDecision] = []
    contexts: dict[tuple[Any, ...], tuple[dict[str, Any], CustomDataReport, dict[str, Any]]] = {}
    enrolled = set(snapshot.user.enrolled_verification_methods)
    for version in versions:
        prepared = (version.list_names, version.data_points_read) if version.rules else ()
        if prepared not in contexts:
            context = build_context(snapshot.user, snapshot.request, snapshot.signals)
            report = _with_custom_data(context, version, snapshot) if version.rules else CustomDataReport()
            contexts[prepared] = (context, report, {})
        context, report, evaluated = contexts[prepared]
        decision = decide(version.rules, context, default_outcome=version.default_outcome, explain=explain,
                          evaluated=evaluated)
        if explain:
            report.write_into(decision.output)
        allowed, default_method = _verification_methods(version, decision.deciding_rule)
        can_challenge = not enrolled.isdisjoint(allowed)
        state = initial_state(decision.outcome, can_challenge=can_challenge,
                              unenrolled_policy=version.unenrolled_policy)
        decided.append(TrackDecision(decision, state, allowed, default_method,
                                     unenrolled_policy_applied=decision.outcome is Outcome.CHALLENGE and not can_challenge))
    return decided


def _with_custom_data(context: dict[str, Any], version: RuleSetVersion, snapshot: InputSnapshot) -> CustomDataReport:
    """The lists the rules read join the context; custom values of the wrong type leave it."""
    missing = [name for name in version.list_names if name not in snapshot.lists]
    if version.list_names:
        context["lists"] = {name: snapshot.lists[name].items for name in version.list_names if name in snapshot.lists}
    errors = check_custom_values(context, version.data_points_read, snapshot.data_point_types)
    return CustomDataReport(errors=errors, missing_lists=missing)


def _verification_methods(version: RuleSetVersion, rule: RuleInput | None) -> tuple[list[str], VerificationMethod | None]:
    """The deciding rule's methods when it names any, else the action's; a default must be among them."""
    if rule is not None and rule.verification_methods:
        allowed = [m.value for m in rule.verification_methods]
    else:
        allowed = list(version.verification_methods)
    default = (rule.default_verification_method if rule else None) or version.default_verification_method
    if default is not None and default.value not in allowed:
        default = None
    return allowed, default
