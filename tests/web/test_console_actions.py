"""Console actions: the list with last week's outcomes, create, settings, activity, delete, Test action."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.domain.decision import ActionState, Outcome
from app.domain.labels import label
from app.extensions import db
from app.models import ActionConfiguration, AuditEvent, EndUser, Rule, UserAction
from app.models.base import utcnow
from tests.factories import enroll_authenticator_app, make_action, rule
from tests.html import (
    checked_value,
    definitions,
    field_error,
    fragment_root,
    is_fragment,
    outcome_badges,
    parse,
    table_rows,
    text_of,
)
from tests.web.conftest import audit_events

pytestmark = pytest.mark.usefixtures("tenant")


def _track(api, user_id: str, code: str, **body):
    response = api.post(f"/users/{user_id}/actions/{code}", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _count(app, model) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _config(app, code: str) -> ActionConfiguration | None:
    with app.app_context():
        config = db.session.execute(select(ActionConfiguration).where(ActionConfiguration.code == code)).scalar_one_or_none()
        if config is not None:
            db.session.expunge(config)
        return config


# ---------------------------------------------------------------------------------------------
# List


def test_list_shows_each_action_with_active_rules_and_last_weeks_outcomes(app, admin, tenant, api):
    make_action(app, tenant.id, "withdraw", default_outcome=Outcome.CHALLENGE, rules=[
        rule("Big", 0, "BLOCK", {">": [{"var": "custom.amount"}, 1000]}),
        rule("Off", 1, "REVIEW", None, isActive=False),
    ])
    make_action(app, tenant.id, "signIn")
    _track(api, "u1", "withdraw", custom={"amount": 5000})
    _track(api, "u1", "withdraw", custom={"amount": 5})  # CHALLENGE → unenrolled: ALLOW
    _track(api, "u2", "withdraw", custom={"amount": 9000})
    with app.app_context():  # an old one does not count
        old = db.session.execute(select(UserAction).where(UserAction.user_id == "u2")).scalar_one()
        old.created_at = utcnow() - timedelta(days=8)
        db.session.commit()

    page = parse(admin.get("/console/actions"))

    assert page.find("a", string="Create a new action")["href"] == "/console/actions/new"
    rows = table_rows(page, ".actions-table")
    assert [row["Code"] for row in rows] == ["signIn", "withdraw"]  # listed by code: signIn first
    sign_in, withdraw = page.select(".actions-table tbody > tr")
    assert outcome_badges(withdraw.find("td", attrs={"data-label": "Default"})) == ["CHALLENGE"]
    assert rows[1]["Active rules"] == "1"  # one active rule
    bars = withdraw.select_one('.bars[role="img"]')
    assert bars["aria-label"] == "ALLOW 1, CHALLENGE 0, REVIEW 0, BLOCK 1"
    assert [rect["class"] for rect in bars.find_all("rect")] == [["ALLOW"], ["BLOCK"]]
    assert rows[0]["Last 7 days"] == "No activity" and sign_in.select(".bars") == []


def test_outcome_counts_bucket_each_state_under_its_outcome(app, tenant, api):
    from app.services.console.action_stats import outcome_counts
    from app.services.console.outcome_hours import bucket_for

    make_action(app, tenant.id, "pay", rules=[rule("Review all", 0, "REVIEW")])
    _track(api, "u1", "pay")
    _track(api, "u2", "pay")
    with app.app_context():
        counts = outcome_counts(tenant.id, now=utcnow())

    assert counts == {"pay": {"ALLOW": 0, "CHALLENGE": 0, "REVIEW": 2, "BLOCK": 0}}
    assert [bucket_for(s) for s in ActionState] == [
        "ALLOW", "BLOCK", "CHALLENGE", "CHALLENGE", "CHALLENGE", "REVIEW", "REVIEW", "REVIEW"]


# ---------------------------------------------------------------------------------------------
# Create


VALID = {"code": "withdraw-funds", "name": "Withdraw funds", "default_outcome": "CHALLENGE",
         "verification_methods": ["PASSKEY", "AUTHENTICATOR_APP"], "default_verification_method": "PASSKEY",
         "unenrolled_policy": "REQUIRE_ENROLLMENT"}


def test_create_form_page(admin):
    response = admin.get("/console/actions/new")

    page = parse(response)
    assert not is_fragment(response) and page.find("form", id="action-form")["hx-post"] == "/console/actions/new"
    for control in ("code", "name"):
        assert page.find("label", attrs={"for": control}) is not None and page.find(id=control) is not None
    assert "Allowed verification methods" in [text_of(legend) for legend in page.find_all("legend")]
    assert any("Ask them to set up a method first" in text_of(label) for label in page.find_all("label"))


def test_create_an_action_is_audited_and_lands_on_its_page(app, admin):
    response = admin.post("/console/actions/new", data=VALID)

    assert response.status_code == 303
    assert response.headers["Location"] == "/console/actions/withdraw-funds/rules"
    config = _config(app, "withdraw-funds")
    assert config.name == "Withdraw funds" and config.default_outcome is Outcome.CHALLENGE
    assert config.verification_methods == ["PASSKEY", "AUTHENTICATOR_APP"]
    assert config.default_verification_method.value == "PASSKEY"
    assert config.unenrolled_policy.value == "REQUIRE_ENROLLMENT"
    (event,) = audit_events(app, "action.created")
    assert event.actor_email == "admin@example.com" and event.after["code"] == "withdraw-funds"


def test_create_with_htmx_answers_with_hx_redirect(admin):
    response = admin.post("/console/actions/new", data=VALID, htmx=True)

    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/console/actions/withdraw-funds/rules"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"code": "has space"}, "code", "Use 1-64 letters, digits, '_' or '-'"),
    ({"code": ""}, "code", "Enter a code."),
    ({"code": "x" * 65}, "code", "Use 1-64 letters"),
    ({"code": "new"}, "code", "is reserved"),
    ({"verification_methods": []}, "verification_methods", "Allow at least one verification method."),
    ({"verification_methods": ["AUTHENTICATOR_APP"]}, "default_verification_method",
     "The default method must be one of the allowed methods."),
])
def test_create_errors_are_shown_next_to_the_field(app, admin, changes, field, message):
    response = admin.post("/console/actions/new", data={**VALID, **changes})

    assert response.status_code == 400
    assert not is_fragment(response) and message in field_error(response, field)
    assert _count(app, ActionConfiguration) == 0


def test_create_errors_with_htmx_swap_only_the_form(admin):
    response = admin.post("/console/actions/new", data={**VALID, "code": "bad code"}, htmx=True)

    form = fragment_root(response)
    assert response.status_code == 400  # the console's htmx config swaps 400s
    assert (form.name, form.get("id")) == ("form", "action-form")
    assert "Use 1-64 letters" in field_error(form, "code") and form.find(id="code")["value"] == "bad code"


def test_duplicate_codes_are_refused_in_place(app, admin, tenant):
    make_action(app, tenant.id, "withdraw-funds")

    response = admin.post("/console/actions/new", data=VALID)

    assert response.status_code == 400 and "already exists" in field_error(response, "code")


def test_create_without_csrf_token_is_refused(app, admin):
    response = admin.client.post("/console/actions/new", data=VALID)

    assert response.status_code == 400
    assert _count(app, ActionConfiguration) == 0


def test_reviewers_cannot_see_or_change_actions(app, reviewer, tenant):
    make_action(app, tenant.id, "signIn")

    assert reviewer.get("/console/actions").status_code == 403
    assert reviewer.get("/console/actions/signIn").status_code == 403
    assert reviewer.post("/console/actions/new", data=VALID).status_code == 403
    assert reviewer.post("/console/actions/signIn/delete").status_code == 403
    assert _config(app, "signIn") is not None


# ---------------------------------------------------------------------------------------------
# Action page: tabs


def test_action_page_has_rules_draft_versions_back_tests_shadow_activity_and_settings_tabs(app, admin, tenant):
    make_action(app, tenant.id, "signIn")

    page = parse(admin.get("/console/actions/signIn"))

    tabs = page.select('nav[aria-label="Action"] a')
    assert [(tab["href"], text_of(tab), tab.get("aria-current")) for tab in tabs] == [
        ("/console/actions/signIn/rules", "Rules", "page"), ("/console/actions/signIn/draft", "Draft", None),
        ("/console/actions/signIn/versions", "Versions", None),
        ("/console/actions/signIn/backtests", "Back-tests", None), ("/console/actions/signIn/shadow", "Shadow", None),
        ("/console/actions/signIn/activity", "Activity", None),
        ("/console/actions/signIn/settings", "Settings", None)]
    assert "First match wins, from the top." in text_of(page.find("main"))
    assert text_of(page.find(id="test-heading")) == "Test action"


def test_an_action_tracked_as_new_opens_beside_the_create_form(app, admin, api):
    _track(api, "u1", "new")  # Authsignal accepts any code, "new" included

    listing = parse(admin.get("/console/actions"))
    page = parse(admin.get("/console/actions/new/rules"))

    assert [link["href"] for link in listing.select(".actions-table td a") if text_of(link) == "new"] == [
        "/console/actions/new/rules"]
    current = page.select_one('nav[aria-label="Action"] a[aria-current="page"]')
    assert (current["href"], text_of(current)) == ("/console/actions/new/rules", "Rules")
    assert parse(admin.get("/console/actions/new")).find("form", id="action-form") is not None  # still the form


def test_unknown_action_is_404(admin):
    assert admin.get("/console/actions/nope").status_code == 404
    assert admin.get("/console/actions/nope/settings").status_code == 404


def test_activity_tab_lists_this_actions_newest_first_with_links(app, admin, tenant, api):
    make_action(app, tenant.id, "signIn")
    first = _track(api, "u1", "signIn")
    second = _track(api, "u2", "signIn")
    _track(api, "u3", "other")
    with app.app_context():
        ids = {a.user_id: a.id for a in db.session.execute(select(UserAction)).scalars()}

    page = parse(admin.get("/console/actions/signIn/activity"))

    assert first["state"] == second["state"] == "ALLOW"
    assert [row["User"] for row in table_rows(page, "main table")] == ["u2", "u1"]  # newest first; not u3
    details = {text_of(row.find_all("td")[1]): row.find("a")["href"] for row in page.select("main tbody > tr")}
    assert details["u1"] == f"/console/activity/{ids['u1']}"
    assert page.find("a", string="All of them in Activity")["href"] == "/console/activity?action=signIn"  # paged


def test_settings_change_everything_but_the_code_and_are_audited(app, admin, tenant):
    make_action(app, tenant.id, "signIn")
    code = parse(admin.get("/console/actions/signIn/settings")).find("input", id="code")
    assert code["value"] == "signIn" and code.has_attr("readonly")

    response = admin.post("/console/actions/signIn/settings", data={
        "code": "renamed", "name": "Sign in", "default_outcome": "REVIEW", "verification_methods": ["PASSKEY"],
        "default_verification_method": "", "unenrolled_policy": "BLOCK"})

    assert response.status_code == 303
    config = _config(app, "signIn")
    assert config.name == "Sign in" and config.default_outcome is Outcome.REVIEW
    assert config.verification_methods == ["PASSKEY"] and config.unenrolled_policy.value == "BLOCK"
    (event,) = audit_events(app, "action.updated")
    assert event.before["defaultOutcome"] == "ALLOW" and event.after["defaultOutcome"] == "REVIEW"


SETTINGS = {"name": "Sign in", "default_outcome": "ALLOW", "verification_methods": ["PASSKEY"],
            "default_verification_method": "", "unenrolled_policy": "ALLOW"}


def test_the_review_deadline_and_its_policy_are_set_in_the_settings_tab(app, admin, tenant):
    make_action(app, tenant.id, "signIn")
    form = parse(admin.get("/console/actions/signIn/settings"))
    assert form.find("input", attrs={"name": "review_deadline_minutes"})["value"] == ""
    assert checked_value(form, "review_overdue_policy") == "FLAG"

    response = admin.post("/console/actions/signIn/settings", data={
        **SETTINGS, "review_deadline_minutes": "90", "review_overdue_policy": "AUTO_REJECT"})

    assert response.status_code == 303
    config = _config(app, "signIn")
    assert (config.review_deadline_minutes, config.review_overdue_policy.value) == (90, "AUTO_REJECT")
    (event,) = audit_events(app, "action.updated")
    assert (event.before["reviewDeadlineMinutes"], event.after["reviewDeadlineMinutes"]) == (None, 90)
    shown = parse(admin.get("/console/actions/signIn/settings"))
    assert shown.find("input", attrs={"name": "review_deadline_minutes"})["value"] == "90"
    assert checked_value(shown, "review_overdue_policy") == "AUTO_REJECT"

    admin.post("/console/actions/signIn/settings", data={**SETTINGS, "review_deadline_minutes": ""})
    assert _config(app, "signIn").review_deadline_minutes is None  # empty: no deadline


def test_requiring_a_device_bound_passkey_is_a_checkbox_of_the_settings_tab(app, admin, tenant):
    make_action(app, tenant.id, "signIn")
    assert parse(admin.get("/console/actions/signIn/settings")).find(
        "input", attrs={"name": "require_device_bound_passkey"}).get("checked") is None

    response = admin.post("/console/actions/signIn/settings", data={**SETTINGS, "require_device_bound_passkey": "y"})

    assert response.status_code == 303
    assert _config(app, "signIn").require_device_bound_passkey is True
    (event,) = audit_events(app, "action.updated")
    assert (event.before["requireDeviceBoundCredential"], event.after["requireDeviceBoundCredential"]) == (False, True)
    assert parse(admin.get("/console/actions/signIn/settings")).find(
        "input", attrs={"name": "require_device_bound_passkey"}).get("checked") is not None


@pytest.mark.parametrize("minutes", ["0", "525601", "ninety"])
def test_a_review_deadline_out_of_range_is_refused_beside_its_field(app, admin, tenant, minutes):
    make_action(app, tenant.id, "signIn")

    response = admin.post("/console/actions/signIn/settings", data={**SETTINGS, "review_deadline_minutes": minutes})

    assert response.status_code == 400
    assert field_error(response, "review_deadline_minutes") == "Enter 1 to 525,600 minutes, or leave it empty."
    assert _config(app, "signIn").review_deadline_minutes is None


def test_settings_errors_re_render_in_place(app, admin, tenant):
    make_action(app, tenant.id, "signIn")
    data = {"name": "", "default_outcome": "ALLOW", "verification_methods": ["PASSKEY"], "unenrolled_policy": "ALLOW"}

    full = admin.post("/console/actions/signIn/settings", data=data)
    fragment = admin.post("/console/actions/signIn/settings", data=data, htmx=True)

    assert full.status_code == 400 and not is_fragment(full) and field_error(full, "name") == "Give the action a name."
    assert fragment.status_code == 400 and is_fragment(fragment)
    assert field_error(fragment, "name") == "Give the action a name."


def test_delete_asks_first_and_says_history_is_kept(app, admin, tenant, api):
    make_action(app, tenant.id, "signIn", rules=[rule("All", 0, "REVIEW")])
    _track(api, "u1", "signIn")

    page = text_of(parse(admin.get("/console/actions/signIn/delete")).find("main"))
    assert "History is kept" in page and "1 tracked action stay" in page
    assert _config(app, "signIn") is not None

    response = admin.post("/console/actions/signIn/delete")

    assert response.status_code == 303 and response.headers["Location"] == "/console/actions"
    assert _config(app, "signIn") is None and _count(app, Rule) == 0
    with app.app_context():
        kept = db.session.execute(select(UserAction)).scalar_one()
        assert kept.action_code == "signIn" and kept.action_configuration_id is None
    (event,) = audit_events(app, "action.deleted")
    assert event.before["code"] == "signIn" and event.before["rules"][0]["name"] == "All"


# ---------------------------------------------------------------------------------------------
# Test action


def _simulate(admin, code="withdraw", htmx=True, **data):
    form = {"user_id": "u1", "custom": "{}", "ip_address": "", "device_id": "", "user_agent": "", **data}
    return admin.post(f"/console/actions/{code}/test", data=form, htmx=htmx)


def _verdict(response) -> tuple[str, list[str]]:
    """What Test action says the outcome is and the state the action would start in: the line's text and its badges."""
    verdict = parse(response).select_one("#test-result p.verdict")
    return text_of(verdict), outcome_badges(verdict)


