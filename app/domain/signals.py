"""Risk signals a rule can read (device, network, travel, user, velocity): the pure half.

Which signals a set of rules needs (:class:`SignalPlan`, from the compiled rules' ``fields``),
and every computation that needs no database: user-agent parsing, CIDR matching, the country of
an address (iptocc's offline table), geo records, great-circle distance and travel speed, velocity
windows. ``app.services.decisions.signals`` runs the queries and feeds the results through here.

Paths (see ``app.domain.catalogue`` for the typed, described list the builder offers):

* ``device.isNew / count / lastSeenDaysAgo`` (history), ``device.isBot / browser / os / isMobile`` (UA),
  ``device.isTrusted`` (a remembered device)
* ``ip.countryCode``, ``ip.isUnrecognized``, ``ip.isAnonymous``, ``ip.cidrLists``, and with a
  GeoLite2-City file ``ip.city / latitude / longitude / impossibleTravel / travelSpeedKmh /
  atypicalTravel``
* ``user.hasPreviouslyVerified / accountAgeDays / lastVerifiedMinutesAgo / failedChallengesLastHour /
  verifiedOnThisDeviceMinutesAgo``
* ``velocity.<user|device|ip>.<metric>.<window>``: metric ``actionCount``, ``actionCodeCount``,
  ``failedChallenges`` and (device, ip) ``distinctUsers``; window ``<n>m``, ``<n>h`` or ``<n>d``.

Past our usual size because it is the pure half of every signal family at once (device, network,
travel, velocity), each a few small functions; they share the plan that says which to compute.
"""

from __future__ import annotations

import bisect
import ipaddress
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import iptocc
from ua_parser import parse as _parse_ua

# ---------------------------------------------------------------------------------------------
# Which signals the rules read

DEVICE_HISTORY = ("isNew", "count", "lastSeenDaysAgo")
DEVICE_AGENT = ("isBot", "browser", "os", "isMobile")
DEVICE_TRUST = ("isTrusted",)  # a remembered device (models.trusted_device) of this user
IP_GEO = ("city", "latitude", "longitude")
IP_TRAVEL = ("impossibleTravel", "travelSpeedKmh")
USER_PROFILE = ("hasPreviouslyVerified", "accountAgeDays", "lastVerifiedMinutesAgo")
DEVICE_SIGNALS = DEVICE_HISTORY + DEVICE_AGENT + DEVICE_TRUST
IP_SIGNALS = ("countryCode", "isUnrecognized", "isAnonymous", "cidrLists", *IP_GEO, *IP_TRAVEL, "atypicalTravel")
USER_SIGNALS = (*USER_PROFILE, "failedChallengesLastHour", "verifiedOnThisDeviceMinutesAgo")
# The user's passkey a challenge would most likely use: the one verified last (else the newest).
PASSKEY_SIGNALS = ("backupEligible", "backedUp", "aaguid", "authenticatorName", "signCountRegressed")
VELOCITY_SCOPES = ("user", "device", "ip")
VELOCITY_METRICS = {
    "user": ("actionCount", "actionCodeCount", "failedChallenges"),
    "device": ("actionCount", "actionCodeCount", "failedChallenges", "distinctUsers"),
    "ip": ("actionCount", "actionCodeCount", "failedChallenges", "distinctUsers"),
}
COMMON_WINDOWS = ("10m", "1h", "24h", "7d")
MAX_WINDOW = timedelta(days=90)
ATYPICAL_TRAVEL_WINDOW = timedelta(days=90)
FAILED_CHALLENGE_WINDOW = timedelta(hours=1)
_WINDOW = re.compile(r"^([1-9][0-9]{0,4})([mhd])$")
_UNITS = {"m": 60, "h": 3600, "d": 86400}


def parse_window(label: str) -> timedelta | None:
    """``10m`` / ``1h`` / ``7d`` → a timedelta; ``None`` for anything else or over 90 days."""
    match = _WINDOW.fullmatch(label)
    if not match:
        return None
    window = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    return window if window <= MAX_WINDOW else None


@dataclass(frozen=True)
class VelocityField:
    scope: str  # user / device / ip
    metric: str
    label: str  # the window as written in the path, e.g. "10m"
    window: timedelta

    @property
    def path(self) -> str:
        return f"velocity.{self.scope}.{self.metric}.{self.label}"


