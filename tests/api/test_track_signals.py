"""Risk signals through the track endpoint: rules on each signal change the outcome, and an action
whose rules read no signal pays no query for them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Authenticator, EndUser, Tenant, UserAction
from app.services.decisions import signals as signal_service
from app.services.decisions.simulator import simulate_action
from app.services.rulesets import custom_lists, network_lists
from tests.conftest import ApiClient
from tests.factories import enroll_authenticator_app, make_action, rule
from tests.mmdb_fixture import write_city_mmdb
from tests.sql_statements import statements

BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")


def var(path):
    return {"var": path}


def track(api, user_id="alice", action="withdraw-funds", **body):
    response = api.post(f"/users/{user_id}/actions/{action}", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def state(api, **body):
    return track(api, **body)["state"]


def with_rule(app, tenant, conditions, outcome="BLOCK", action="withdraw-funds"):
    make_action(app, tenant.id, action, rules=[rule("Signal rule", 0, outcome, conditions)])


def age_actions(app, user_id, by: timedelta):
    """Move a user's stored actions back in time (the clock stays real)."""
    with app.app_context():
        for action in db.session.execute(select(UserAction).where(UserAction.user_id == user_id)).scalars():
            action.created_at = action.created_at - by
        db.session.commit()


@pytest.fixture
def geoip(app, tmp_path):
    """TOLLGATE_GEOIP_CITY_DB pointing at a small fixture file, for this test only."""
    original = app.config["TOLLGATE"]
    app.config["TOLLGATE"] = dataclasses.replace(original, geoip_city_db=write_city_mmdb(tmp_path / "city.mmdb"))
    yield
    app.config["TOLLGATE"] = original


# --- pay nothing when unused ----------------------------------------------------------------------

