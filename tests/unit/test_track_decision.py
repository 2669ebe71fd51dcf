"""The one decision function: a rule-set version and an input snapshot in, the whole decision out."""

from __future__ import annotations

import copy
import json

from app.domain.context import RequestFacts, UserFacts
from app.domain.decision import ActionState, Outcome, RuleInput, UnenrolledPolicy, VerificationMethod
from app.domain.rules import compile_conditions
from app.domain.track_decision import InputSnapshot, ListVersion, RuleSetVersion, decide_track, decide_tracks

PASSKEY, TOTP = VerificationMethod.PASSKEY, VerificationMethod.AUTHENTICATOR_APP


def rule(rule_id: str, priority: int, outcome: Outcome, conditions, **extra) -> RuleInput:
    return RuleInput(rule_id=rule_id, name=f"Rule {rule_id}", priority=priority, outcome=outcome,
                     conditions=compile_conditions(conditions), **extra)


def version(*rules: RuleInput, policy=UnenrolledPolicy.ALLOW, default=Outcome.ALLOW) -> RuleSetVersion:
    return RuleSetVersion(default_outcome=default, verification_methods=(PASSKEY.value, TOTP.value),
                          default_verification_method=None, unenrolled_policy=policy, rules=rules)


def snapshot(*, custom=None, enrolled=(), lists=None, types=None, signals=None) -> InputSnapshot:
    return InputSnapshot(
        user=UserFacts(user_id="ann", enrolled_verification_methods=tuple(enrolled)),
        request=RequestFacts(action_code="withdraw", ip_address="203.0.113.9", custom=custom or {}),
        signals=signals, data_point_types=types or {},
        lists={name: ListVersion(f"list-{name}", 1, items) for name, items in (lists or {}).items()},
    )


HIGH_RISK = rule("r1", 0, Outcome.REVIEW, {"in": [{"var": "custom.country"}, {"var": "lists.high-risk"}]})
BIG = rule("r2", 1, Outcome.CHALLENGE, {">": [{"var": "custom.amount"}, 1000]},
           verification_methods=(TOTP,), default_verification_method=TOTP)


def test_the_same_inputs_always_give_the_same_decision_and_trace():
    v = version(HIGH_RISK, BIG)
    s = snapshot(custom={"country": "KP", "amount": 5000}, lists={"high-risk": ["KP", "IR"]})
    before = copy.deepcopy(s)

    first, second = decide_track(v, s), decide_track(v, s)

    assert json.dumps(first.decision.output, sort_keys=True) == json.dumps(second.decision.output, sort_keys=True)
    assert (first.decision.outcome, first.state) == (Outcome.REVIEW, ActionState.REVIEW_REQUIRED)
    assert s == before  # the snapshot is an input, never edited


def test_the_trace_names_the_list_and_reports_a_list_that_is_gone():
    decided = decide_track(version(HIGH_RISK), snapshot(custom={"country": "KP"}))

    condition = decided.decision.output["rules"][0]["conditions"][0]
    assert condition["expected"] == {"var": "lists.high-risk"} and condition["result"] is False
    assert decided.decision.output["missingLists"] == ["high-risk"]


def test_a_value_of_the_wrong_type_is_reported_and_matches_nothing():
    decided = decide_track(version(BIG), snapshot(custom={"amount": "5000"}, types={("action", "amount"): "number"}))

    assert decided.decision.outcome is Outcome.ALLOW
    assert decided.decision.output["dataPointErrors"] == [
        {"field": "custom.amount", "expectedType": "number", "receivedType": "text", "value": "5000"}]


def test_a_challenge_uses_the_deciding_rules_methods():
    decided = decide_track(version(BIG), snapshot(custom={"amount": 5000}, enrolled=[TOTP.value]))

    assert decided.state is ActionState.CHALLENGE_REQUIRED and not decided.unenrolled_policy_applied
    assert (decided.allowed_verification_methods, decided.default_verification_method) == ([TOTP.value], TOTP)