@dataclass(frozen=True)
class SignalPlan:
    """What to compute for one action's rules; empty when no rule reads a signal."""

    device: frozenset[str] = frozenset()
    ip: frozenset[str] = frozenset()
    user: frozenset[str] = frozenset()
    velocity: tuple[VelocityField, ...] = ()
    passkey: frozenset[str] = frozenset()

    @property
    def is_empty(self) -> bool:
        return not (self.device or self.ip or self.user or self.velocity or self.passkey)

    @classmethod
    def from_fields(cls, fields: Iterable[str]) -> SignalPlan:
        """The signals named by rule variables. A variable naming a whole namespace (``device``,
        ``velocity.user``) asks for everything under it (velocity: the common windows)."""
        wanted: dict[str, set[str]] = {"device": set(), "ip": set(), "user": set(), "passkey": set()}
        velocity: dict[str, VelocityField] = {}
        offered = {"device": DEVICE_SIGNALS, "ip": IP_SIGNALS, "user": USER_SIGNALS, "passkey": PASSKEY_SIGNALS}
        for path in fields:
            parts = str(path).split(".")
            head = parts[0]
            if head in offered:
                names = offered[head]
                if len(parts) == 1:
                    wanted[head].update(names)
                elif parts[1] in names:
                    wanted[head].add(parts[1])
            elif head == "velocity":
                for item in _velocity_fields(parts[1:]):
                    velocity[item.path] = item
        return cls(frozenset(wanted["device"]), frozenset(wanted["ip"]), frozenset(wanted["user"]),
                   tuple(velocity[key] for key in sorted(velocity)), frozenset(wanted["passkey"]))


def _velocity_fields(parts: list[str]) -> list[VelocityField]:
    scopes = [parts[0]] if parts else list(VELOCITY_SCOPES)
    found = []
    for scope in scopes:
        metrics = VELOCITY_METRICS.get(scope, ())
        names = [parts[1]] if len(parts) > 1 else list(metrics)
        for metric in names:
            if metric not in metrics:
                continue
            labels = [parts[2]] if len(parts) > 2 else list(COMMON_WINDOWS)
            for label in labels:
                window = parse_window(label)
                if window is not None and len(parts) <= 3:
                    found.append(VelocityField(scope, metric, label, window))
    return found


# ---------------------------------------------------------------------------------------------
# Device: the user agent

# Families ua-parser gives scripted clients and headless browsers; crawlers come as device "Spider".
_SCRIPTED = frozenset({
    "curl", "Wget", "Python Requests", "Python-urllib", "Go-http-client", "HeadlessChrome", "PhantomJS",
    "Apache-HttpClient", "okhttp", "Java", "libwww-perl", "Scrapy", "aiohttp", "httpx", "node-fetch", "axios",
    "PostmanRuntime", "Insomnia",
})
_BOT_WORDS = ("bot", "crawler", "spider", "headless", "scrapy", "python", "curl", "wget")
_MOBILE_OS = frozenset({"Android", "iOS", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS", "HarmonyOS",
                        "Symbian OS", "webOS", "Tizen"})


@dataclass(frozen=True)
class AgentInfo:
    browser: str | None
    os: str | None
    is_mobile: bool | None
    is_bot: bool | None


def parse_user_agent(user_agent: str | None) -> AgentInfo:
    """ua-parser's builtin rules; ``None`` everywhere when no user agent was sent."""
    if not user_agent:
        return AgentInfo(None, None, None, None)
    result = _parse_ua(user_agent)
    browser = result.user_agent.family if result.user_agent and result.user_agent.family != "Other" else None
    os_name = result.os.family if result.os and result.os.family != "Other" else None
    device = result.device.family if result.device else None
    lowered = user_agent.lower()
    is_bot = device == "Spider" or browser in _SCRIPTED or any(word in lowered for word in _BOT_WORDS)
    is_mobile = os_name in _MOBILE_OS or "Mobile" in (browser or "") or " mobile" in lowered
    return AgentInfo(browser, os_name, is_mobile, is_bot)


# ---------------------------------------------------------------------------------------------
# Network: country, CIDR lists

def country_code(address: str | None) -> str | None:
    """ISO 3166 alpha-2 from iptocc's bundled table (no network); ``None`` for private/unknown."""
    if not address:
        return None
    try:
        return iptocc.country_code(address) or None
    except ValueError:
        return None