def test_rules_reading_no_signal_run_no_signal_query(api, app, tenant):
    with_rule(app, tenant, {">": [var("custom.amount"), 1000]})
    track(api, deviceId="d1", ipAddress="8.8.8.8")  # warm: user, config and rule caches
    with statements(app) as plain:
        track(api, deviceId="d1", ipAddress="8.8.8.8")

    with_rule(app, tenant, {"and": [{"==": [var("device.isNew"), True]}, {">": [var("velocity.user.actionCount.1h"), 50]}]},
              action="sign-in")
    track(api, action="sign-in", deviceId="d1", ipAddress="8.8.8.8")
    with statements(app) as signalled:
        track(api, action="sign-in", deviceId="d1", ipAddress="8.8.8.8")

    assert not any("user_action" in s and s.lstrip().upper().startswith("SELECT") for s in plain)
    reads = [s for s in signalled if "user_action" in s and s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 2  # one history statement, one velocity statement
    assert len(signalled) == len(plain) + 2


def test_velocity_for_every_scope_and_window_is_one_statement(api, app, tenant):
    fields = [f"velocity.{scope}.{metric}.{window}" for scope, metrics in signal_service.domain.VELOCITY_METRICS.items()
              for metric in metrics for window in ("10m", "1h", "24h", "7d", "30d")]
    with_rule(app, tenant, {"or": [{">": [var(f), 10_000]} for f in fields]})
    track(api, deviceId="d1", ipAddress="8.8.8.8")
    with statements(app) as seen:
        body = track(api, deviceId="d1", ipAddress="8.8.8.8")
    assert len([s for s in seen if "user_action" in s and s.lstrip().upper().startswith("SELECT")]) == 1
    assert body["state"] == "ALLOW"


# --- device ---------------------------------------------------------------------------------------

def test_new_device_is_challenged_known_device_is_not(api, app, tenant):
    with_rule(app, tenant, {"==": [var("device.isNew"), True]}, outcome="REVIEW")

    assert state(api, deviceId="laptop") == "REVIEW_REQUIRED"
    assert state(api, deviceId="laptop") == "ALLOW"
    assert state(api, deviceId="phone") == "REVIEW_REQUIRED"
    assert state(api, user_id="bob", deviceId="laptop") == "REVIEW_REQUIRED"  # new for bob
    assert state(api) == "ALLOW"  # no device id: unknown, never "new"


def test_device_count_and_last_seen(api, app, tenant):
    with_rule(app, tenant, {">=": [var("device.count"), 3]})
    assert [state(api, deviceId=d) for d in ("a", "b", "a", "c")] == ["ALLOW", "ALLOW", "ALLOW", "BLOCK"]

    with_rule(app, tenant, {">": [var("device.lastSeenDaysAgo"), 30]}, action="sign-in", outcome="REVIEW")
    assert state(api, action="sign-in", deviceId="a") == "ALLOW"
    age_actions(app, "alice", timedelta(days=45))
    body = track(api, action="sign-in", deviceId="a")
    assert body["state"] == "REVIEW_REQUIRED"


def test_bot_browser_os_and_mobile_from_the_user_agent(api, app, tenant):
    with_rule(app, tenant, {"==": [var("device.isBot"), True]})
    assert state(api, userAgent=BOT) == "BLOCK"
    assert state(api, userAgent=CHROME) == "ALLOW"

    make_action(app, tenant.id, "sign-in", rules=[
        rule("iPhones", 0, "REVIEW", {"and": [{"==": [var("device.isMobile"), True]}, {"==": [var("device.os"), "iOS"]}]}),
        rule("Chrome", 1, "BLOCK", {"==": [var("device.browser"), "Chrome"]}),
    ])
    assert state(api, action="sign-in", userAgent=IPHONE) == "REVIEW_REQUIRED"
    assert state(api, action="sign-in", userAgent=CHROME) == "BLOCK"


# --- network --------------------------------------------------------------------------------------

def test_country_from_the_offline_table(api, app, tenant):
    with_rule(app, tenant, {"!": {"in": [var("ip.countryCode"), ["US", "GB"]]}})
    assert state(api, ipAddress="8.8.8.8") == "ALLOW"
    assert state(api, ipAddress="1.1.1.1") == "BLOCK"  # AU
    body = track(api, ipAddress="81.2.69.160")
    assert body["state"] == "ALLOW"
    with app.app_context():
        stored = db.session.execute(select(UserAction.country_code).order_by(UserAction.id.desc())).scalars().first()
    assert stored == "GB"  # kept on the action for later tracks


def test_unrecognized_ip(api, app, tenant):
    with_rule(app, tenant, {"==": [var("ip.isUnrecognized"), True]}, outcome="REVIEW")
    assert state(api, ipAddress="8.8.8.8") == "REVIEW_REQUIRED"
    assert state(api, ipAddress="8.8.8.8") == "ALLOW"
    assert state(api, ipAddress="2001:4860:4860::8888") == "REVIEW_REQUIRED"


def test_anonymous_ip_lists_v4_and_v6_take_effect_at_the_next_track(api, app, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Anonymous", 0, "BLOCK", {"==": [var("ip.isAnonymous"), True]}),
        rule("Office", 1, "REVIEW", {"in": ["office", var("ip.cidrLists")]}),
    ])
    assert state(api, ipAddress="185.220.101.7") == "ALLOW"
    with app.app_context():
        network_lists.import_network_list("tor", ["# exits", "185.220.101.0/24", "2a0b:f4c2::/32"],
                                           now=datetime.now(UTC))
        network_lists.import_network_list("office", ["192.0.2.0/24"], is_anonymous=False, now=datetime.now(UTC))
    assert state(api, ipAddress="185.220.101.7") == "BLOCK"
    assert state(api, ipAddress="2a0b:f4c2:2::1") == "BLOCK"
    assert state(api, ipAddress="192.0.2.10") == "REVIEW_REQUIRED"  # listed, not anonymous
    assert state(api, ipAddress="8.8.8.8") == "ALLOW"
    with app.app_context():
        report = network_lists.import_network_list("tor", ["2a0b:f4c2::/32"], now=datetime.now(UTC))
    assert report.version == 2
    assert state(api, ipAddress="185.220.101.7") == "ALLOW"  # re-imported without it