def _trace(response):
    return parse(response).select_one("#test-result .decision-trace")


@pytest.fixture
def withdraw(app, tenant):
    return make_action(app, tenant.id, "withdraw", rules=[
        rule("Known device", 0, "ALLOW", {"==": [{"var": "device.id"}, "trusted"]}),
        rule("Large amount", 1, "CHALLENGE", {">": [{"var": "custom.amount"}, 1000]}),
        rule("Block bad IP", 2, "BLOCK", {"in": [{"var": "ip.address"}, ["203.0.113.66"]]}),
    ])


def test_test_action_shows_outcome_deciding_rule_and_trace(admin, withdraw):
    response = _simulate(admin, custom='{"amount": 5000}', ip_address="203.0.113.66")

    panel = fragment_root(response)
    assert response.status_code == 200 and panel.get("id") == "test-panel"
    # unenrolled: the action would be ALLOW
    assert _verdict(response) == ("Outcome Challenge → the action would start as Allow", ["CHALLENGE", "ALLOW"])
    trace = _trace(response)
    decided = trace.find("p")
    assert text_of(decided).startswith("Decided by the rule Large amount (position 2 of 3")
    assert text_of(decided.strong) == "Large amount"
    assert "Unknown user: treated as a new user" in text_of(panel.select_one(".result"))
    # every rule and condition is traced, with what was observed
    known, large, block = trace.select("details")
    assert text_of(known.summary).startswith("1. Known device") and "did not match" in text_of(known.summary)
    assert text_of(block.summary).startswith("3. Block bad IP")
    assert text_of(large.find("span", title=">")) == "greater than"
    [amount] = table_rows(large)
    assert (amount["Operator"], amount["Observed"], amount["Expected"]) == ("greater than", "5000", "1000")
    assert table_rows(block)[0]["Observed"] == '"203.0.113.66"'


