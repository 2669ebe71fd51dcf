"""Console activity: the filtered, keyset-paginated list and one action's detail."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.domain.decision import ActionState
from app.extensions import db
from app.models import Tenant, UserAction
from app.services.console.activity import Cursor
from tests.factories import make_action, rule
from tests.html import (
    alerts,
    definitions,
    field_error,
    fragment_root,
    is_fragment,
    outcome_badges,
    pager_link,
    parse,
    section,
    table_rows,
    text_of,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def add_action(app, tenant_id: str, *, created_at: datetime = T0, user_id: str = "alice",
               action_code: str = "sign-in", state: ActionState = ActionState.ALLOW, **extra) -> int:
    """One stored action with exactly the given timestamp (the API would stamp 'now')."""
    with app.app_context():
        action = UserAction(
            tenant_id=tenant_id, action_code=action_code, user_id=user_id, state=state, initial_state=state,
            idempotency_key=secrets.token_hex(8),
            state_updated_at=created_at, created_at=created_at, updated_at=created_at, output=extra.pop("output", {}),
            attributes=extra.pop("attributes", {}), **extra,
        )
        db.session.add(action)
        db.session.commit()
        return action.id


def listed_ids(response) -> list[int]:
    """The actions the results list, in order, by the id their row's link leads to."""
    assert response.status_code == 200, response.status_code
    links = parse(response).select("#activity-results tbody a[href]")
    return [int(link["href"].removeprefix("/console/activity/")) for link in links]




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
    html = parse(page)
    assert not is_fragment(page) and html.find(id="activity-results") is not None
    filters = html.select_one('form[role="search"]')
    assert (filters["method"], filters["hx-get"], filters["hx-push-url"]) == ("get", "/console/activity", "true")
    for name in ("action", "state", "user", "from", "to"):
        assert filters.find("label", attrs={"for": f"filter-{name}"}) is not None, name
    results = fragment_root(fragment)
    assert (results.name, results.get("id")) == ("div", "activity-results")
    assert "Vary" in fragment.headers and "HX-Request" in fragment.headers["Vary"]


def test_rows_show_time_code_user_state_rule_and_ip_newest_first(app, admin, api, tenant):
    make_action(app, tenant.id, "withdraw-funds",
                rules=[rule("Big amounts", 0, "BLOCK", {">": [{"var": "custom.amount"}, 1000]})])
    api.post("/users/alice/actions/withdraw-funds", json={"custom": {"amount": 10}, "ipAddress": "203.0.113.9"})
    api.post("/users/bob/actions/withdraw-funds", json={"custom": {"amount": 5000}, "ipAddress": "198.51.100.7"})

    page = parse(admin.get("/console/activity"))

    rows = [(row["User"], row["Action"], row["Deciding rule"], row["IP"]) for row in table_rows(page, "#activity-results table")]
    assert rows == [("bob", "withdraw-funds", "Big amounts", "198.51.100.7"),  # newest first
                    ("alice", "withdraw-funds", "default", "203.0.113.9")]
    assert outcome_badges(page.select_one("#activity-results tbody")) == ["BLOCK", "ALLOW"]


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
    assert parse(first).select_one('a[rel~="next"]')["hx-target"] == "#activity-results"
    assert is_fragment(second)
    assert len(listed_ids(second)) == 1
    assert pager_link(second) is None and parse(second).find("a", string="← Newest") is not None


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


def test_an_outcome_lists_every_state_it_leads_to(app, admin, tenant):
    pending = add_action(app, tenant.id, state=ActionState.CHALLENGE_REQUIRED, created_at=T0)
    passed = add_action(app, tenant.id, state=ActionState.CHALLENGE_SUCCEEDED, created_at=T0 + timedelta(minutes=1))
    failed = add_action(app, tenant.id, state=ActionState.CHALLENGE_FAILED, created_at=T0 + timedelta(minutes=2))
    add_action(app, tenant.id, state=ActionState.REVIEW_SUCCEEDED, created_at=T0 + timedelta(minutes=3))

    response = admin.get("/console/activity?outcome=CHALLENGE")
    assert listed_ids(response) == [failed, passed, pending]
    assert parse(response).select_one("#filter-outcome option[selected]")["value"] == "CHALLENGE"
    assert listed_ids(admin.get("/console/activity?outcome=CHALLENGE&state=CHALLENGE_FAILED")) == [failed]
    assert field_error(admin.get("/console/activity?outcome=MAYBE"), "filter-outcome") == "Pick an outcome from the list."