def parse_cidrs(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """A list file's lines → (normalised CIDRs, problems). Blank lines and ``#`` comments are skipped;
    a bare address is a /32 (or /128); host bits set (``10.0.0.1/8``) are cleared."""
    cidrs: list[str] = []
    problems: list[str] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            cidrs.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            problems.append(f"line {number}: {text!r} is not an IPv4/IPv6 address or CIDR")
    return list(dict.fromkeys(cidrs)), problems


@dataclass(frozen=True)
class NetworkSet:
    """CIDRs merged into sorted, disjoint integer ranges per IP version: one bisect per lookup."""

    starts: Mapping[int, tuple[int, ...]]
    ends: Mapping[int, tuple[int, ...]]

    @classmethod
    def of(cls, cidrs: Iterable[str]) -> NetworkSet:
        ranges: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for cidr in cidrs:
            network = ipaddress.ip_network(cidr, strict=False)
            ranges[network.version].append((int(network.network_address), int(network.broadcast_address)))
        starts: dict[int, tuple[int, ...]] = {}
        ends: dict[int, tuple[int, ...]] = {}
        for version, items in ranges.items():
            merged: list[list[int]] = []
            for start, end in sorted(items):
                if merged and start <= merged[-1][1] + 1:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            starts[version] = tuple(s for s, _ in merged)
            ends[version] = tuple(e for _, e in merged)
        return cls(starts, ends)

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        value = int(address)
        starts = self.starts.get(address.version, ())
        index = bisect.bisect_right(starts, value) - 1
        return index >= 0 and value <= self.ends[address.version][index]


def parse_address(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not address:
        return None
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Travel

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class GeoPoint:
    country_code: str | None
    city: str | None
    latitude: float | None
    longitude: float | None

    @property
    def is_located(self) -> bool:
        return self.latitude is not None and self.longitude is not None


NOWHERE = GeoPoint(None, None, None, None)


def geo_from_record(record: Any) -> GeoPoint:
    """A GeoLite2-City record (``maxminddb`` ``get`` result) → the point rules see."""
    if not isinstance(record, Mapping):
        return NOWHERE
    country = record.get("country") or record.get("registered_country") or {}
    city_names = (record.get("city") or {}).get("names") or {}
    location = record.get("location") or {}
    lat, lon = location.get("latitude"), location.get("longitude")
    located = isinstance(lat, (int, float)) and isinstance(lon, (int, float))
    return GeoPoint(
        country_code=country.get("iso_code") if isinstance(country, Mapping) else None,
        city=city_names.get("en") or next(iter(city_names.values()), None),
        latitude=float(lat) if located else None,
        longitude=float(lon) if located else None,
    )


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


# Below this distance an IP geolocation's own error dominates: never call it travel.
MIN_TRAVEL_KM = 100.0


def travel_speed_kmh(previous: GeoPoint, previous_at: datetime, current: GeoPoint, *, now: datetime) -> float | None:
    """Speed needed to get from the previous located action to this one; ``None`` when unknown.

    Two places at least 100 km apart at the same instant are infinitely fast."""
    if not (previous.is_located and current.is_located):
        return None
    km = distance_km(previous.latitude, previous.longitude, current.latitude, current.longitude)  # type: ignore[arg-type]
    if km < MIN_TRAVEL_KM:
        return 0.0
    hours = (now - previous_at).total_seconds() / 3600
    return math.inf if hours <= 0 else km / hours


def is_impossible_travel(speed_kmh: float | None, *, max_kmh: float) -> bool | None:
    return None if speed_kmh is None else speed_kmh > max_kmh


# ---------------------------------------------------------------------------------------------
# User

def minutes_since(then: datetime | None, *, now: datetime) -> int | None:
    return None if then is None else max(0, int((now - then).total_seconds() // 60))


def days_since(then: datetime | None, *, now: datetime) -> int | None:
    return None if then is None else max(0, (now - then).days)


# ---------------------------------------------------------------------------------------------
# The namespaces handed to build_context

@dataclass
class SignalValues:
    """Computed signals, nested as the rule context reads them (merged by ``build_context``)."""

    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)

    def set(self, path: str, value: Any) -> None:
        *parents, leaf = path.split(".")
        node = self.namespaces.setdefault(parents[0], {})
        for part in parents[1:]:
            node = node.setdefault(part, {})
        node[leaf] = value