def test_test_action_uses_an_existing_users_enrolment(admin, withdraw, api):
    _track(api, "enrolled", "signIn")
    enroll_authenticator_app(api, "enrolled")

    response = _simulate(admin, user_id="enrolled", custom='{"amount": 5000}')

    assert "Known user; enrolled methods: Authenticator app" in text_of(parse(response).select_one("#test-result .result"))
    assert _verdict(response)[1] == ["CHALLENGE", "CHALLENGE_REQUIRED"]


@pytest.mark.parametrize(("policy", "state", "reason"), [
    ("ALLOW", "ALLOW", "and the action lets unenrolled users through."),
    ("REQUIRE_ENROLLMENT", "CHALLENGE_REQUIRED", "and the action requires enrolment: the hosted page enrols them first."),
    ("BLOCK", "BLOCK", "and the action blocks unenrolled users."),
])
def test_test_action_says_why_an_unenrolled_user_is_not_challenged(app, admin, tenant, policy, state, reason):
    make_action(app, tenant.id, "payout", unenrolled_policy=policy,
                rules=[rule("Always", 0, "CHALLENGE", {">": [{"var": "custom.amount"}, 0]})])

    response = _simulate(admin, code="payout", user_id="nobody", custom='{"amount": 5}')

    verdict, badges = _verdict(response)
    assert verdict.endswith(f"would start as {label(state)}") and badges[-1] == state
    reason_given = parse(response).select_one("#test-result p.verdict-reason")
    assert text_of(reason_given) == f"Because this user has no authenticator {reason}"


