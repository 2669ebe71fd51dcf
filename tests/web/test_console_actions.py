"""Console actions: the list with last week's outcomes, create, settings, activity, delete, Test action."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.domain.decision import ActionState, Outcome
from app.extensions import db
from app.models import ActionConfiguration, AuditEvent, EndUser, Rule, UserAction
from app.models.base import utcnow
from tests.factories import enroll_authenticator_app, make_action, rule
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

    page = admin.get("/console/actions").get_data(as_text=True)

    assert "Create a new action" in page and 'href="/console/actions/new"' in page
    withdraw = page[page.index("<code>withdraw</code>"):]  # listed by code: signIn first
    assert '<span class="badge CHALLENGE">CHALLENGE</span>' in withdraw
    assert '<td data-label="Active rules">1</td>' in withdraw  # one active rule
    assert 'aria-label="ALLOW 1, CHALLENGE 0, REVIEW 0, BLOCK 1"' in withdraw
    assert 'class="bars"' in withdraw and '<rect class="BLOCK"' in withdraw
    assert "No activity" in page[page.index("<code>signIn</code>"):page.index("<code>withdraw</code>")]


def test_outcome_counts_come_from_one_grouped_query(app, tenant, api):
    from app.services.action_stats import bucket_for, outcome_counts

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
    page = admin.get("/console/actions/new").get_data(as_text=True)

    assert "<html" in page and 'id="action-form"' in page and 'hx-post="/console/actions/new"' in page
    for label in ('<label for="code">', '<label for="name">', '<legend>Allowed verification methods</legend>',
                  "Ask them to set up a method first"):
        assert label in page


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


@pytest.mark.parametrize(("changes", "message"), [
    ({"code": "has space"}, "Use 1-64 letters, digits, &#39;_&#39; or &#39;-&#39;"),
    ({"code": ""}, "Enter a code."),
    ({"code": "x" * 65}, "Use 1-64 letters"),
    ({"code": "new"}, "is reserved"),
    ({"verification_methods": []}, "Allow at least one verification method."),
    ({"verification_methods": ["AUTHENTICATOR_APP"]}, "The default method must be one of the allowed methods."),
])
def test_create_errors_are_shown_next_to_the_field(app, admin, changes, message):
    response = admin.post("/console/actions/new", data={**VALID, **changes})

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<html" in page and message in page and 'aria-invalid="true"' in page
    assert _count(app, ActionConfiguration) == 0


def test_create_errors_with_htmx_swap_only_the_form(admin):
    response = admin.post("/console/actions/new", data={**VALID, "code": "bad code"}, htmx=True)

    page = response.get_data(as_text=True)
    assert response.status_code == 400  # the console's htmx config swaps 400s
    assert "<html" not in page and page.lstrip().startswith('<form id="action-form"')
    assert "Use 1-64 letters" in page and 'value="bad code"' in page


def test_duplicate_codes_are_refused_in_place(app, admin, tenant):
    make_action(app, tenant.id, "withdraw-funds")

    response = admin.post("/console/actions/new", data=VALID)

    assert response.status_code == 400 and "already exists" in response.get_data(as_text=True)


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


def test_action_page_has_rules_activity_and_settings_tabs(app, admin, tenant):
    make_action(app, tenant.id, "signIn")

    page = admin.get("/console/actions/signIn").get_data(as_text=True)

    assert 'href="/console/actions/signIn/rules" aria-current="page">Rules' in page
    assert 'href="/console/actions/signIn/activity"' in page and 'href="/console/actions/signIn/settings"' in page
    assert "First match wins, from the top." in page and "Test action" in page


def test_an_action_tracked_as_new_opens_beside_the_create_form(app, admin, api):
    _track(api, "u1", "new")  # Authsignal accepts any code, "new" included

    listing = admin.get("/console/actions").get_data(as_text=True)
    page = admin.get("/console/actions/new/rules").get_data(as_text=True)

    assert 'href="/console/actions/new/rules"><code>new</code>' in listing
    assert 'href="/console/actions/new/rules" aria-current="page">Rules' in page
    assert 'id="action-form"' in admin.get("/console/actions/new").get_data(as_text=True)  # still the form


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

    page = admin.get("/console/actions/signIn/activity").get_data(as_text=True)

    assert first["state"] == second["state"] == "ALLOW"
    assert page.index("<td>u2</td>") < page.index("<td>u1</td>")
    assert "<td>u3</td>" not in page
    assert f'href="/console/activity/{ids["u1"]}"' in page
    assert 'href="/console/activity?action=signIn"' in page  # everything, paged, in Activity


def test_settings_change_everything_but_the_code_and_are_audited(app, admin, tenant):
    make_action(app, tenant.id, "signIn")
    page = admin.get("/console/actions/signIn/settings").get_data(as_text=True)
    assert 'value="signIn" readonly' in page

    response = admin.post("/console/actions/signIn/settings", data={
        "code": "renamed", "name": "Sign in", "default_outcome": "REVIEW", "verification_methods": ["PASSKEY"],
        "default_verification_method": "", "unenrolled_policy": "BLOCK"})

    assert response.status_code == 303
    config = _config(app, "signIn")
    assert config.name == "Sign in" and config.default_outcome is Outcome.REVIEW
    assert config.verification_methods == ["PASSKEY"] and config.unenrolled_policy.value == "BLOCK"
    (event,) = audit_events(app, "action.updated")
    assert event.before["defaultOutcome"] == "ALLOW" and event.after["defaultOutcome"] == "REVIEW"


def test_settings_errors_re_render_in_place(app, admin, tenant):
    make_action(app, tenant.id, "signIn")
    data = {"name": "", "default_outcome": "ALLOW", "verification_methods": ["PASSKEY"], "unenrolled_policy": "ALLOW"}

    full = admin.post("/console/actions/signIn/settings", data=data)
    fragment = admin.post("/console/actions/signIn/settings", data=data, htmx=True)

    assert full.status_code == 400 and "Give the action a name." in full.get_data(as_text=True)
    assert fragment.status_code == 400 and "<html" not in fragment.get_data(as_text=True)
    assert "Give the action a name." in fragment.get_data(as_text=True)


def test_delete_asks_first_and_says_history_is_kept(app, admin, tenant, api):
    make_action(app, tenant.id, "signIn", rules=[rule("All", 0, "REVIEW")])
    _track(api, "u1", "signIn")

    page = admin.get("/console/actions/signIn/delete").get_data(as_text=True)
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


@pytest.fixture
def withdraw(app, tenant):
    return make_action(app, tenant.id, "withdraw", rules=[
        rule("Known device", 0, "ALLOW", {"==": [{"var": "device.id"}, "trusted"]}),
        rule("Large amount", 1, "CHALLENGE", {">": [{"var": "custom.amount"}, 1000]}),
        rule("Block bad IP", 2, "BLOCK", {"in": [{"var": "ip.address"}, ["203.0.113.66"]]}),
    ])


def test_test_action_shows_outcome_deciding_rule_and_trace(admin, withdraw):
    response = _simulate(admin, custom='{"amount": 5000}', ip_address="203.0.113.66")

    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in page and 'id="test-panel"' in page
    assert 'Outcome <span class="badge CHALLENGE">CHALLENGE</span>' in page
    assert "Decided by the rule <strong>Large amount</strong> (position 2 of 3" in page
    assert "Unknown user: treated as a new user" in page
    assert "<span class=\"badge ALLOW\">ALLOW</span></p>" in page  # unenrolled: the action would be ALLOW
    # every rule and condition is traced, with what was observed
    assert "1. Known device" in page and "did not match" in page and "3. Block bad IP" in page
    assert '<span title="&gt;">greater than</span>' in page
    assert '<td class="wrap" data-label="Observed"><code>5000</code></td>' in page
    assert '<td class="wrap" data-label="Expected"><code>1000</code></td>' in page
    assert '<td class="wrap" data-label="Observed"><code>&#34;203.0.113.66&#34;</code></td>' in page


def test_test_action_uses_an_existing_users_enrolment(admin, withdraw, api):
    _track(api, "enrolled", "signIn")
    enroll_authenticator_app(api, "enrolled")

    page = _simulate(admin, user_id="enrolled", custom='{"amount": 5000}').get_data(as_text=True)

    assert "Known user; enrolled methods: AUTHENTICATOR_APP" in page
    assert '<span class="badge CHALLENGE_REQUIRED">CHALLENGE_REQUIRED</span>' in page


@pytest.mark.parametrize(("policy", "state", "reason"), [
    ("ALLOW", "ALLOW", "and the action lets unenrolled users through."),
    ("REQUIRE_ENROLLMENT", "CHALLENGE_REQUIRED", "and the action requires enrolment: the hosted page enrols them first."),
    ("BLOCK", "BLOCK", "and the action blocks unenrolled users."),
])
def test_test_action_says_why_an_unenrolled_user_is_not_challenged(app, admin, tenant, policy, state, reason):
    make_action(app, tenant.id, "payout", unenrolled_policy=policy,
                rules=[rule("Always", 0, "CHALLENGE", {">": [{"var": "custom.amount"}, 0]})])

    page = _simulate(admin, code="payout", user_id="nobody", custom='{"amount": 5}').get_data(as_text=True)

    assert f'would start as <span class="badge {state}">{state}</span></p>' in page
    assert '<p class="verdict-reason">' in page
    assert " ".join(page.split("verdict-reason")[1].split()).startswith(
        f'">Because this user has no authenticator {reason}</p>')


def test_test_action_names_enrolled_methods_the_action_does_not_accept(app, admin, tenant, api):
    make_action(app, tenant.id, "payout", verification_methods=["PASSKEY"], unenrolled_policy="BLOCK",
                rules=[rule("Always", 0, "CHALLENGE")])
    _track(api, "totp-only", "signIn")
    enroll_authenticator_app(api, "totp-only")

    page = " ".join(_simulate(admin, code="payout", user_id="totp-only").get_data(as_text=True).split())

    assert ("Because none of this user's authenticators (AUTHENTICATOR_APP) is allowed for this action "
            "and the action blocks unenrolled users.") in page


def test_test_action_gives_no_enrolment_reason_when_the_outcome_stands(admin, withdraw, api):
    _track(api, "enrolled", "signIn")
    enroll_authenticator_app(api, "enrolled")

    challenged = _simulate(admin, user_id="enrolled", custom='{"amount": 5000}').get_data(as_text=True)
    allowed = _simulate(admin, custom='{"amount": 10}').get_data(as_text=True)

    assert "verdict-reason" not in challenged and "verdict-reason" not in allowed


def test_test_action_default_outcome_when_nothing_matches(admin, withdraw):
    page = _simulate(admin, custom='{"amount": 10}').get_data(as_text=True)

    assert "No active rule matched, so the default outcome (ALLOW) applies." in page


def test_test_action_without_js_renders_the_whole_page(admin, withdraw):
    response = _simulate(admin, htmx=False, custom='{"amount": 5000}')

    assert response.status_code == 200 and "<html" in response.get_data(as_text=True)
    assert "Decided by the rule <strong>Large amount</strong>" in response.get_data(as_text=True)


@pytest.mark.parametrize(("data", "message"), [
    ({"custom": "{amount: 5}"}, "Not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)."),
    ({"custom": "[1, 2]"}, "Custom data must be a JSON object"),
    ({"custom": '{"amount": 1e400}'}, "amount: number out of range"),
    ({"custom": '{"amount": NaN}'}, "amount: not a finite number"),
    ({"custom": '{"tags": ' + "[" * 10_000 + "]" * 10_000 + "}"}, "JSON nested too deeply (limit 64)."),
    ({"user_id": ""}, "Enter the user id to test with."),
    ({"ip_address": "not-an-ip"}, "ipAddress"),
])
def test_test_action_errors_are_inline(admin, withdraw, data, message):
    response = _simulate(admin, **data)

    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert "<html" not in response.get_data(as_text=True)
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
    page = _simulate(admin, user_id="same", custom='{"amount": 5000}', device_id="d9").get_data(as_text=True)

    assert f'<span class="badge {tracked["state"]}">{tracked["state"]}</span></p>' in page


def test_test_action_points_out_a_custom_value_of_the_wrong_type(app, tenant, admin, withdraw):
    from tests.api.test_track_custom_data import make_data_point

    make_data_point(app, tenant.id, "amount", "number")

    page = _simulate(admin, custom='{"amount": "5000"}').get_data(as_text=True)

    assert "Custom values of the wrong type were treated as not sent" in page
    assert "<code>custom.amount</code>: expected number, received text" in page
    assert "Large amount" in page and 'Outcome <span class="badge CHALLENGE">' not in page