def _cidr_list(app, tenant_id, name, items, kind="cidrs"):
    """A tenant's custom list, the way `flask lists import` makes it (creates or replaces)."""
    with app.app_context():
        custom_lists.import_list_cli(tenant_id, name, "\n".join(items), kind=kind, replace=True, now=datetime.now(UTC))


def test_tenant_cidr_lists_feed_ip_cidr_lists_and_edits_take_effect_at_the_next_track(api, app, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Anonymous", 0, "BLOCK", {"==": [var("ip.isAnonymous"), True]}),
        rule("Office", 1, "REVIEW", {"in": ["office", var("ip.cidrLists")]}),
    ])
    assert state(api, ipAddress="198.51.100.7") == "ALLOW"  # no list yet
    _cidr_list(app, tenant.id, "office", ["198.51.100.0/24", "2001:db8:abcd::/48"])
    assert state(api, ipAddress="198.51.100.7") == "REVIEW_REQUIRED"  # a tenant list is never "anonymous"
    assert state(api, ipAddress="2001:db8:abcd:1::5") == "REVIEW_REQUIRED"
    assert state(api, ipAddress="::ffff:198.51.100.9") == "REVIEW_REQUIRED"  # IPv4-mapped
    assert state(api, ipAddress="198.51.101.7") == "ALLOW"

    _cidr_list(app, tenant.id, "office", ["198.51.101.0/24"])  # replaced: version 2, recompiled
    assert state(api, ipAddress="198.51.100.7") == "ALLOW"
    assert state(api, ipAddress="198.51.101.7") == "REVIEW_REQUIRED"

    _cidr_list(app, tenant.id, "office-names", ["198.51.100.7"], kind="strings")  # text, not ranges: not matched
    body = track(api, ipAddress="198.51.101.7")
    observed = {c["field"]: c["observed"] for c in _trace(app, body)}
    assert observed == {"ip.isAnonymous": False, "ip.cidrLists": ["office"]}


def test_ip_cidr_lists_name_tenant_and_instance_wide_lists_and_only_instance_lists_are_anonymous(api, app, tenant):
    with_rule(app, tenant, {"in": ["nothing-matches", var("ip.cidrLists")]})
    _cidr_list(app, tenant.id, "partners", ["185.220.0.0/16"])
    _cidr_list(app, tenant.id, "tor", ["185.220.101.7"])  # same name as an instance-wide list: named once
    with app.app_context():
        network_lists.import_network_list("tor", ["185.220.101.0/24"], now=datetime.now(UTC))
        network_lists.import_network_list("hosting", ["185.220.101.0/24"], is_anonymous=False, now=datetime.now(UTC))
        simulation = simulate_action(tenant.id, "withdraw-funds", "alice", {"ipAddress": "185.220.101.7"})
    observed = {c["field"]: c["observed"] for r in simulation.decision.output["rules"] for c in r["conditions"]}
    assert observed == {"ip.cidrLists": ["hosting", "partners", "tor"]}

    _cidr_list(app, tenant.id, "vpn-like", ["203.0.113.0/24"])
    with_rule(app, tenant, {"==": [var("ip.isAnonymous"), True]}, action="sign-in")
    assert state(api, action="sign-in", ipAddress="203.0.113.5") == "ALLOW"  # in a tenant list: not anonymous
    assert state(api, action="sign-in", ipAddress="185.220.101.9") == "BLOCK"


def _other_tenant(app) -> tuple[str, ApiClient]:
    from app.services.tenancy.api_keys import create_api_key

    with app.app_context():
        row = Tenant(name="Other tenant")
        db.session.add(row)
        db.session.commit()
        _, raw = create_api_key(row.id, name="other", settings=app.config["TOLLGATE"])
        return row.id, ApiClient(app.test_client(), raw)