def test_test_action_names_enrolled_methods_the_action_does_not_accept(app, admin, tenant, api):
    make_action(app, tenant.id, "payout", verification_methods=["PASSKEY"], unenrolled_policy="BLOCK",
                rules=[rule("Always", 0, "CHALLENGE")])
    _track(api, "totp-only", "signIn")
    enroll_authenticator_app(api, "totp-only")

    reason = parse(_simulate(admin, code="payout", user_id="totp-only")).select_one("#test-result p.verdict-reason")

    assert text_of(reason) == ("Because none of this user's authenticators (Authenticator app) is allowed for this action "
                               "and the action blocks unenrolled users.")


def test_test_action_gives_no_enrolment_reason_when_the_outcome_stands(admin, withdraw, api):
    _track(api, "enrolled", "signIn")
    enroll_authenticator_app(api, "enrolled")

    challenged = parse(_simulate(admin, user_id="enrolled", custom='{"amount": 5000}'))
    allowed = parse(_simulate(admin, custom='{"amount": 10}'))

    assert challenged.select_one("p.verdict") and allowed.select_one("p.verdict")
    assert challenged.select(".verdict-reason") == [] and allowed.select(".verdict-reason") == []


def test_test_action_default_outcome_when_nothing_matches(admin, withdraw):
    trace = _trace(_simulate(admin, custom='{"amount": 10}'))

    assert text_of(trace.find("p")) == "No active rule matched, so the default outcome (ALLOW) applies."


