"""One decision trace: an action's page, its review case and Test action show it with the same partial."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import UserAction
from tests.api.test_track_custom_data import make_data_point
from tests.factories import make_action, rule

pytestmark = pytest.mark.usefixtures("tenant")

CUSTOM = '{"amount": 5000, "country": "NZ", "channel": 7}'


def decision_trace(page: str) -> str:
    """The trace partial's markup: its root element up to the matching end tag."""
    start = page.index('<div class="decision-trace">')
    depth = 0
    for tag in re.finditer(r"<div\b|</div>", page[start:]):
        depth += 1 if tag.group() == "<div" else -1
        if depth == 0:
            return page[start:start + tag.end()]
    raise AssertionError("the decision trace is not closed")


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
    trace = decision_trace(activity.get_data(as_text=True))
    assert decision_trace(case.get_data(as_text=True)) == trace
    assert decision_trace(simulated.get_data(as_text=True)) == trace
    # What that one trace says: which rule decided and where it stands among those evaluated ...
    assert "Decided by the rule <strong>Big amount</strong> (position 2 of 4: the first match wins" in trace
    assert "Switched off" not in trace  # inactive rules are not evaluated, so not traced
    assert "<code>custom.channel</code>: expected text, received number" in trace
    # ... each rule marked, the deciding one told apart from one that also matched, long lists
    # opened only where something matched ...
    rules = re.findall(r'<details class="([^"]*)"( open)?>\s*<summary>(\d)\.', trace)
    assert rules == [("trace-rule", "", "1"), ("trace-rule matched deciding", " open", "2"),
                     ("trace-rule matched", " open", "3"), ("trace-rule", "", "4")]
    assert trace.count('<strong class="deciding-tag">deciding rule</strong>') == 1
    assert "No conditions to evaluate: this rule matches every action." in trace
    # ... and each condition with its node, field, operator (symbol in the title), values and result,
    # the result a mark for the eye and a word for screen readers. Big amount's second condition:
    cells = re.findall(r'<td[^>]*data-label="[^"]+">(.*?)</td>', trace)  # six per condition
    assert cells[12:18] == ["<code>and[1]</code>", "<code>custom.country</code>", '<span title="in">in</span>',
                           "<code>&#34;NZ&#34;</code>", "<code>[&#34;NZ&#34;, &#34;AU&#34;]</code>",
                           '<span class="cond-true" aria-hidden="true">✓</span><span class="visually-hidden">true</span>']
    assert '<span title="&gt;">greater than</span>' in trace
    assert '<span class="cond-false" aria-hidden="true">✗</span><span class="visually-hidden">false</span>' in trace


def test_a_trace_without_rules_says_the_default_outcome_applied(app, admin, tenant):
    make_action(app, tenant.id, "sign-in", default_outcome="CHALLENGE")

    page = admin.post("/console/actions/sign-in/test", data={"user_id": "bob", "custom": "{}"}, htmx=True)

    trace = decision_trace(page.get_data(as_text=True))
    assert "There were no active rules, so the default outcome (CHALLENGE) applies." in trace
    assert "<details" not in trace