def test_another_tenants_cidr_lists_never_match(api, app, tenant):
    other_id, other_api = _other_tenant(app)
    with_rule(app, tenant, {"in": ["office", var("ip.cidrLists")]}, outcome="REVIEW")
    make_action(app, other_id, "withdraw-funds", rules=[rule("Office", 0, "REVIEW", {"in": ["office", var("ip.cidrLists")]})])
    _cidr_list(app, other_id, "office", ["192.0.2.0/24"])

    assert state(api, ipAddress="192.0.2.10") == "ALLOW"  # the other tenant's list
    assert state(other_api, ipAddress="192.0.2.10") == "REVIEW_REQUIRED"  # its own list, compiled and cached

    _cidr_list(app, tenant.id, "office", ["10.0.0.0/8"])  # same name, this tenant's own ranges
    assert state(api, ipAddress="192.0.2.10") == "ALLOW"
    assert state(api, ipAddress="10.1.2.3") == "REVIEW_REQUIRED"
    assert state(other_api, ipAddress="10.1.2.3") == "ALLOW"


def _list_reads(seen: list[str]) -> list[str]:
    return [s for s in seen if ("network_list" in s or "custom_list" in s) and s.lstrip().upper().startswith("SELECT")]


def test_cidr_lists_cost_one_version_query_per_track_once_compiled(api, app, tenant):
    with_rule(app, tenant, {"or": [{"==": [var("ip.isAnonymous"), True]}, {"in": ["office", var("ip.cidrLists")]}]})
    _cidr_list(app, tenant.id, "office", ["192.0.2.0/24"])
    _cidr_list(app, tenant.id, "branch", ["198.51.100.0/24"])
    with app.app_context():
        network_lists.import_network_list("tor", ["185.220.101.0/24"], now=datetime.now(UTC))
    with statements(app) as first:
        assert state(api, ipAddress="192.0.2.1") == "BLOCK"
    with statements(app) as cached:
        assert state(api, ipAddress="185.220.101.1") == "BLOCK"
    with statements(app) as plain_miss:
        assert state(api, ipAddress="8.8.8.8") == "ALLOW"

    assert len(_list_reads(first)) == 3  # versions; then the tenant's lists' items, the network list's CIDRs
    assert len(_list_reads(cached)) == len(_list_reads(plain_miss)) == 1  # one UNION ALL of both tables' versions
    assert "custom_list" in _list_reads(cached)[0] and "network_list" in _list_reads(cached)[0]

    with_rule(app, tenant, {"==": [var("ip.isAnonymous"), True]}, action="sign-in")
    with statements(app) as anonymous_only:
        state(api, action="sign-in", ipAddress="8.8.8.8")
    reads = _list_reads(anonymous_only)
    assert len(reads) == 1 and "custom_list" not in reads[0]  # tenant lists never make an address anonymous


def test_a_list_file_with_bad_lines_is_refused(app):
    from app.domain.errors import InvalidRequest

    with app.app_context(), pytest.raises(InvalidRequest, match="line 2"):
        network_lists.import_network_list("tor", ["10.0.0.0/8", "10.0.0.300"], now=datetime.now(UTC))


# --- travel ---------------------------------------------------------------------------------------

def test_travel_fields_are_null_without_a_city_database(api, app, tenant):
    with_rule(app, tenant, {"or": [{"==": [var("ip.impossibleTravel"), True]}, {"==": [var("ip.atypicalTravel"), True]},
                                   {"==": [var("ip.city"), "London"]}]})
    track(api, ipAddress="81.2.69.160")
    body = track(api, ipAddress="175.16.199.5")
    assert body["state"] == "ALLOW"
    observed = {c["field"]: c["observed"] for c in _trace(app, body)}
    assert observed == {"ip.impossibleTravel": None, "ip.atypicalTravel": None, "ip.city": None}


def test_impossible_travel_with_a_city_database(api, app, tenant, geoip):
    with_rule(app, tenant, {"==": [var("ip.impossibleTravel"), True]})
    assert state(api, ipAddress="81.2.69.160") == "ALLOW"  # London, nothing before
    assert state(api, ipAddress="81.2.70.9") == "ALLOW"  # Croydon, next door
    assert state(api, ipAddress="175.16.199.5") == "BLOCK"  # Changchun a moment later
    age_actions(app, "alice", timedelta(hours=12))
    body = track(api, ipAddress="216.160.83.1")  # Changchun → Milton, WA in 12 h: an airliner's speed
    assert body["state"] == "ALLOW"
    observed = {c["field"]: c["observed"] for c in _trace(app, body)}
    assert observed["ip.impossibleTravel"] is False