def test_test_action_without_js_renders_the_whole_page(admin, withdraw):
    response = _simulate(admin, htmx=False, custom='{"amount": 5000}')

    assert response.status_code == 200 and not is_fragment(response)
    decided = _trace(response).find("p")
    assert text_of(decided).startswith("Decided by the rule Large amount") and text_of(decided.strong) == "Large amount"


@pytest.mark.parametrize(("data", "message"), [
    ({"custom": "{amount: 5}"}, "Not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)."),
    ({"custom": "[1, 2]"}, "Custom data must be a JSON object"),
    ({"custom": '{"amount": 1e400}'}, "amount: number out of range"),
    ({"custom": '{"amount": NaN}'}, "amount: not a finite number"),
    ({"custom": '{"amount": NaN'}, "Not valid JSON: Expecting ',' delimiter (line 1, column 15)."),
    ({"custom": '{"tags": ' + "[" * 10_000 + "]" * 10_000 + "}"}, "JSON nested too deeply (limit 64)."),
    ({"user_id": ""}, "Enter the user id to test with."),
    ({"ip_address": "not-an-ip"}, "ipAddress"),
])
def test_test_action_errors_are_inline(admin, withdraw, data, message):
    response = _simulate(admin, **data)

    assert response.status_code == 400 and message in text_of(parse(response).find(id="test-panel"))
    assert is_fragment(response)
    assert _simulate(admin, htmx=False, **data).status_code == 400


