"""Console activity: the filtered, keyset-paginated list and one action's detail."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.decision import ActionState
from app.extensions import db
from app.models import ActionStateChange, Tenant, UserAction
from app.services.console.activity import Cursor
from tests.factories import make_action, rule
from tests.html import pager_link

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ROW_LINK = re.compile(r'href="/console/activity/(\d+)"')


def add_action(app, tenant_id: str, *, created_at: datetime = T0, user_id: str = "alice",
               action_code: str = "sign-in", state: ActionState = ActionState.ALLOW, **extra) -> int:
    """One stored action with exactly the given timestamp (the API would stamp 'now')."""
    with app.app_context():
        action = UserAction(
            tenant_id=tenant_id, action_code=action_code, user_id=user_id, state=state,
            idempotency_key=secrets.token_hex(8),
            state_updated_at=created_at, created_at=created_at, updated_at=created_at, output=extra.pop("output", {}),
            attributes=extra.pop("attributes", {}), **extra,
        )
        action.state_changes.append(ActionStateChange(from_state=None, to_state=state, source="track",
                                                      changed_at=created_at))
        db.session.add(action)
        db.session.commit()
        return action.id


def listed_ids(response) -> list[int]:
    assert response.status_code == 200, response.status_code
    return [int(found) for found in ROW_LINK.findall(response.get_data(as_text=True))]



def walk(client, url: str) -> list[list[int]]:
    pages = []
    while url:
        response = client.get(url)
        pages.append(listed_ids(response))
        url = pager_link(response)
    return pages


@pytest.fixture
def other_tenant(app) -> str:
    with app.app_context():
        other = Tenant(name="Other tenant")
        db.session.add(other)
        db.session.commit()
        return other.id


# --- the list ------------------------------------------------------------------------------------

def test_activity_list_is_a_full_page_and_its_results_are_a_fragment(app, admin, tenant):
    add_action(app, tenant.id)

    page = admin.get("/console/activity")
    fragment = admin.get("/console/activity", headers={"HX-Request": "true"})

    assert page.status_code == 200 and fragment.status_code == 200
    html = page.get_data(as_text=True)
    assert "<html" in html and 'id="activity-results"' in html
    assert 'hx-get="/console/activity"' in html and 'hx-push-url="true"' in html and 'method="get"' in html
    for name in ("action", "state", "user", "from", "to"):
        assert re.search(rf'<label for="filter-{name}"', html), name
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<div id="activity-results"')
    assert "Vary" in fragment.headers and "HX-Request" in fragment.headers["Vary"]


def test_rows_show_time_code_user_state_rule_and_ip_newest_first(app, admin, api, tenant):
    make_action(app, tenant.id, "withdraw-funds",
                rules=[rule("Big amounts", 0, "BLOCK", {">": [{"var": "custom.amount"}, 1000]})])
    api.post("/users/alice/actions/withdraw-funds", json={"custom": {"amount": 10}, "ipAddress": "203.0.113.9"})
    api.post("/users/bob/actions/withdraw-funds", json={"custom": {"amount": 5000}, "ipAddress": "198.51.100.7"})

    html = admin.get("/console/activity").get_data(as_text=True)

    assert html.index("bob") < html.index("alice")
    assert "withdraw-funds" in html and "Big amounts" in html
    assert "203.0.113.9" in html and "198.51.100.7" in html
    assert 'class="badge BLOCK"' in html and 'class="badge ALLOW"' in html


def test_keyset_pages_neither_repeat_nor_skip_even_with_equal_timestamps(app, admin, tenant):
    # 120 actions, in groups of 7 sharing one timestamp, so page edges fall inside groups.
    ids = [add_action(app, tenant.id, created_at=T0 + timedelta(seconds=n // 7), user_id=f"user-{n}")
           for n in range(120)]

    pages = walk(admin, "/console/activity")

    assert [len(page) for page in pages] == [50, 50, 20]
    seen = [action_id for page in pages for action_id in page]
    expected = sorted(ids, key=lambda i: (ids.index(i) // 7, i), reverse=True)
    assert seen == expected


def test_an_older_page_fragment_carries_the_next_cursor_with_htmx_attributes(app, admin, tenant):
    for _ in range(51):
        add_action(app, tenant.id, created_at=T0)

    first = admin.get("/console/activity")
    url = pager_link(first)
    second = admin.get(url, headers={"HX-Request": "true"})

    assert "cursor=" in url
    assert 'hx-target="#activity-results"' in first.get_data(as_text=True)
    assert "<html" not in second.get_data(as_text=True)
    assert len(listed_ids(second)) == 1
    assert pager_link(second) is None and "← Newest" in second.get_data(as_text=True)


def test_a_mangled_cursor_starts_from_the_newest(app, admin, tenant):
    newest = add_action(app, tenant.id)

    assert listed_ids(admin.get("/console/activity?cursor=not-a-cursor")) == [newest]
    assert Cursor.decode(Cursor(T0, 7).encode()) == Cursor(T0, 7)


def test_filters_by_action_state_user_and_dates(app, admin, tenant):
    a = add_action(app, tenant.id, action_code="sign-in", user_id="alice", state=ActionState.ALLOW, created_at=T0)
    b = add_action(app, tenant.id, action_code="withdraw", user_id="alice", state=ActionState.BLOCK,
                   created_at=T0 + timedelta(days=1))
    c = add_action(app, tenant.id, action_code="withdraw", user_id="bob", state=ActionState.CHALLENGE_REQUIRED,
                   created_at=T0 + timedelta(days=2))

    assert listed_ids(admin.get("/console/activity?action=withdraw")) == [c, b]
    assert listed_ids(admin.get("/console/activity?state=BLOCK")) == [b]
    assert listed_ids(admin.get("/console/activity?user=alice")) == [b, a]
    assert listed_ids(admin.get("/console/activity?from=2025-03-02")) == [c, b]
    assert listed_ids(admin.get("/console/activity?to=2025-03-02")) == [b, a]
    assert listed_ids(admin.get("/console/activity?from=2025-03-02&to=2025-03-02")) == [b]
    assert listed_ids(admin.get("/console/activity?user=alice&action=withdraw&state=BLOCK")) == [b]
    assert listed_ids(admin.get("/console/activity?user=carol")) == []


def test_pagination_keeps_the_filters(app, admin, tenant):
    for n in range(60):
        add_action(app, tenant.id, user_id="alice" if n % 2 else "bob", created_at=T0 + timedelta(seconds=n))

    pages = walk(admin, "/console/activity?user=alice")

    assert [len(page) for page in pages] == [30]
    for n in range(120):
        add_action(app, tenant.id, user_id="alice", created_at=T0 - timedelta(seconds=n + 1))
    url = pager_link(admin.get("/console/activity?user=alice&state=ALLOW"))
    assert "user=alice" in url and "state=ALLOW" in url


def test_bad_filter_values_are_reported_and_ignored(app, admin, tenant):
    action_id = add_action(app, tenant.id)

    response = admin.get("/console/activity?state=NOPE&from=yesterday")
    html = response.get_data(as_text=True)

    assert listed_ids(response) == [action_id]
    assert "Pick a state from the list." in html and "Enter a date as YYYY-MM-DD." in html
    assert 'aria-invalid="true"' in html
    fragment = admin.get("/console/activity?to=2025-01-01&from=2025-02-01", headers={"HX-Request": "true"})
    assert "The end date is before the start date." in fragment.get_data(as_text=True)


def test_the_list_shows_only_the_signed_in_tenant(app, admin, tenant, other_tenant):
    mine = add_action(app, tenant.id)
    add_action(app, other_tenant, user_id="someone-else")

    assert listed_ids(admin.get("/console/activity")) == [mine]


def test_user_ids_and_rule_names_are_escaped(app, admin, tenant):
    add_action(app, tenant.id, user_id="<script>alert(1)</script>", priority_rule_id="r1",
               output={"decidingRuleId": "r1", "rules": [{"ruleId": "r1", "name": "<img src=x onerror=alert(2)>"}]})

    html = admin.get("/console/activity").get_data(as_text=True)

    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html


def test_reviewers_read_the_activity(app, reviewer, tenant):
    action_id = add_action(app, tenant.id)

    assert reviewer.get("/console/activity").status_code == 200
    assert reviewer.get(f"/console/activity/{action_id}").status_code == 200


# --- one action ----------------------------------------------------------------------------------

def test_detail_shows_context_trace_history_and_verification(app, admin, api, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Big amounts", 3, "REVIEW", {">": [{"var": "custom.amount"}, 1000]}),
        rule("Blocked country", 1, "BLOCK", {"==": [{"var": "custom.country"}, "XX"]}),
    ])
    key = api.post("/users/alice/actions/withdraw-funds", json={
        "custom": {"amount": 5000, "country": "NZ"}, "ipAddress": "203.0.113.9", "deviceId": "device-42",
        "userAgent": "Mozilla/5.0 Test", "redirectUrl": "https://app.example/after", "scope": "read:authenticators",
    }).get_json()["idempotencyKey"]
    api.patch(f"/users/alice/actions/withdraw-funds/{key}", json={"state": "REVIEW_SUCCEEDED"})
    with app.app_context():
        action_id = db.session.execute(db.select(UserAction.id)).scalar_one()

    response = admin.get(f"/console/activity/{action_id}")
    html = response.get_data(as_text=True)

    assert response.status_code == 200 and "<html" in html
    for text in ("203.0.113.9", "device-42", "Mozilla/5.0 Test", "https://app.example/after", "read:authenticators",
                 "amount", "5000", "country", "&#34;NZ&#34;"):
        assert text in html, text
    # The trace: both rules, each condition with field, operator, observed, expected and result.
    assert "Big amounts" in html and "Blocked country" in html and "deciding rule" in html
    assert "custom.amount" in html and "greater than" in html and "1000" in html
    assert "custom.country" in html and "equals" in html and "&#34;XX&#34;" in html
    assert "✓" in html and "✗" in html and "did not match" in html
    trace = html[html.index('<details class="trace-rule'):]
    assert trace.index("Blocked country") < trace.index("Big amounts")  # priority order
    # The history: tracked as REVIEW_REQUIRED, then REVIEW_SUCCEEDED.
    history = html[html.index("State history"):]
    assert history.index("REVIEW_REQUIRED") < history.index("REVIEW_SUCCEEDED")
    assert "track" in history
    assert "Verification" in html


def test_detail_of_a_verified_action_names_the_method_and_authenticator(app, admin, tenant):
    action_id = add_action(app, tenant.id, state=ActionState.CHALLENGE_SUCCEEDED,
                           verification_method="AUTHENTICATOR_APP", verified_by_authenticator_id="auth-123")

    html = admin.get(f"/console/activity/{action_id}").get_data(as_text=True)

    assert "AUTHENTICATOR_APP" in html and "auth-123" in html


def test_detail_escapes_attacker_controlled_context(app, admin, tenant):
    action_id = add_action(
        app, tenant.id, user_id="<script>alert(1)</script>", user_agent="<b>ua</b>",
        redirect_url="javascript:alert(3)", attributes={"custom": {"<i>k</i>": "<script>alert(4)</script>"}},
        output={"rules": [{"ruleId": "r", "name": "<u>rule</u>", "priority": 0, "outcome": "ALLOW", "matched": False,
                           "conditions": [{"field": "custom.<x>", "operator": "==", "observed": "<y>",
                                           "expected": "</td>", "result": False}]}]},
    )

    html = admin.get(f"/console/activity/{action_id}").get_data(as_text=True)

    for raw in ("<script>alert", "<b>ua", "<i>k", "<u>rule", "custom.<x>", "<y>", '"</td>"'):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;ua&lt;/b&gt;" in html
    assert 'href="javascript:' not in html


def test_another_tenants_action_is_not_found(app, admin, other_tenant):
    foreign = add_action(app, other_tenant)

    assert admin.get(f"/console/activity/{foreign}").status_code == 404
    assert admin.get("/console/activity/999999").status_code == 404


def test_detail_points_out_wrong_type_values_and_missing_lists(app, tenant, admin):
    action_id = add_action(app, tenant.id, output={
        "rules": [], "outcome": "ALLOW", "defaultOutcome": "ALLOW", "decidingRuleId": None,
        "dataPointErrors": [{"field": "custom.amount", "expectedType": "number", "receivedType": "text",
                             "value": "\"5000\""}],
        "missingLists": ["blocked-countries"],
    })

    page = admin.get(f"/console/activity/{action_id}").get_data(as_text=True)

    assert "Custom values of the wrong type were treated as not sent" in page
    assert "<code>custom.amount</code>: expected number, received text" in page
    assert "Rules read lists that do not exist" in page and "<code>blocked-countries</code>" in page