def test_atypical_country_and_city_with_a_city_database(api, app, tenant, geoip):
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("New country", 0, "REVIEW", {"==": [var("ip.atypicalTravel"), True]}),
        rule("Oslo", 1, "BLOCK", {"==": [var("ip.city"), "Oslo"]}),
    ])
    assert state(api, ipAddress="81.2.69.160") == "ALLOW"  # no history: not atypical
    assert state(api, ipAddress="89.160.20.1") == "REVIEW_REQUIRED"  # Sweden, never seen
    assert state(api, ipAddress="89.160.20.1") == "ALLOW"
    age_actions(app, "alice", timedelta(days=100))
    assert state(api, ipAddress="2a02:cf40::1") == "BLOCK"  # Oslo (atypical, outside 90 days too)
    with app.app_context():
        row = db.session.execute(select(UserAction).order_by(UserAction.id.desc())).scalars().first()
    assert (row.country_code, row.city, round(row.latitude, 2)) == ("NO", "Oslo", 59.91)


# --- user -----------------------------------------------------------------------------------------

def test_skip_the_challenge_if_verified_in_the_last_ten_minutes(api, app, tenant):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", rules=[
        rule("Recently verified", 0, "ALLOW", {"<": [var("user.lastVerifiedMinutesAgo"), 10]}),
    ])
    enroll_authenticator_app(api, "alice")
    assert state(api) == "CHALLENGE_REQUIRED"
    with app.app_context():
        user_id = db.session.execute(select(EndUser.id).where(EndUser.user_id == "alice")).scalar_one()
        db.session.execute(update(Authenticator).where(Authenticator.end_user_id == user_id)
                           .values(last_verified_at=datetime.now(UTC) - timedelta(minutes=3)))
        db.session.commit()
    assert state(api) == "ALLOW"


def test_account_age_previous_verification_and_failed_challenges(api, app, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Failing", 0, "BLOCK", {">=": [var("user.failedChallengesLastHour"), 2]}),
        rule("Young, never verified", 1, "REVIEW", {"and": [{"<": [var("user.accountAgeDays"), 7]},
                                                            {"==": [var("user.hasPreviouslyVerified"), False]}]}),
    ])
    assert state(api) == "REVIEW_REQUIRED"
    with app.app_context():
        user = db.session.execute(select(EndUser).where(EndUser.user_id == "alice")).scalar_one()
        user.created_at = datetime.now(UTC) - timedelta(days=30)
        from app.models import VerificationAttempt

        for minutes in (5, 20, 90):
            db.session.add(VerificationAttempt(end_user_id=user.id, verification_method="AUTHENTICATOR_APP",
                                               attempted_at=datetime.now(UTC) - timedelta(minutes=minutes)))
        db.session.commit()
    assert state(api) == "BLOCK"


# --- velocity -------------------------------------------------------------------------------------

def test_user_velocity_counts_this_code_and_all_codes(api, app, tenant):
    with_rule(app, tenant, {">": [var("velocity.user.actionCodeCount.10m"), 3]}, outcome="REVIEW")
    with_rule(app, tenant, {">": [var("velocity.user.actionCount.1h"), 5]}, action="sign-in")
    assert [state(api) for _ in range(4)] == ["ALLOW", "ALLOW", "ALLOW", "REVIEW_REQUIRED"]
    age_actions(app, "alice", timedelta(minutes=11))  # out of the 10 minutes, still in the hour
    assert state(api) == "ALLOW"
    assert state(api, action="sign-in") == "BLOCK"  # 6 actions of any code in the hour