def test_test_action_writes_nothing(app, admin, withdraw, api):
    _track(api, "existing", "withdraw")
    tables = (UserAction, EndUser, ActionConfiguration, Rule, AuditEvent)
    before = {model.__name__: _count(app, model) for model in tables}

    for user_id in ("existing", "brand-new-user"):
        _simulate(admin, user_id=user_id, custom='{"amount": 5000}', ip_address="203.0.113.9", device_id="d1")
    _simulate(admin, code="withdraw", user_id="x", custom="oops")
    assert admin.post("/console/actions/never-tracked/test", data={"user_id": "u"}, htmx=True).status_code == 404

    assert {model.__name__: _count(app, model) for model in tables} == before
    assert _config(app, "never-tracked") is None


def test_test_action_decides_exactly_like_tracking(app, admin, withdraw, api):
    tracked = _track(api, "same", "withdraw", custom={"amount": 5000}, deviceId="d9")
    simulated = _simulate(admin, user_id="same", custom='{"amount": 5000}', device_id="d9")

    assert _verdict(simulated)[1][-1] == tracked["state"]


def test_test_action_points_out_a_custom_value_of_the_wrong_type(app, tenant, admin, withdraw):
    from tests.api.test_track_custom_data import make_data_point

    make_data_point(app, tenant.id, "amount", "number")

    response = _simulate(admin, custom='{"amount": "5000"}')

    notice = _trace(response).select_one('.notice[role="note"]')
    assert "Custom values of the wrong type were treated as not sent" in text_of(notice)
    [wrong] = notice.find_all("li")
    assert text_of(wrong).startswith("custom.amount: expected number, received text") and text_of(wrong.code) == "custom.amount"
    assert "Large amount" in text_of(_trace(response)) and _verdict(response)[1][0] != "CHALLENGE"



# -- the first run ----------------------------------------------------------------------------------


def test_until_the_first_event_the_actions_page_says_how_to_send_one(app, admin, tenant):
    page = parse(admin.get("/console/actions"))

    panel = page.find("section", attrs={"aria-labelledby": "getting-started-title"})
    facts = definitions(panel)
    assert facts["Tenant id"] == tenant.id and facts["API URL"] == "http://localhost:5000/v1"
    assert facts["Secret key"].startswith("starts with tg_sk_; yours end with …")
    curl = text_of(panel.find("pre", attrs={"aria-labelledby": "snippet-curl"}))
    assert curl.startswith('curl -u "$TOLLGATE_API_SECRET_KEY:"') and "http://localhost:5000/v1/users/alice/actions/" in curl
    status = panel.find(id="first-event")
    assert (text_of(status), status["hx-trigger"], status["hx-get"]) == (
        "Waiting for your first event…", "every 3s", "/console/actions/first-event")


def test_the_poll_turns_into_the_first_event_and_stops_asking(app, admin, tenant, api):
    waiting = fragment_root(admin.get("/console/actions/first-event", headers={"HX-Request": "true"}))
    assert waiting.get("hx-trigger") == "every 3s"

    _track(api, "alice", "signIn")

    done = fragment_root(admin.get("/console/actions/first-event", headers={"HX-Request": "true"}))
    assert text_of(done).startswith("First event received: alice tracked signIn") and done.get("hx-trigger") is None
    assert done.find("a", string="See it in Activity")["href"].startswith("/console/activity/")
    assert parse(admin.get("/console/actions")).find(id="getting-started-title") is None  # its job is done
