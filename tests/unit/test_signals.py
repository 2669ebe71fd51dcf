"""Risk signals, the pure half: planning from rule fields, user agents, countries, CIDRs, travel, windows."""

from __future__ import annotations

import ipaddress
import math
from datetime import UTC, datetime, timedelta

import maxminddb
import pytest

from app.domain import signals
from app.domain.catalogue import CATALOGUE, TenantCatalogue, operators_for
from app.domain.context import RequestFacts, UserFacts, build_context
from app.domain.rules import compile_conditions
from tests.mmdb_fixture import write_city_mmdb

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0 Mobile Safari/537.36")
SAFARI_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.5 Safari/605.1.15")


# --- which signals the rules read ---------------------------------------------------------------

def test_plan_is_empty_for_rules_reading_no_signal():
    fields = compile_conditions({"and": [{">": [{"var": "custom.amount"}, 5]}, {"==": [{"var": "device.id"}, "d"]},
                                         {"==": [{"var": "ip.address"}, "1.2.3.4"]}]}).fields
    assert signals.SignalPlan.from_fields(fields).is_empty


def test_plan_names_exactly_the_signals_read():
    plan = signals.SignalPlan.from_fields({"device.isNew", "ip.countryCode", "user.accountAgeDays",
                                           "velocity.user.actionCodeCount.10m", "velocity.ip.distinctUsers.1h"})
    assert plan.device == {"isNew"} and plan.ip == {"countryCode"} and plan.user == {"accountAgeDays"}
    assert [(v.scope, v.metric, v.label, v.window) for v in plan.velocity] == [
        ("ip", "distinctUsers", "1h", timedelta(hours=1)),
        ("user", "actionCodeCount", "10m", timedelta(minutes=10)),
    ]


def test_plan_for_a_whole_namespace_and_for_unknown_paths():
    assert signals.SignalPlan.from_fields({"device"}).device == set(signals.DEVICE_SIGNALS)
    velocity = signals.SignalPlan.from_fields({"velocity.device.distinctUsers"}).velocity
    assert [v.label for v in velocity] == sorted(signals.COMMON_WINDOWS)
    assert signals.SignalPlan.from_fields({"velocity.user.distinctUsers.1h", "velocity.user.actionCount.2w",
                                          "velocity.user.actionCount.1h.x", "device.nope"}).is_empty


@pytest.mark.parametrize(("label", "expected"), [
    ("10m", timedelta(minutes=10)), ("1h", timedelta(hours=1)), ("24h", timedelta(days=1)),
    ("7d", timedelta(days=7)), ("90d", timedelta(days=90)), ("91d", None), ("0m", None), ("1w", None),
    ("1.5h", None), ("h", None), ("", None),
])
def test_window_labels(label, expected):
    assert signals.parse_window(label) == expected


# --- device ---------------------------------------------------------------------------------------

def test_ordinary_browsers_parse_as_browser_os_and_mobility():
    android = signals.parse_user_agent(CHROME_ANDROID)
    assert (android.browser, android.os, android.is_mobile, android.is_bot) == ("Chrome", "Android", True, False)
    mac = signals.parse_user_agent(SAFARI_MAC)
    assert (mac.browser, mac.os, mac.is_mobile, mac.is_bot) == ("Safari", "Mac OS X", False, False)


@pytest.mark.parametrize("agent", [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0 Safari/537.36",
])
def test_bots_and_scripted_clients_are_bots(agent):
    assert signals.parse_user_agent(agent).is_bot is True


def test_no_user_agent_means_unknown_not_false():
    assert signals.parse_user_agent(None) == signals.AgentInfo(None, None, None, None)


# --- network --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("address", "country"), [
    ("8.8.8.8", "US"), ("1.1.1.1", "AU"), ("81.2.69.160", "GB"), ("2001:4860:4860::8888", "US"),
    ("10.1.2.3", None), ("127.0.0.1", None), ("192.0.2.1", None), (None, None), ("not an ip", None),
])
def test_country_of_known_public_ranges_offline(address, country):
    assert signals.country_code(address) == country


def test_cidr_lists_match_ipv4_ipv6_and_mapped_addresses():
    networks = signals.NetworkSet.of(["10.0.0.0/8", "192.0.2.0/24", "192.0.2.128/25", "2001:db8::/32", "198.51.100.7/32"])
    ip = ipaddress.ip_address
    assert ip("10.255.255.255") in networks and ip("192.0.2.200") in networks and ip("198.51.100.7") in networks
    assert ip("2001:db8:1::5") in networks and ip("::ffff:10.0.0.1") in networks
    assert ip("11.0.0.0") not in networks and ip("198.51.100.8") not in networks and ip("2001:db9::1") not in networks
    assert ip("9.255.255.255") not in networks and "10.0.0.1" not in networks  # strings are not addresses


