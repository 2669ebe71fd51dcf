"""Shadow rule sets: evaluated on every track after the live decision, stored beside it, and never
changing the response, the state or a webhook; counted as a transition matrix; stopped; promoted
to the next version."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from app.domain.errors import Conflict, InvalidRequest
from app.extensions import db
from app.models import ActionVersion, ShadowDecision, ShadowRun, UserAction, WebhookEvent
from app.services.decisions import shadows
from app.services.rulesets import versions
from app.services.rulesets.rules import RuleDocument, create_rule
from tests.api.test_webhooks_outbox import add_endpoint
from tests.factories import make_action, rule

CODE = "withdraw"
LARGE = rule("Large amount", 10, "REVIEW", {">": [{"var": "custom.amount"}, 1000]})
FROM_400 = rule("From 400", 20, "CHALLENGE", {">": [{"var": "custom.amount"}, 400]})
HUGE = rule("Huge", 5, "BLOCK", {">": [{"var": "custom.amount"}, 4000]})
# Volatile by design: new for every track, with or without a shadow.
VOLATILE = ("idempotencyKey", "token", "url")


@pytest.fixture
def action(app, tenant):
    """Live: amounts over 1000 go to review. Draft: that, plus "From 400" (challenge) and "Huge" (block)."""
    make_action(app, tenant.id, CODE, rules=[LARGE])
    with app.app_context():
        ids = {document["name"]: create_rule(tenant.id, CODE, RuleDocument.model_validate(document)).id
               for document in (FROM_400, HUGE)}
        db.session.commit()
    return ids


def start(app, tenant, candidate: str = shadows.WHOLE_DRAFT):
    with app.app_context():
        return shadows.start_shadow("cli", tenant.id, CODE, candidate).id


def track(api, n: int, amount: int) -> dict:
    response = api.post(f"/users/u{n}/actions/{CODE}", json={"custom": {"amount": amount}})
    assert response.status_code == 200, response.get_json()
    return {key: value for key, value in response.get_json().items() if key not in VOLATILE}


def view(app, tenant, run_id):
    with app.app_context():
        return shadows.shadow_view(tenant.id, CODE, run_id)


AMOUNTS = [100, 500, 900, 2000, 5000, 50]


def test_a_shadow_changes_no_response_state_or_webhook(app, api, tenant, action):
    add_endpoint(app, tenant.id)
    without = [track(api, n, amount) for n, amount in enumerate(AMOUNTS)]
    start(app, tenant)
    with_shadow = [track(api, n, amount) for n, amount in enumerate(AMOUNTS)]

    assert with_shadow == without
    with app.app_context():
        states = db.session.execute(select(UserAction.user_id, UserAction.state).order_by(UserAction.id)).all()
        events = db.session.execute(select(WebhookEvent.type, WebhookEvent.data)).all()
    assert [state for _, state in states[:6]] == [state for _, state in states[6:]]
    assert len(events) == 12
    assert [data["state"] for _, data in events[:6]] == [data["state"] for _, data in events[6:]]


def test_the_shadow_verdicts_make_the_exact_transition_matrix(app, api, tenant, action):
    run_id = start(app, tenant)
    for n, amount in enumerate(AMOUNTS):
        track(api, n, amount)

    shadow = view(app, tenant, run_id)

    assert (shadow.tally.total, shadow.tally.changed) == (6, 1)
    rows = {stored: {cell.candidate: cell.count for cell in cells if cell.count}
            for stored, _, cells in shadow.tally.matrix().rows()}
    # Nobody is enrolled, so the shadow's challenges fall to the unenrolled policy (allow): 500 and 900
    # stay allowed; 5000 is blocked instead of reviewed.
    assert rows["ALLOW"] == {"ALLOW": 4}
    assert rows["REVIEW_REQUIRED"] == {"REVIEW_REQUIRED": 1, "BLOCK": 1}
    assert {name: counts for name, *counts in shadow.rule_rows()} == {
        "No rule (the action's default)": [4, 2], "Large amount": [2, 1], "From 400": [0, 2], "Huge": [0, 1]}
    with app.app_context():
        changed = shadows.changed_actions(shadow)
    assert [(row.user_id, row.live_state, row.shadow_state) for row in changed.rows] == [("u4", "REVIEW_REQUIRED", "BLOCK")]


def test_a_single_rule_in_shadow_is_the_live_rules_with_that_rule_alone(app, api, tenant, action):
    run_id = start(app, tenant, action["Huge"])
    for n, amount in enumerate(AMOUNTS):
        track(api, n, amount)

    shadow = view(app, tenant, run_id)

    assert [rule["name"] for rule in shadow.run.candidate_document["rules"]] == ["Huge", "Large amount"]
    assert shadow.label == "Version 2 with the draft's rule “Huge”"
    assert {name: counts for name, *counts in shadow.rule_rows()} == {
        "No rule (the action's default)": [4, 4], "Large amount": [2, 1], "Huge": [0, 1]}


def test_what_may_run_in_shadow_is_the_whole_draft_or_one_rule_it_adds_or_changes(app, tenant, action):
    with app.app_context():
        offered = shadows.candidates(tenant.id, CODE)
    assert offered == [("draft", "The whole draft (2 changes)"), (action["Huge"], "Only “Huge” (added)"),
                       (action["From 400"], "Only “From 400” (added)")]


def test_one_shadow_at_a_time_and_none_without_a_draft(app, tenant, action):
    start(app, tenant)
    with app.app_context(), pytest.raises(Conflict, match="A shadow already runs"):
        shadows.start_shadow("cli", tenant.id, CODE)
    make_action(app, tenant.id, "sign-in")
    with app.app_context(), pytest.raises(InvalidRequest, match="Nothing to shadow"):
        shadows.start_shadow("cli", tenant.id, "sign-in")
    with app.app_context(), pytest.raises(InvalidRequest, match="Choose the whole draft or a rule"):
        shadows.start_shadow("cli", tenant.id, CODE, "no-such-rule")


def test_a_stopped_shadow_decides_nothing_more(app, api, tenant, action):
    run_id = start(app, tenant)
    track(api, 1, 5000)
    with app.app_context():
        shadows.stop_shadow("cli", tenant.id, CODE, run_id)
    track(api, 2, 5000)

    assert view(app, tenant, run_id).tally.total == 1
    with app.app_context(), pytest.raises(Conflict, match="already ended"):
        shadows.stop_shadow("cli", tenant.id, CODE, run_id)


def test_promoting_publishes_the_shadow_with_what_it_measured_and_ends_it(app, api, tenant, action):
    run_id = start(app, tenant, action["Huge"])
    track(api, 1, 5000)

    with app.app_context():
        version = shadows.promote_shadow("cli", tenant.id, CODE, run_id, note="Block huge withdrawals.")
        assert version.number == 3
        assert [rule["name"] for rule in version.document["rules"]] == ["Huge", "Large amount"]
        assert version.impact["changed"] == 1 and version.impact["transitions"] == [["REVIEW_REQUIRED", "BLOCK", 1]]
        run = db.session.get(ShadowRun, run_id)
        assert (run.status, run.promoted_number) == ("promoted", 3)
        # The draft keeps what was not promoted: "From 400" is still a change waiting.
        assert [change.name for change in versions.draft_of(tenant.id, CODE).diff.rules] == ["From 400"]
    assert track(api, 2, 5000)["state"] == "BLOCK"  # the next track is decided by it


def test_a_shadow_measured_against_an_older_version_is_not_promoted(app, api, tenant, action):
    run_id = start(app, tenant)
    with app.app_context():
        versions.publish("cli", tenant.id, CODE, note="Publish the draft meanwhile.")
        with pytest.raises(Conflict, match="went live after version 2"):
            shadows.promote_shadow("cli", tenant.id, CODE, run_id, note="Too late.")
        assert db.session.execute(select(ActionVersion.number).order_by(ActionVersion.number.desc())).first()[0] == 3
        assert db.session.get(ShadowRun, run_id).status == "active"


def test_a_shadow_that_cannot_decide_leaves_the_track_as_it_is(app, api, tenant, action):
    run_id = start(app, tenant)
    with app.app_context():  # broken behind the service's back: its rules no longer compile
        db.session.execute(update(ShadowRun).where(ShadowRun.id == run_id)
                           .values(candidate_document={"rules": "not rules"}))
        db.session.commit()

    assert track(api, 1, 5000)["state"] == "REVIEW_REQUIRED"
    with app.app_context():
        assert db.session.execute(select(ShadowDecision)).first() is None


def test_the_cli_starts_shows_and_stops_a_shadow(app, api, tenant, action):
    cli = app.test_cli_runner()
    started = cli.invoke(args=["rules", "shadow", CODE, "--rule", action["Huge"]])
    assert started.exit_code == 0, started.output
    assert json.loads(started.output)["label"] == "Version 2 with the draft's rule “Huge”"
    track(api, 1, 5000)

    shown = json.loads(cli.invoke(args=["rules", "shadow", CODE, "--show"]).output)
    assert (shown["status"], shown["actions"], shown["changed"]) == ("active", 1, 1)
    stopped = json.loads(cli.invoke(args=["rules", "shadow", CODE, "--stop"]).output)
    assert stopped["status"] == "stopped"
    again = cli.invoke(args=["rules", "shadow", CODE, "--stop"])
    assert again.exit_code != 0 and "No shadow runs on 'withdraw'." in again.output
