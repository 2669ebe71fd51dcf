"""One decision trace: an action's page, its review case and Test action show it with the same partial."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import UserAction
from tests.api.test_track_custom_data import make_data_point
from tests.factories import make_action, rule
from tests.html import parse, table_rows, text_of

pytestmark = pytest.mark.usefixtures("tenant")

CUSTOM = '{"amount": 5000, "country": "NZ", "channel": 7}'


def decision_trace(response):
    """The trace partial's element (its one root, div.decision-trace)."""
    [trace] = parse(response).select("div.decision-trace")
    return trace


def result_mark(cell) -> tuple[str, str]:
    """A Result cell: the mark shown to the eye (hidden from screen readers) and the word read out instead."""
    mark, spoken = cell.find_all("span")
    assert mark["aria-hidden"] == "true" and "visually-hidden" in spoken["class"], cell
    assert mark["class"] == ["cond-true" if text_of(spoken) == "true" else "cond-false"], cell
    return text_of(mark), text_of(spoken)


@pytest.fixture
def withdraw(app, tenant):
    make_data_point(app, tenant.id, "channel", "text")  # 7 is a number: noted, and treated as not sent
    make_action(app, tenant.id, "withdraw", rules=[
        rule("Known device", 0, "ALLOW", {"==": [{"var": "device.id"}, "trusted"]}),
        rule("Switched off", 1, "BLOCK", None, isActive=False),
        rule("Big amount", 2, "REVIEW", {"and": [{">": [{"var": "custom.amount"}, 1000]},
                                                 {"in": [{"var": "custom.country"}, ["NZ", "AU"]]}]}),
        rule("Everyone", 3, "CHALLENGE"),
        rule("Tiny or in branch", 4, "ALLOW", {"or": [{"<": [{"var": "custom.amount"}, 1]},
                                                      {"==": [{"var": "custom.channel"}, "branch"]}]}),
    ])


def test_the_activity_page_the_review_case_and_test_action_show_the_same_trace(app, admin, api, withdraw):
    tracked = api.post("/users/alice/actions/withdraw", json={"custom": json.loads(CUSTOM)})
    assert tracked.get_json()["state"] == "REVIEW_REQUIRED"
    with app.app_context():
        action_id = db.session.execute(select(UserAction.id)).scalar_one()

    activity = admin.get(f"/console/activity/{action_id}")
    case = admin.get(f"/review/{action_id}")
    simulated = admin.post("/console/actions/withdraw/test", data={"user_id": "alice", "custom": CUSTOM}, htmx=True)

    assert activity.status_code == case.status_code == simulated.status_code == 200
    trace = decision_trace(activity)
    assert decision_trace(case) == trace  # the same elements, attributes and text, node for node
    assert decision_trace(simulated) == trace
    # What that one trace says: which rule decided and where it stands among those evaluated ...
    decided = trace.find("p")
    assert text_of(decided).startswith("Decided by the rule Big amount (position 2 of 4: the first match wins")
    assert text_of(decided.strong) == "Big amount"
    assert "Switched off" not in text_of(trace)  # inactive rules are not evaluated, so not traced
    [wrong_type] = trace.select('.notice[role="note"] li')
    assert text_of(wrong_type).startswith("custom.channel: expected text, received number")
    assert text_of(wrong_type.code) == "custom.channel"
    # ... each rule marked, the deciding one told apart from one that also matched, long lists
    # opened only where something matched ...
    rules = trace.find_all("details")
    assert [(r["class"], r.has_attr("open"), text_of(r.summary).split(".")[0]) for r in rules] == [
        (["trace-rule"], False, "1"), (["trace-rule", "matched", "deciding"], True, "2"),
        (["trace-rule", "matched"], True, "3"), (["trace-rule"], False, "4")]
    [deciding_tag] = trace.select(".deciding-tag")
    assert (deciding_tag.name, text_of(deciding_tag)) == ("strong", "deciding rule") and deciding_tag in rules[1].summary
    assert "No conditions to evaluate: this rule matches every action." in text_of(rules[2])
    # ... and each condition with its node, field, operator (symbol in the title), values and result,
    # the result a mark for the eye and a word for screen readers. Big amount's second condition:
    assert [row["Node"] for row in table_rows(rules[1])] == ["and[0]", "and[1]"]
    node, field, operator, observed, expected, result = rules[1].select("tbody tr")[1].find_all("td")  # six a condition
    assert [text_of(cell.code) for cell in (node, field, observed, expected)] == [
        "and[1]", "custom.country", '"NZ"', '["NZ", "AU"]']
    assert (operator.span["title"], text_of(operator)) == ("in", "in")
    assert result_mark(result) == ("✓", "true")
    assert text_of(trace.find("span", title=">")) == "greater than"
    assert ("✗", "false") in [result_mark(cell) for cell in trace.find_all("td", attrs={"data-label": "Result"})]


def test_a_trace_without_rules_says_the_default_outcome_applied(app, admin, tenant):
    make_action(app, tenant.id, "sign-in", default_outcome="CHALLENGE")

    page = admin.post("/console/actions/sign-in/test", data={"user_id": "bob", "custom": "{}"}, htmx=True)

    trace = decision_trace(page)
    assert "There were no active rules, so the default outcome (CHALLENGE) applies." in text_of(trace)
    assert trace.find("details") is None

