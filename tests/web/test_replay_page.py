"""Replay in the console: an action's page and a review case say which version decided it, and
Replay shows the stored decision beside the live version's and the draft's, differences marked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ActionConfiguration, Rule, UserAction
from app.services.rulesets.rules import RuleDocument, create_rule, delete_rule
from app.services.rulesets.versions import publish
from tests.factories import make_action, rule
from tests.html import fragment_root, is_fragment, parse, text_of

pytestmark = pytest.mark.usefixtures("tenant")

CODE = "withdraw"
BIG = {">": [{"var": "custom.amount"}, 1000]}


@pytest.fixture
def tracked(app, tenant, api) -> int:
    """A withdrawal sent to review by version 2's rule "Review big"; its id."""
    make_action(app, tenant.id, CODE, rules=[rule("Review big", 0, "REVIEW", BIG)])
    response = api.post(f"/users/u1/actions/{CODE}", json={"custom": {"amount": 5000}})
    assert response.get_json()["state"] == "REVIEW_REQUIRED"
    with app.app_context():
        return db.session.execute(select(UserAction.id)).scalar_one()


def change_rules(app, tenant_id: str, *, publish_note: str) -> None:
    """Replace "Review big" by "Block big" and publish it; then draft "Allow first"."""
    with app.app_context():
        [old] = db.session.execute(
            select(Rule.id).join(ActionConfiguration).where(ActionConfiguration.tenant_id == tenant_id)).scalars()
        delete_rule(tenant_id, old)
        create_rule(tenant_id, CODE, RuleDocument.model_validate(rule("Block big", 5, "BLOCK", BIG)))
        publish("cli", tenant_id, CODE, note=publish_note)
        create_rule(tenant_id, CODE, RuleDocument.model_validate(rule("Allow first", 0, "ALLOW")))


def columns(page) -> list[str]:
    return [text_of(h) for h in parse(page).select(".replay-grid > section > h3")]


def summary(page) -> dict[str, list[tuple[str, bool]]]:
    """Each summary row: per column, its text and whether it is marked as differing."""
    rows = parse(page).select("table.replay-summary tbody tr")
    return {text_of(row.th): [(text_of(cell), "differs" in (cell.get("class") or [])) for cell in row.select("td")]
            for row in rows}


def test_the_action_page_says_which_version_decided_and_offers_replay(admin, tracked):
    page = parse(admin.get(f"/console/activity/{tracked}"))

    assert text_of(page.select_one(".decided-by")).startswith("Decided by version 2 of its rules, published")
    assert "“The test's rules.”" in text_of(page.select_one(".decided-by"))
    assert page.select_one(".decided-by a")["href"] == f"/console/actions/{CODE}/versions/2"
    replay = page.select_one("#replay a.button")
    assert replay["href"] == replay["hx-get"] == f"/console/activity/{tracked}/replay"


def test_replay_puts_the_stored_decision_beside_live_and_draft_and_marks_what_differs(app, tenant, admin, tracked):
    change_rules(app, tenant.id, publish_note="Block big ones instead.")

    response = admin.get(f"/console/activity/{tracked}/replay")

    assert response.status_code == 200
    assert columns(response) == ["Stored decision (version 2)", "Live version 3", "Draft"]
    page = parse(response)
    assert text_of(page.select_one("#replay [role=status]")).startswith("Version 2 reproduces the stored decision")
    rows = summary(response)
    assert rows["State"] == [("Review required", False), ("Block (differs)", True), ("Allow (differs)", True)]
    assert rows["Deciding rule"] == [("Review big", False), ("Block big (differs)", True),
                                     ("Allow first (differs)", True)]
    # In the live trace, the new rule is marked and the stored decision's rule is named as gone.
    live = page.select(".replay-grid > section")[1]
    assert "differs" in live["class"]
    assert [text_of(d.summary).split(" — ")[0] for d in live.select("details.trace-rule.differs")] == ["1. Block big Block"]
    assert text_of(live.select_one("p.differs")) == "Not in this version: Review big"
    stored = page.select(".replay-grid > section")[0]
    assert stored.select(".differs") == []


def test_replay_of_an_action_the_live_version_decides_alike_shows_no_differences(admin, tracked):
    response = admin.get(f"/console/activity/{tracked}/replay")

    assert columns(response) == ["Stored decision (version 2)", "Live version 2 (the one that decided)"]
    assert all(not differs for cells in summary(response).values() for _, differs in cells)
    assert "Every version shown decides these inputs as the stored decision did." in text_of(parse(response))


def test_replay_answers_htmx_with_the_section_alone(admin, tracked):
    response = admin.get(f"/console/activity/{tracked}/replay", headers={"HX-Request": "true"})

    assert is_fragment(response)
    assert fragment_root(response)["id"] == "replay"


def test_an_action_tracked_before_versions_says_so_and_cannot_be_replayed(app, admin, tracked):
    with app.app_context():
        action = db.session.get(UserAction, tracked)
        action.action_version_id, action.input_snapshot = None, None
        db.session.commit()

    page = parse(admin.get(f"/console/activity/{tracked}"))
    replay = parse(admin.get(f"/console/activity/{tracked}/replay"))

    assert text_of(page.select_one(".decided-by")).startswith("Tracked before rule-set versions existed")
    assert page.select_one("#replay a.button") is None
    assert "cannot be replayed" in text_of(replay.select_one("#replay"))


def test_replay_of_an_unknown_action_is_not_found(admin):
    assert admin.get("/console/activity/999999/replay").status_code == 404


def test_a_reviewer_reads_the_rule_of_the_version_that_decided_and_replays_the_case(app, tenant, reviewer, tracked):
    change_rules(app, tenant.id, publish_note="Block big ones instead.")

    case = parse(reviewer.get(f"/review/{tracked}"))
    replay = reviewer.get(f"/console/activity/{tracked}/replay")

    why = text_of(case.select_one("[aria-labelledby=why-heading]"))
    assert "Rule Review big of version 2 decided: custom.amount is greater than 1000" in why
    assert "changed after this decision" not in why
    assert text_of(case.select_one(".decided-by")).startswith("Decided by version 2 of its rules")
    assert case.select_one(".decided-by a") is None  # version pages are for admins
    assert case.select_one("#replay a.button")["hx-get"] == f"/console/activity/{tracked}/replay"
    assert replay.status_code == 200
    assert columns(replay)[:2] == ["Stored decision (version 2)", "Live version 3"]
