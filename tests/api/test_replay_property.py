"""The replay property: every stored decision is a pure function of its version and its input
snapshot. Over 1,000 generated tracks, across generated rule sets of many shapes (lists, typed
custom data, every signal family, ``missing``, ``if``, defaults, between, negation) that are
replaced and published again between rounds while lists change under them, replaying each stored
action by its own version gives the stored state and matched rules, and the trace get-action
showed right after the track (tracks store none: it is rebuilt on read) exactly (equal JSON); a
back-test's self-check reproduces every one of them."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from sqlalchemy import select

from app.domain.backtest import parse_window
from app.domain.decision import Outcome, UnenrolledPolicy
from app.extensions import db
from app.models import ActionConfiguration, Rule, UserAction
from app.models.base import utcnow
from app.services.decisions import backtest_runner, backtests
from app.services.decisions.replay import replay_action
from app.services.rulesets.rules import RuleDocument, create_rule, delete_rule
from app.services.rulesets.versions import publish
from tests.api.test_track_custom_data import make_data_point, make_list, set_items
from tests.factories import enroll_authenticator_app, make_action

ROUNDS = 5
TRACKS_PER_ROUND = 210  # 1,050 in all
# Each action decides its own way when no rule matches, and when a challenge meets an unenrolled user.
ACTIONS = {
    "withdraw": (Outcome.ALLOW, UnenrolledPolicy.ALLOW),
    "sign-in": (Outcome.CHALLENGE, UnenrolledPolicy.REQUIRE_ENROLLMENT),
    "payout": (Outcome.REVIEW, UnenrolledPolicy.BLOCK),
    "change-email": (Outcome.BLOCK, UnenrolledPolicy.ALLOW),
}
COUNTRIES = ["NZ", "KP", "IR", "FR", "US", "GB"]
ADDRESSES = ["203.0.113.9", "81.2.69.160", "10.0.0.7", "2001:db8::1", "8.8.8.8", "1.1.1.1"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
          "curl/8.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"]
NUMBERS = [  # one of each signal family, and typed custom data
    "custom.amount", "device.count", "device.lastSeenDaysAgo", "user.accountAgeDays", "user.failedChallengesLastHour",
    "user.lastVerifiedMinutesAgo", "velocity.user.actionCount.10m", "velocity.ip.distinctUsers.1h",
    "velocity.device.actionCodeCount.1d", "velocity.user.failedChallenges.1d",
]
BOOLEANS = ["device.isNew", "device.isBot", "device.isMobile", "ip.isUnrecognized", "ip.isAnonymous",
            "user.isEnrolled", "user.hasPreviouslyVerified", "user.custom.vip"]
TEXTS = {"custom.country": COUNTRIES, "ip.countryCode": ["US", "GB", "AU"], "device.browser": ["Firefox", "Safari"],
         "device.os": ["Linux", "iOS"], "action.code": list(ACTIONS)}
LIST_READS = [("custom.country", "high-risk"), ("ip.countryCode", "high-risk"), ("custom.bin", "bad-bins"),
              ("custom.country", "no-such-list")]


def var(path: str, default: Any = None) -> dict:
    return {"var": [path, default]} if default is not None else {"var": path}


def atom(rng: random.Random) -> Any:
    kind = rng.choice(["number", "number", "between", "boolean", "text", "list", "not-list", "missing",
                       "missing_some", "substring", "default", "constant"])
    if kind == "number":
        return {rng.choice([">", ">=", "<", "<=", "==", "!="]): [var(rng.choice(NUMBERS)), rng.choice([0, 1, 2, 3, 1000])]}
    if kind == "between":
        return {"<": [1, var(rng.choice(NUMBERS)), rng.choice([3, 50, 5000])]}
    if kind == "boolean":
        path = rng.choice(BOOLEANS)
        return rng.choice([{"==": [var(path), rng.choice([True, False])]}, {"!!": [var(path)]}, {"!": [var(path)]}])
    if kind == "text":
        path = rng.choice(list(TEXTS))
        return {rng.choice(["==", "!="]): [var(path), rng.choice(TEXTS[path])]}
    if kind in ("list", "not-list"):
        path, name = rng.choice(LIST_READS)
        member = {"in": [var(path), var(f"lists.{name}")]}
        return member if kind == "list" else {"!": [member]}
    if kind == "missing":
        return {"missing": [rng.choice(["custom.amount", "custom.country", "ip.address", "device.id"])]}
    if kind == "missing_some":
        return {"missing_some": [1, ["custom.amount", "custom.bin"]]}
    if kind == "substring":
        return {"in": [rng.choice(["Firefox", "bot", "iPhone"]), var("userAgent")]}
    if kind == "default":
        return {">": [var("custom.amount", 0), 100]}
    return rng.choice([True, False])


def condition(rng: random.Random, depth: int = 0) -> Any:
    if depth < 2 and rng.random() < 0.45:
        shape = rng.choice(["and", "or", "!", "if"])
        if shape == "!":
            return {"!": [condition(rng, depth + 1)]}
        if shape == "if":
            return {"if": [condition(rng, depth + 1), condition(rng, depth + 1), condition(rng, depth + 1)]}
        return {shape: [condition(rng, depth + 1) for _ in range(rng.randint(2, 3))]}
    return atom(rng)


def replace_rules(app, tenant_id: str, code: str, rng: random.Random, note: str) -> None:
    """A new rule set of 1–7 rules (some inactive, one without conditions now and then), published."""
    with app.app_context():
        for rule_id in db.session.execute(select(Rule.id).join(ActionConfiguration).where(
                ActionConfiguration.tenant_id == tenant_id, ActionConfiguration.code == code)).scalars().all():
            delete_rule(tenant_id, rule_id)
        count = rng.randint(1, 7)
        for position, priority in enumerate(sorted(rng.sample(range(100), count))):
            create_rule(tenant_id, code, RuleDocument.model_validate({
                "name": f"{code} rule {position}", "priority": priority, "isActive": rng.random() > 0.15,
                "outcome": rng.choice(["ALLOW", "CHALLENGE", "CHALLENGE", "REVIEW", "BLOCK"]),
                "conditions": None if rng.random() < 0.05 else condition(rng),
            }))
        publish("cli", tenant_id, code, note=note)


def random_track(api, rng: random.Random, explained: dict[str, dict]) -> None:
    custom: dict[str, Any] = {"country": rng.choice(COUNTRIES)}
    if rng.random() < 0.8:
        custom["amount"] = rng.choice([0, 5, 99, 101, 999, 1001, 50_000, "a lot"])  # a wrong type now and then
    if rng.random() < 0.5:
        custom["bin"] = rng.choice([411111, 555555, 424242, "411111"])
    body: dict[str, Any] = {"custom": custom, "deviceId": f"d{rng.randint(1, 5)}"}
    if rng.random() < 0.9:
        body["ipAddress"] = rng.choice(ADDRESSES)
    if rng.random() < 0.9:
        body["userAgent"] = rng.choice(AGENTS)
    user, code = f"u{rng.randint(1, 8)}", rng.choice(list(ACTIONS))
    response = api.post(f"/users/{user}/actions/{code}", json=body)
    assert response.status_code == 200, response.get_json()
    key = response.get_json()["idempotencyKey"]
    # The trace is not stored: what get-action shows now, while nothing it read has changed, is
    # what the track decided; it must read the same after the rules and lists change.
    explained[key] = api.get(f"/users/{user}/actions/{code}/{key}").get_json()["output"]


def test_a_thousand_generated_tracks_each_replay_to_exactly_what_was_stored(app, api, tenant):
    rng = random.Random(1014)
    make_data_point(app, tenant.id, "amount", "number")
    make_data_point(app, tenant.id, "vip", "boolean", model_type="user")
    high_risk = make_list(app, tenant.id, "high-risk", "strings", "KP\nIR")
    bins = make_list(app, tenant.id, "bad-bins", "numbers", "411111")
    for code, (default_outcome, unenrolled) in ACTIONS.items():
        make_action(app, tenant.id, code, default_outcome=default_outcome, unenrolled_policy=unenrolled)
    for user in ("u1", "u2", "u3"):
        enroll_authenticator_app(api, user)
    for user, vip in (("u4", True), ("u5", False), ("u6", "yes")):  # "yes": the wrong type for a boolean
        assert api.patch(f"/users/{user}", json={"custom": {"vip": vip}}).status_code == 200

    explained: dict[str, dict] = {}
    for round_number in range(ROUNDS):
        for code in ACTIONS:
            replace_rules(app, tenant.id, code, rng, note=f"Round {round_number}.")
        set_items(app, tenant.id, high_risk, "\n".join(rng.sample(COUNTRIES + ["US", "AU"], 3)))
        set_items(app, tenant.id, bins, "\n".join(str(n) for n in rng.sample([411111, 555555, 424242], 2)))
        for _ in range(TRACKS_PER_ROUND):
            random_track(api, rng, explained)

    with app.app_context():
        keys = dict(db.session.execute(select(UserAction.id, UserAction.idempotency_key)).all())
        ids = sorted(keys)
        replays = [replay_action(tenant.id, action_id) for action_id in ids]

    assert len(replays) >= 1000
    assert [replay.action_id for replay in replays if not replay.reproduces] == []
    assert [replay.action_id for replay in replays if replay.reproduced.output != explained[keys[replay.action_id]]] == []
    # The generated tracks took every path, and most early ones would be decided otherwise today.
    assert set(Counter(replay.stored.state for replay in replays)) >= {
        "ALLOW", "CHALLENGE_REQUIRED", "REVIEW_REQUIRED", "BLOCK"}
    assert {replay.stored.version_number for replay in replays} == set(range(2, ROUNDS + 2))  # every round's
    changed = sum(replay.live.output != replay.stored.output for replay in replays[:TRACKS_PER_ROUND])
    assert changed > TRACKS_PER_ROUND // 2

    # A back-test of each action's draft (its live version) over the same history: the self-check
    # reproduces every stored outcome, and it changes exactly the actions a replay says live would.
    with app.app_context():
        codes = dict(db.session.execute(select(UserAction.id, UserAction.action_code)).all())
        for code in ACTIONS:
            run = backtests.request_backtest("cli", tenant.id, code, version=None,
                                             window=parse_window("24h", now=utcnow()))
            claimed = backtest_runner.claim_backtest(now=utcnow(), run_id=run.id)
            assert backtest_runner.run_claimed(*claimed, settings=app.config["TOLLGATE"], batch=97) == "done"
            tally = backtests.backtest_view(tenant.id, code, run.id).tally
            mine = [replay for replay in replays if codes[replay.action_id] == code]
            assert (tally.total, tally.reproduced) == (len(mine), len(mine))
            assert tally.changed == sum(replay.live.state != replay.stored.state for replay in mine)