def test_filters_by_deciding_rule_picked_from_the_live_rules(app, admin, tenant):
    [rule_id] = make_action(app, tenant.id, "payout",
                            rules=[rule("Large payout", 1, "BLOCK", {">": [{"var": "custom.amount"}, 100]})])
    by_rule = add_action(app, tenant.id, action_code="payout", priority_rule_id=rule_id, state=ActionState.BLOCK)
    by_default = add_action(app, tenant.id, action_code="payout", created_at=T0 + timedelta(minutes=1))

    response = admin.get(f"/console/activity?rule={rule_id}")

    assert listed_ids(response) == [by_rule]
    picker = parse(response).select_one("#filter-rule")
    assert picker.select_one("option[selected]")["value"] == rule_id
    assert [(option.find_parent("optgroup")["label"], text_of(option)) for option in picker.select("optgroup option")] \
        == [("payout", "Large payout")]
    assert listed_ids(admin.get("/console/activity?rule=default")) == [by_default]


def test_a_rule_no_longer_live_still_filters_from_a_link(app, admin, tenant):
    gone = add_action(app, tenant.id, priority_rule_id="0" * 36)

    response = admin.get(f"/console/activity?rule={'0' * 36}")

    assert listed_ids(response) == [gone]
    assert text_of(parse(response).select_one("#filter-rule option[selected]")) == "A rule no longer live"


def test_filters_by_the_method_the_user_verified_with(app, admin, tenant):
    totp = add_action(app, tenant.id, state=ActionState.CHALLENGE_SUCCEEDED, verification_method="AUTHENTICATOR_APP")
    add_action(app, tenant.id, state=ActionState.CHALLENGE_SUCCEEDED, verification_method="PASSKEY",
               created_at=T0 + timedelta(minutes=1))

    response = admin.get("/console/activity?method=AUTHENTICATOR_APP")

    assert listed_ids(response) == [totp]
    assert text_of(parse(response).select_one("#filter-method option[selected]")) == "Authenticator app"
    assert field_error(admin.get("/console/activity?method=CARRIER_PIGEON"), "filter-method") == "Pick a method from the list."


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

    assert listed_ids(response) == [action_id]
    assert field_error(response, "filter-state") == "Pick a state from the list."
    assert field_error(response, "filter-from") == "Enter a date as YYYY-MM-DD."
    fragment = admin.get("/console/activity?to=2025-01-01&from=2025-02-01", headers={"HX-Request": "true"})
    assert any("The end date is before the start date." in alert for alert in alerts(fragment))


def test_the_list_shows_only_the_signed_in_tenant(app, admin, tenant, other_tenant):
    mine = add_action(app, tenant.id)
    add_action(app, other_tenant, user_id="someone-else")

    assert listed_ids(admin.get("/console/activity")) == [mine]


def test_user_ids_and_rule_names_are_escaped(app, admin, tenant):
    add_action(app, tenant.id, user_id="<script>alert(1)</script>", priority_rule_id="r1",
               output={"decidingRuleId": "r1", "rules": [{"ruleId": "r1", "name": "<img src=x onerror=alert(2)>"}]})

    response = admin.get("/console/activity")

    page = parse(response)
    [row] = table_rows(page, "#activity-results table")
    assert (row["User"], row["Deciding rule"]) == ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>")  # text
    assert page.find("script", string=lambda s: s and "alert" in s) is None and page.find("img") is None
    # Escaping is about the bytes sent: the injected markup itself must not be in them.
    html = response.get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<img src=x" not in html


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
    page = parse(response)

    assert response.status_code == 200 and not is_fragment(response)
    context = section(page, "Context")
    facts = definitions(context)
    assert (facts["IP address"], facts["Device id"], facts["User agent"], facts["Redirect URL"], facts["Scope"]) == (
        "203.0.113.9", "device-42", "Mozilla/5.0 Test", "https://app.example/after", "read:authenticators")
    custom = {row["Key"]: row["Value"] for row in table_rows(context, "table.kv")}
    assert custom == {"amount": "5000", "country": '"NZ"'}
    # The trace: both rules, each condition with field, operator, observed, expected and result.
    blocked, big = section(page, "Decision").select(".decision-trace details.trace-rule")  # priority order
    assert text_of(blocked.summary).startswith("1. Blocked country") and "did not match" in text_of(blocked.summary)
    assert text_of(big.summary).startswith("2. Big amounts") and text_of(big.select_one(".deciding-tag")) == "deciding rule"
    [amount], [country] = table_rows(big), table_rows(blocked)
    assert (amount["Field"], amount["Operator"], amount["Expected"]) == ("custom.amount", "greater than", "1000")
    assert (country["Field"], country["Operator"], country["Expected"]) == ("custom.country", "equals", '"XX"')
    assert text_of(big.select_one("tbody .cond-true")) == "✓" and text_of(blocked.select_one("tbody .cond-false")) == "✗"
    # The history: tracked as REVIEW_REQUIRED, then REVIEW_SUCCEEDED.
    history = section(page, "State history").select("tbody tr")
    assert [outcome_badges(row.find("td", attrs={"data-label": "To"})) for row in history] == [
        ["REVIEW_REQUIRED"], ["REVIEW_SUCCEEDED"]]
    assert text_of(history[0].find("td", attrs={"data-label": "Source"})) == "track"
    assert section(page, "Verification") is not None