def test_list_files_parse_with_comments_bare_addresses_and_problems():
    cidrs, problems = signals.parse_cidrs(["# tor exits", "", "185.220.101.1", "10.1.2.3/8  # host bits",
                                           "2001:db8::1", "nonsense", "10.0.0.0/8"])
    assert cidrs == ["185.220.101.1/32", "10.0.0.0/8", "2001:db8::1/128"]
    assert problems == ["line 6: 'nonsense' is not an IPv4/IPv6 address or CIDR"]


# --- travel ---------------------------------------------------------------------------------------

def test_distance_between_known_cities():
    london, new_york = (51.5074, -0.1278), (40.7128, -74.0060)
    assert signals.distance_km(*london, *new_york) == pytest.approx(5570, rel=0.01)
    assert signals.distance_km(*london, *london) == 0


def test_impossible_travel_arithmetic_with_a_fixture_mmdb(tmp_path):
    reader = maxminddb.open_database(str(write_city_mmdb(tmp_path / "city.mmdb")))
    london = signals.geo_from_record(reader.get("81.2.69.160"))
    changchun = signals.geo_from_record(reader.get("175.16.199.5"))
    croydon = signals.geo_from_record(reader.get("81.2.70.1"))
    oslo = signals.geo_from_record(reader.get("2a02:cf40::1"))
    reader.close()
    assert (london.country_code, london.city) == ("GB", "London") and oslo.city == "Oslo"
    km = signals.distance_km(london.latitude, london.longitude, changchun.latitude, changchun.longitude)
    assert km == pytest.approx(8000, rel=0.03)

    one_hour_ago = signals.travel_speed_kmh(london, NOW - timedelta(hours=1), changchun, now=NOW)
    assert one_hour_ago == pytest.approx(km)
    assert signals.is_impossible_travel(one_hour_ago, max_kmh=900) is True
    twelve_hours = signals.travel_speed_kmh(london, NOW - timedelta(hours=12), changchun, now=NOW)
    assert twelve_hours == pytest.approx(km / 12) and signals.is_impossible_travel(twelve_hours, max_kmh=900) is False
    assert signals.travel_speed_kmh(london, NOW, changchun, now=NOW) == math.inf  # same instant, far apart
    # London → Croydon (~15 km) in a minute is IP-geolocation noise, not travel.
    assert signals.travel_speed_kmh(london, NOW - timedelta(minutes=1), croydon, now=NOW) == 0
    assert signals.travel_speed_kmh(signals.NOWHERE, NOW, london, now=NOW) is None
    assert signals.is_impossible_travel(None, max_kmh=900) is None


def test_records_without_a_city_or_location():
    assert signals.geo_from_record(None) == signals.NOWHERE
    point = signals.geo_from_record({"country": {"iso_code": "NZ"}})
    assert point == signals.GeoPoint("NZ", None, None, None) and not point.is_located


# --- user -----------------------------------------------------------------------------------------

def test_minutes_and_days_since_with_a_frozen_clock():
    assert signals.minutes_since(NOW - timedelta(minutes=9, seconds=59), now=NOW) == 9
    assert signals.minutes_since(None, now=NOW) is None
    assert signals.days_since(NOW - timedelta(days=3, hours=23), now=NOW) == 3
    assert signals.days_since(NOW + timedelta(seconds=5), now=NOW) == 0


# --- the context and the catalogue ----------------------------------------------------------------

def test_signal_namespaces_merge_into_the_context_without_losing_request_facts():
    values = signals.SignalValues()
    values.set("ip.countryCode", "NZ")
    values.set("velocity.user.actionCount.30m", 4)
    context = build_context(UserFacts(user_id="u1"), RequestFacts(action_code="a", ip_address="1.2.3.4"),
                            {**values.namespaces, "lists": {"vip": ["u1"]}})
    assert context["ip"]["address"] == "1.2.3.4" and context["ip"]["countryCode"] == "NZ"
    assert context["velocity"]["user"]["actionCount"] == {"10m": None, "1h": None, "24h": None, "7d": None, "30m": 4}
    assert context["lists"] == {"vip": ["u1"]}


def test_every_signal_is_in_the_catalogue_typed_and_described():
    paths = {entry.path for entry in CATALOGUE}
    built_in = TenantCatalogue()  # no data points of its own
    for name in signals.DEVICE_SIGNALS:
        assert f"device.{name}" in paths
    for name in signals.IP_SIGNALS:
        assert f"ip.{name}" in paths
    for name in signals.USER_SIGNALS:
        assert f"user.{name}" in paths
    for scope, metrics in signals.VELOCITY_METRICS.items():
        for metric in metrics:
            for window in signals.COMMON_WINDOWS:
                entry = built_in.find_field(f"velocity.{scope}.{metric}.{window}")
                assert entry is not None and entry.type == "number"
    assert "GeoLite2-City" in built_in.find_field("ip.impossibleTravel").description
    assert [op.key for op in operators_for(built_in.find_field("device.isNew").type)][:2] == ["is_true", "is_false"]
    assert "contains" in [op.key for op in operators_for(built_in.find_field("ip.cidrLists").type)]