def test_distinct_users_per_device_and_ip(api, app, tenant):
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Stuffing by device", 0, "BLOCK", {">=": [var("velocity.device.distinctUsers.1h"), 3]}),
        rule("Stuffing by IP", 1, "REVIEW", {">=": [var("velocity.ip.distinctUsers.24h"), 3]}),
    ])
    assert state(api, user_id="u1", deviceId="shared", ipAddress="8.8.8.8") == "ALLOW"
    assert state(api, user_id="u1", deviceId="shared", ipAddress="8.8.8.8") == "ALLOW"  # same user again
    assert state(api, user_id="u2", deviceId="shared", ipAddress="8.8.8.8") == "ALLOW"
    assert state(api, user_id="u3", deviceId="other", ipAddress="8.8.8.8") == "REVIEW_REQUIRED"
    assert state(api, user_id="u4", deviceId="shared", ipAddress="1.1.1.1") == "BLOCK"


def test_failed_challenges_velocity(api, app, tenant):
    with_rule(app, tenant, {">=": [var("velocity.ip.failedChallenges.1h"), 2]})
    for _ in range(2):
        track(api, ipAddress="8.8.8.8")
    assert state(api, ipAddress="8.8.8.8") == "ALLOW"
    with app.app_context():
        db.session.execute(update(UserAction).values(state="CHALLENGE_FAILED"))
        db.session.commit()
    assert state(api, ipAddress="8.8.8.8") == "BLOCK"
    assert state(api, ipAddress="1.1.1.1") == "ALLOW"


# --- visible in the trace and in the console's Test action ---------------------------------------

def _trace(app, body):
    with app.app_context():
        from app.services.decisions.action_state import get_action
        from app.services.decisions.replay import explanation

        action = db.session.execute(select(UserAction).where(UserAction.idempotency_key == body["idempotencyKey"])
                                    ).scalar_one()
        output = explanation(get_action(action.tenant_id, action.user_id, action.action_code, action.idempotency_key))
    return [c for r in output["rules"] for c in r["conditions"]]


def test_signals_are_observed_in_the_trace_and_the_test_action(api, app, tenant):
    with_rule(app, tenant, {"and": [{"==": [var("device.isNew"), True]}, {"==": [var("ip.countryCode"), "US"]},
                                    {">": [var("velocity.user.actionCount.10m"), 1]}]})
    track(api, deviceId="d1", ipAddress="8.8.8.8")
    body = track(api, deviceId="d2", ipAddress="8.8.8.8")
    assert body["state"] == "BLOCK"
    assert {c["field"]: c["observed"] for c in _trace(app, body)} == {
        "device.isNew": True, "ip.countryCode": "US", "velocity.user.actionCount.10m": 2}

    with app.app_context():
        simulation = simulate_action(tenant.id, "withdraw-funds", "alice", {"deviceId": "d1", "ipAddress": "1.1.1.1"})
    observed = {c["field"]: c["observed"] for r in simulation.decision.output["rules"] for c in r["conditions"]}
    assert observed == {"device.isNew": False}  # `and` stops at the first false
    assert simulation.state == "ALLOW"


def test_ip_lists_cli_imports_lists_and_deletes(api, app, tenant, tmp_path):
    with_rule(app, tenant, {"==": [var("ip.isAnonymous"), True]})
    runner = app.test_cli_runner()
    listed = tmp_path / "vpn.txt"
    listed.write_text("# a VPN provider\n203.0.113.0/24\n2001:db8:aa::/48\n")

    result = runner.invoke(args=["ip-lists", "import", "vpn", str(listed), "--description", "Example VPN"])
    assert result.exit_code == 0, result.output
    assert "Imported 2 CIDRs into 'vpn' (version 1)" in result.output
    assert "vpn\t2 CIDRs\tanonymous\tv1\tExample VPN" in runner.invoke(args=["ip-lists", "list"]).output
    assert state(api, ipAddress="2001:db8:aa::9") == "BLOCK"

    bad = tmp_path / "bad.txt"
    bad.write_text("203.0.113.0/24\nnot-a-cidr\n")
    refused = runner.invoke(args=["ip-lists", "import", "vpn", str(bad)])
    assert refused.exit_code != 0 and "line 2" in refused.output

    assert runner.invoke(args=["ip-lists", "delete", "vpn"]).exit_code == 0
    assert state(api, ipAddress="2001:db8:aa::9") == "ALLOW"
    assert runner.invoke(args=["ip-lists", "delete", "vpn"]).exit_code != 0