def test_a_challenge_for_someone_with_nothing_usable_follows_the_unenrolled_policy():
    decided = decide_track(version(BIG, policy=UnenrolledPolicy.BLOCK),
                           snapshot(custom={"amount": 5000}, enrolled=[PASSKEY.value]))

    assert (decided.decision.outcome, decided.state) == (Outcome.CHALLENGE, ActionState.BLOCK)
    assert decided.unenrolled_policy_applied


def test_signals_come_from_the_snapshot():
    anonymous = rule("r3", 0, Outcome.BLOCK, {"==": [{"var": "ip.isAnonymous"}, True]})

    assert decide_track(version(anonymous), snapshot(signals={"ip": {"isAnonymous": True}})).state is ActionState.BLOCK
    assert decide_track(version(anonymous), snapshot()).state is ActionState.ALLOW


def test_a_version_knows_what_its_rules_read():
    v = version(HIGH_RISK, BIG)

    assert v.list_names == ("high-risk",) and v.reads_custom_data
    assert v.data_points_read == (("action", "amount"), ("action", "country"))
    assert not version().reads_custom_data and version().list_names == ()


def test_deciding_several_versions_at_once_gives_what_each_decides_alone():
    # A draft that keeps one rule, changes another and reads a typed data point the live one does not:
    # the shared condition is evaluated once, the versions that prepare their context differently
    # still see their own.
    lower = rule("r2", 1, Outcome.CHALLENGE, {">": [{"var": "custom.amount"}, 100]})
    typed = rule("r3", 2, Outcome.BLOCK, {"==": [{"var": "user.custom.vip"}, True]})
    versions = (version(HIGH_RISK, BIG), version(HIGH_RISK, lower), version(HIGH_RISK, typed), version())
    snapshots = [snapshot(custom={"country": country, "amount": amount}, lists={"high-risk": ["KP"]},
                          types={("action", "amount"): "number"}, enrolled=enrolled)
                 for country in ("KP", "NZ") for amount in (50, 500, 5000, "many") for enrolled in ((), ("PASSKEY",))]

    for s in snapshots:
        for explain in (True, False):
            together = decide_tracks(versions, s, explain=explain)
            alone = [decide_track(v, s, explain=explain) for v in versions]
            assert together == alone


def test_the_stored_snapshot_leaves_out_empty_facts_and_the_rows_own_and_reads_back_the_same():
    request = RequestFacts(action_code="withdraw", ip_address="203.0.113.9", custom={"amount": 0, "vip": False})
    s = InputSnapshot(
        user=UserFacts(user_id="ann", email=None, custom={"tier": 0}, enrolled_verification_methods=()),
        request=request,
        lists={"high-risk": ListVersion("list-1", 3, ["KP"])},
    )

    document = s.to_document()

    # The user id and the request are the action row's columns: stored there once.
    assert document == {"user": {"custom": {"tier": 0}},  # 0 and False are facts
                        "lists": {"high-risk": {"listId": "list-1", "version": 3}}}
    read = InputSnapshot.from_document(json.loads(json.dumps(document)), {("list-1", 3): ["KP"]},
                                       user_id="ann", request=request)
    assert read == s


def test_a_snapshot_stored_before_it_was_compact_still_reads_back_its_own_facts():
    older = {"user": {"userId": "ann", "email": None, "phoneNumber": None, "username": None, "custom": {},
                      "enrolledVerificationMethods": []},
             "request": {"actionCode": "withdraw", "ipAddress": None, "deviceId": None, "userAgent": None,
                         "custom": {}},
             "signals": None, "lists": {}, "dataPointTypes": []}

    read = InputSnapshot.from_document(older, {}, user_id="ann", request=RequestFacts(action_code="other"))

    assert read == InputSnapshot(user=UserFacts(user_id="ann"), request=RequestFacts(action_code="withdraw"))
    assert read.to_document() == {}