def test_detail_of_a_verified_action_names_the_method_and_authenticator(app, admin, tenant):
    action_id = add_action(app, tenant.id, state=ActionState.CHALLENGE_SUCCEEDED,
                           verification_method="AUTHENTICATOR_APP", verified_by_authenticator_id="auth-123")

    verification = definitions(section(parse(admin.get(f"/console/activity/{action_id}")), "Verification"))

    assert (verification["Method used"], verification["Authenticator"]) == ("Authenticator app", "auth-123")


def test_detail_of_a_claimed_server_challenge_shows_it_required_then_passed_by_email_code(app, admin, api, mail):
    started = api.post("/challenge", json={"verificationMethod": "EMAIL_OTP", "action": "sign-up",
                                           "email": "jo@example.com"}).get_json()
    api.post("/verify", json={"challengeId": started["challengeId"], "verificationCode": mail.wait_for(1)[0].code})
    assert api.post("/claim", json={"challengeId": started["challengeId"], "userId": "jo"}).status_code == 200
    with app.app_context():
        action_id = db.session.execute(select(UserAction.id)).scalar_one()

    page = parse(admin.get(f"/console/activity/{action_id}"))

    history = section(page, "State history").select("tbody tr")
    assert [outcome_badges(row.find("td", attrs={"data-label": "To"})) for row in history] == [
        ["CHALLENGE_REQUIRED"], ["CHALLENGE_SUCCEEDED"]]
    assert definitions(section(page, "Verification"))["Method used"] == "Email code"


def test_detail_escapes_attacker_controlled_context(app, admin, tenant):
    action_id = add_action(
        app, tenant.id, user_id="<script>alert(1)</script>", user_agent="<b>ua</b>",
        redirect_url="javascript:alert(3)", attributes={"custom": {"<i>k</i>": "<script>alert(4)</script>"}},
        output={"rules": [{"ruleId": "r", "name": "<u>rule</u>", "priority": 0, "outcome": "ALLOW", "matched": False,
                           "conditions": [{"field": "custom.<x>", "operator": "==", "observed": "<y>",
                                           "expected": "</td>", "result": False}]}]},
    )

    response = admin.get(f"/console/activity/{action_id}")

    page = parse(response)
    main = page.find("main")
    # Shown as text, every one of them ...
    assert text_of(main.select_one("p a.wrap")) == "<script>alert(1)</script>"
    assert definitions(section(page, "Context"))["User agent"] == "<b>ua</b>"
    custom = {row["Key"]: row["Value"] for row in table_rows(section(page, "Context"), "table.kv")}
    assert custom == {"<i>k</i>": '"<script>alert(4)</script>"'}
    [rule_shown] = section(page, "Decision").select("details.trace-rule")
    assert "<u>rule" in text_of(rule_shown.summary)
    [condition] = table_rows(rule_shown)
    assert (condition["Field"], condition["Observed"], condition["Expected"]) == ("custom.<x>", '"<y>"', '"</td>"')
    # ... so no element of the kinds injected exists, and no javascript: link ...
    assert main.find_all(["script", "b", "i", "u", "x", "y"]) == []
    assert page.find("script", string=lambda s: s and "alert" in s) is None
    assert page.select('a[href^="javascript:"]') == []
    # ... and, since escaping is about the bytes sent, the injected markup is not in them either.
    html = response.get_data(as_text=True)
    for raw in ("<script>alert", "<b>ua", "<i>k", "<u>rule", "custom.<x>", "<y>", '"</td>"'):
        assert raw not in html, raw
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

    wrong_type, missing = parse(admin.get(f"/console/activity/{action_id}")).select('.decision-trace .notice[role="note"]')

    assert "Custom values of the wrong type were treated as not sent" in text_of(wrong_type)
    [field] = wrong_type.find_all("li")
    assert text_of(field).startswith("custom.amount: expected number, received text")
    assert text_of(field.code) == "custom.amount"
    assert "Rules read lists that do not exist" in text_of(missing)
    assert [text_of(code) for code in missing.find_all("code")] == ["blocked-countries"]

