"""Risk signals at track time: only the ones an action's rules read, in as few indexed queries as possible.

:func:`signal_namespaces` is the one call the decision path makes. From the rules' compiled
``fields`` it plans what to compute (:class:`app.domain.signals.SignalPlan`); an action whose rules
read no signal runs no query here at all. Otherwise, per track at most:

* one statement of scalar subqueries for the history facts (device seen before, device count,
  IP seen before, last located action, countries of the last 90 days, failed challenges, a
  remembered device, the last challenge passed on the device): each
  subquery is one index seek on ``user_action`` / ``verification_attempt``;
* one statement for every velocity field together: the user's, device's and IP's recent rows
  (a UNION ALL of one index range each) with one conditional aggregate per field and window;
* one small query of the CIDR lists' versions, when a rule reads ``ip.cidrLists`` or
  ``ip.isAnonymous``: the instance-wide network lists and (for ``ip.cidrLists``) the tenant's
  custom lists of kind ``cidrs``, in one UNION ALL. Their compiled ranges stay cached per process
  keyed by (list, version), which never changes its CIDRs; a list not cached yet is loaded once.

The UA, the country (iptocc) and the GeoLite2-City record need no query.

Past our usual size on purpose: the queries are planned together so that a track runs as few
statements as possible (history facts in one, every velocity window in another), and the planner
and the statements it chooses between belong in one reading.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import maxminddb
from sqlalchemy import Select, String, and_, bindparam, case, distinct, exists, func, literal, literal_column, select, union_all

from app.config import Settings
from app.domain import signals as domain
from app.domain.authenticator_names import known_authenticator
from app.domain.context import RequestFacts
from app.domain.decision import ActionState, RuleInput
from app.domain.signals import GeoPoint, NetworkSet, SignalPlan, SignalValues, VelocityField
from app.extensions import db
from app.models import (
    Authenticator,
    EndUser,
    NetworkList,
    NetworkListEntry,
    PasskeyCredential,
    TrustedDevice,
    UserAction,
    VerificationAttempt,
)
from app.models.prepared import PreparedStatement
from app.services.decisions import cidr_lists
from app.services.rulesets.network_lists import import_network_list  # noqa: F401  (bench/signals.py imports it from here)

if TYPE_CHECKING:
    from app.domain.context import TrackedUser

# ---------------------------------------------------------------------------------------------
# Locating an address (no query: iptocc's table, the configured GeoLite2-City file)

_readers: dict[tuple[str, int], Any] = {}
_readers_lock = threading.Lock()


def _city_reader(path: Path) -> Any:
    """One open reader per process and file version (a replaced file is reopened)."""
    key = (str(path), os.stat(path).st_mtime_ns)
    reader = _readers.get(key)
    if reader is None:
        with _readers_lock:
            reader = _readers.get(key)
            if reader is None:
                for old in [k for k in _readers if k[0] == key[0]]:
                    _readers.pop(old)  # its open map stays valid for anyone still holding it
                reader = _readers[key] = maxminddb.open_database(str(path))
    return reader


def locate(address: str | None, *, settings: Settings) -> GeoPoint:
    """Country (always, offline) and, with TOLLGATE_GEOIP_CITY_DB, city and coordinates."""
    if not address:
        return domain.NOWHERE
    if settings.geoip_city_db is not None:
        try:
            point = domain.geo_from_record(_city_reader(settings.geoip_city_db).get(address))
        except (OSError, ValueError):
            point = domain.NOWHERE
        if point.country_code or point.is_located:
            return point if point.country_code else GeoPoint(domain.country_code(address), point.city,
                                                              point.latitude, point.longitude)
    return GeoPoint(domain.country_code(address), None, None, None)


# ---------------------------------------------------------------------------------------------
# Planning

_plans: dict[frozenset[str], SignalPlan] = {}
PLAN_CACHE_SIZE = 1024


def plan_for(rules: Sequence[RuleInput]) -> SignalPlan:
    """What the rules read, as signals to compute (cached per distinct set of read fields)."""
    fields = frozenset().union(*(rule.conditions.fields for rule in rules)) if rules else frozenset()
    plan = _plans.get(fields)
    if plan is None:
        plan = SignalPlan.from_fields(fields)
        if len(_plans) >= PLAN_CACHE_SIZE:
            _plans.clear()
        _plans[fields] = plan
    return plan


@dataclass(frozen=True)
class SignalInputs:
    """What the signals of one track are computed from (besides the rules)."""

    tenant_id: str
    end_user: EndUser | TrackedUser | None  # None, or id None: a first-time user
    request: RequestFacts
    user_id: str
    geo: GeoPoint
    settings: Settings
    now: datetime


def signal_namespaces(rules: Sequence[RuleInput], inputs: SignalInputs) -> dict[str, Any] | None:
    """The signal values the rules read, nested for ``build_context``; ``None`` when they read none."""
    plan = plan_for(rules)
    if plan.is_empty:
        return None
    values = SignalValues()
    _agent_signals(plan, inputs, values)
    _user_profile(plan, inputs, values)
    _geo_signals(plan, inputs, values)
    _history_signals(plan, inputs, values)
    _network_lists(plan, inputs, values)
    _velocity(plan, inputs, values)
    _passkey_signals(plan, inputs, values)
    return values.namespaces


# ---------------------------------------------------------------------------------------------
# No query


def _agent_signals(plan: SignalPlan, inputs: SignalInputs, values: SignalValues) -> None:
    if not plan.device & set(domain.DEVICE_AGENT):
        return
    agent = domain.parse_user_agent(inputs.request.user_agent)
    values.set("device.isBot", agent.is_bot)
    values.set("device.browser", agent.browser)
    values.set("device.os", agent.os)
    values.set("device.isMobile", agent.is_mobile)


def _user_profile(plan: SignalPlan, inputs: SignalInputs, values: SignalValues) -> None:
    if not plan.user & set(domain.USER_PROFILE):
        return
    user, now = inputs.end_user, inputs.now
    # The authenticators are already loaded (the enrolled methods came from them).
    verified = [a.last_verified_at for a in user.authenticators if a.last_verified_at] if user is not None else []
    last = max(verified) if verified else None
    values.set("user.hasPreviouslyVerified", last is not None)
    values.set("user.lastVerifiedMinutesAgo", domain.minutes_since(last, now=now))
    created = user.created_at if user is not None and user.id is not None else now
    values.set("user.accountAgeDays", domain.days_since(created, now=now))


def _geo_signals(plan: SignalPlan, inputs: SignalInputs, values: SignalValues) -> None:
    if "countryCode" in plan.ip:
        values.set("ip.countryCode", inputs.geo.country_code)
    if plan.ip & set(domain.IP_GEO):
        values.set("ip.city", inputs.geo.city)
        values.set("ip.latitude", inputs.geo.latitude)
        values.set("ip.longitude", inputs.geo.longitude)


# ---------------------------------------------------------------------------------------------
# History: one statement of scalar subqueries


def _history_signals(plan: SignalPlan, inputs: SignalInputs, values: SignalValues) -> None:
    ua = UserAction

    def mine() -> Any:  # built only when a history fact is read: building expressions costs per track
        return and_(ua.tenant_id == inputs.tenant_id, ua.user_id == inputs.user_id)

    device_id, address = inputs.request.device_id, inputs.request.ip_address
    columns: dict[str, Any] = {}
    if device_id and plan.device & {"isNew", "lastSeenDaysAgo"}:
        columns["device_last_seen"] = select(func.max(ua.created_at)).where(mine(), ua.device_id == device_id)
    if "count" in plan.device:
        columns["device_count"] = select(func.count(distinct(ua.device_id))).where(mine())
        if device_id:
            columns["device_known"] = exists().where(mine(), ua.device_id == device_id)
    if address and "isUnrecognized" in plan.ip:
        columns["ip_known"] = exists().where(mine(), ua.ip_address == address)
    locating = inputs.settings.geoip_city_db is not None
    if locating and inputs.geo.is_located and plan.ip & set(domain.IP_TRAVEL):
        last = select(ua.latitude, ua.longitude, ua.created_at).where(mine(), ua.latitude.is_not(None))
        last = last.order_by(ua.created_at.desc()).limit(1).subquery()
        columns["last_latitude"] = select(last.c.latitude)
        columns["last_longitude"] = select(last.c.longitude)
        columns["last_at"] = select(last.c.created_at)
    if locating and inputs.geo.country_code and "atypicalTravel" in plan.ip:
        recent = and_(mine(), ua.created_at >= inputs.now - domain.ATYPICAL_TRAVEL_WINDOW)
        columns["country_seen"] = exists().where(recent, ua.country_code == inputs.geo.country_code)
        columns["any_country"] = exists().where(recent, ua.country_code.is_not(None))
    user = inputs.end_user
    known_user = user is not None and user.id is not None
    if device_id and known_user and "isTrusted" in plan.device:
        columns["trusted_device"] = select(TrustedDevice.id).where(
            TrustedDevice.end_user_id == user.id, TrustedDevice.device_id == device_id,
            TrustedDevice.revoked_at.is_(None), TrustedDevice.expires_at > inputs.now,
        ).limit(1)
    if device_id and "verifiedOnThisDeviceMinutesAgo" in plan.user:
        columns["verified_on_device"] = select(func.max(ua.state_updated_at)).where(
            mine(), ua.device_id == device_id, ua.state == ActionState.CHALLENGE_SUCCEEDED)
    if "failedChallengesLastHour" in plan.user and known_user:
        columns["failed"] = select(func.count()).select_from(VerificationAttempt).where(
            VerificationAttempt.end_user_id == user.id,
            VerificationAttempt.attempted_at > inputs.now - domain.FAILED_CHALLENGE_WINDOW,
        )
    row: dict[str, Any] = {}
    if columns:
        statement = select(*[
            (c.scalar_subquery() if isinstance(c, Select) else c).label(name) for name, c in columns.items()
        ])
        row = dict(db.session.execute(statement).one()._mapping)
    _history_values(plan, inputs, row, values)


def _history_values(plan: SignalPlan, inputs: SignalInputs, row: dict[str, Any], values: SignalValues) -> None:
    now, device_id = inputs.now, inputs.request.device_id
    if plan.device & {"isNew", "lastSeenDaysAgo"}:
        last_seen = row.get("device_last_seen")
        values.set("device.isNew", (last_seen is None) if device_id else None)
        values.set("device.lastSeenDaysAgo", domain.days_since(last_seen, now=now))
    if "count" in plan.device:
        count = int(row.get("device_count") or 0)
        values.set("device.count", count + (1 if device_id and not row.get("device_known") else 0))
    if "isUnrecognized" in plan.ip:
        values.set("ip.isUnrecognized", (not row.get("ip_known")) if inputs.request.ip_address else None)
    if plan.ip & set(domain.IP_TRAVEL):
        speed = None
        if row.get("last_at") is not None:
            previous = GeoPoint(None, None, row["last_latitude"], row["last_longitude"])
            speed = domain.travel_speed_kmh(previous, row["last_at"], inputs.geo, now=now)
        values.set("ip.travelSpeedKmh", None if speed is None else (round(speed, 1) if speed != float("inf") else speed))
        values.set("ip.impossibleTravel",
                   domain.is_impossible_travel(speed, max_kmh=inputs.settings.impossible_travel_kmh))
    if "atypicalTravel" in plan.ip:
        atypical = None
        if "country_seen" in row and row.get("any_country"):
            atypical = not row["country_seen"]
        values.set("ip.atypicalTravel", atypical)
    if "failedChallengesLastHour" in plan.user:
        values.set("user.failedChallengesLastHour", int(row.get("failed") or 0))
    if "verifiedOnThisDeviceMinutesAgo" in plan.user:
        values.set("user.verifiedOnThisDeviceMinutesAgo", domain.minutes_since(row.get("verified_on_device"), now=now))
    if "isTrusted" in plan.device:
        trusted = row.get("trusted_device")
        # Its "last used" is the track's to write, with its other writes (signals only read).
        values.set("device.isTrusted", (trusted is not None) if device_id else None)


# ---------------------------------------------------------------------------------------------
# CIDR lists: the instance-wide network lists and the tenant's own CIDR lists, compiled ranges
# cached per (list, version)

# Where a list lives: the instance-wide ``network_list`` table or the tenant's ``custom_list``.
INSTANCE, TENANT = "network", "custom"
COMPILED_CACHE_SIZE = 4096  # lists; a 10,000-CIDR list compiles to well under a megabyte
_compiled_lists: dict[tuple[str, str, int], NetworkSet] = {}
_compiled_lock = threading.Lock()


def _list_stamps(plan: SignalPlan, tenant_id: str) -> Select:
    """One statement naming every list the rules can match, with its version (no CIDRs)."""
    instance = select(literal(INSTANCE).label("source"), NetworkList.id, NetworkList.version, NetworkList.name,
                      NetworkList.is_anonymous)
    if "cidrLists" not in plan.ip:  # only ip.isAnonymous: only the anonymous instance-wide lists
        return instance.where(NetworkList.is_anonymous.is_(True))
    tenant = cidr_lists.cidr_list_stamps(tenant_id).subquery()
    return union_all(instance, select(literal(TENANT).label("source"), tenant.c.id, tenant.c.version, tenant.c.name,
                                      literal(False).label("is_anonymous")))


def _network_lists(plan: SignalPlan, inputs: SignalInputs, values: SignalValues) -> None:
    """``ip.isAnonymous`` (instance-wide lists marked anonymous) and ``ip.cidrLists`` (names of the
    instance-wide and the tenant's CIDR lists containing the address): one query of versions."""
    if not plan.ip & {"isAnonymous", "cidrLists"}:
        return
    address = domain.parse_address(inputs.request.ip_address)
    if address is None:
        values.set("ip.isAnonymous", None)
        values.set("ip.cidrLists", None)
        return
    stamps = db.session.execute(_list_stamps(plan, inputs.tenant_id)).all()
    compiled = network_sets([(source, list_id, version) for source, list_id, version, _, _ in stamps])
    matched: set[str] = set()
    anonymous = False
    for source, list_id, version, name, is_anonymous in stamps:
        if address in compiled[(source, list_id, version)]:
            matched.add(name)
            anonymous = anonymous or (source == INSTANCE and bool(is_anonymous))
    values.set("ip.isAnonymous", anonymous)
    values.set("ip.cidrLists", sorted(matched))


def network_sets(keys: Iterable[tuple[str, str, int]]) -> dict[tuple[str, str, int], NetworkSet]:
    """The compiled ranges of each ``(source, list id, version)``; lists not cached yet are loaded
    in at most one query per source (a version only ever names one set of CIDRs)."""
    keys = list(keys)
    found = {key: _compiled_lists.get(key) for key in keys}
    missing = [key for key, compiled in found.items() if compiled is None]
    if not missing:
        return found  # type: ignore[return-value]
    instance_ids = [list_id for source, list_id, _ in missing if source == INSTANCE]
    if instance_ids:
        cidrs: dict[str, list[str]] = {list_id: [] for list_id in instance_ids}
        for list_id, cidr in db.session.execute(
                select(NetworkListEntry.network_list_id, NetworkListEntry.cidr)
                .where(NetworkListEntry.network_list_id.in_(instance_ids))):
            cidrs[list_id].append(cidr)
        for source, list_id, version in missing:
            if source == INSTANCE:
                found[(source, list_id, version)] = _remember((source, list_id, version), NetworkSet.of(cidrs[list_id]))
    tenant_ids = [list_id for source, list_id, _ in missing if source == TENANT]
    loaded = {list_id: (version, items) for list_id, version, items in cidr_lists.cidr_lists_by_id(tenant_ids)}
    for source, list_id, version in missing:
        if source != TENANT:
            continue
        current, items = loaded.get(list_id, (version, []))
        compiled = NetworkSet.of(items)
        # Edited since the stamp was read: cache it under the version it is, use it now anyway.
        found[(source, list_id, version)] = _remember((source, list_id, current), compiled)
    return found  # type: ignore[return-value]


def _remember(key: tuple[str, str, int], compiled: NetworkSet) -> NetworkSet:
    with _compiled_lock:
        for old in [k for k in _compiled_lists if k[:2] == key[:2] and k != key]:
            _compiled_lists.pop(old, None)  # an older version of the same list
        while len(_compiled_lists) >= COMPILED_CACHE_SIZE:
            _compiled_lists.pop(next(iter(_compiled_lists)))  # the longest cached
        _compiled_lists[key] = compiled
    return compiled


# ---------------------------------------------------------------------------------------------
# Velocity: one statement, one conditional aggregate per field


def _velocity(plan: SignalPlan, inputs: SignalInputs, values: SignalValues) -> None:
    if not plan.velocity:
        return
    keys = {"user": inputs.user_id, "device": inputs.request.device_id, "ip": inputs.request.ip_address}
    fields = tuple(f for f in plan.velocity if keys[f.scope])
    for item in plan.velocity:
        if not keys[item.scope]:
            values.set(item.path, None)  # no device id / IP sent: nothing to count
    if not fields:
        return
    params: dict[str, Any] = {"tenant_id": inputs.tenant_id, "user_id": inputs.user_id,
                              "action_code": inputs.request.action_code}
    for scope in {f.scope for f in fields}:
        params[f"key_{scope}"] = keys[scope]
        params[f"since_{scope}"] = inputs.now - max(f.window for f in fields if f.scope == scope)
    for item in fields:
        params[f"after_{item.label}"] = inputs.now - item.window
    (row,) = _velocity_statement(fields).rows(db.session.connection(), params)
    for item, counted in zip(fields, row, strict=True):
        # This action counts too: "more than 5 in 10 minutes" is true on the 6th.
        extra = 0 if item.metric == "failedChallenges" else 1
        values.set(item.path, int(counted or 0) + extra)


@functools.lru_cache(maxsize=256)
def _velocity_statement(fields: tuple[VelocityField, ...]) -> PreparedStatement:
    """The velocity query of these fields, built and compiled once: building it (a subquery, a CASE
    per field) cost more than running it. Everything that varies per track is a bound parameter;
    the scope names are written into it, and rows are counted without a constant, since every
    parameter is converted, sent and bound again on each track (as parameters, those constants were
    15 of the 26 on PostgreSQL: ~10 µs of the ~110 µs the worker spends per velocity statement)."""
    ua = UserAction
    scope_column = {"user": ua.user_id, "device": ua.device_id, "ip": ua.ip_address}
    moment = ua.created_at.type

    # One branch per scope, each an equality + range on its own index (tenant, user|device|ip,
    # created_at), glued with UNION ALL: a plan no planner can turn into a scan of the tenant's
    # recent rows, whatever its statistics say. Each field is one conditional aggregate on top.
    branches = [
        select(_scope_name(scope).label("scope"), ua.user_id, ua.action_code, ua.state, ua.created_at).where(
            ua.tenant_id == bindparam("tenant_id"), scope_column[scope] == bindparam(f"key_{scope}"),
            ua.created_at >= bindparam(f"since_{scope}", type_=moment))
        for scope in sorted({f.scope for f in fields})
    ]
    recent = (union_all(*branches) if len(branches) > 1 else branches[0]).subquery("recent")
    columns = []
    for item in fields:
        in_scope = and_(recent.c.scope == _scope_name(item.scope),
                        recent.c.created_at >= bindparam(f"after_{item.label}", type_=moment))
        if item.metric == "distinctUsers":
            columns.append(func.count(distinct(case((and_(in_scope, recent.c.user_id != bindparam("user_id")),
                                                      recent.c.user_id)))))
            continue
        if item.metric == "actionCodeCount":
            in_scope = and_(in_scope, recent.c.action_code == bindparam("action_code"))
        elif item.metric == "failedChallenges":
            in_scope = and_(in_scope, recent.c.state == ActionState.CHALLENGE_FAILED)
        columns.append(func.count(case((in_scope, recent.c.created_at))))  # never NULL: the rows in scope
    return PreparedStatement(select(*columns).select_from(recent))


def _scope_name(scope: str) -> Any:
    """A scope's name written into the statement: one of ``scope_column``'s keys, never input."""
    return literal_column(f"'{scope}'", String())


# ---------------------------------------------------------------------------------------------
# Passkey assurance: one indexed read of the user's passkeys


def _passkey_signals(plan: SignalPlan, inputs: SignalInputs, values: SignalValues) -> None:
    """The user's passkey a challenge would most likely use (verified last, else the newest): is it
    synced or device-bound, who made it, has its counter gone backwards. No passkey: all None."""
    user = inputs.end_user
    if not plan.passkey or user is None or user.id is None:
        return
    credential = db.session.execute(
        select(PasskeyCredential.backup_eligible, PasskeyCredential.backup_state, PasskeyCredential.aaguid,
               PasskeyCredential.sign_count_regressed_at)
        .join(Authenticator, Authenticator.id == PasskeyCredential.authenticator_id)
        .where(Authenticator.end_user_id == user.id, Authenticator.verified_at.is_not(None))
        .order_by(Authenticator.last_verified_at.desc().nulls_last(), Authenticator.created_at.desc())
        .limit(1)
    ).first()
    if credential is None:
        return
    known = known_authenticator(credential.aaguid)
    values.set("passkey.backupEligible", credential.backup_eligible)
    values.set("passkey.backedUp", credential.backup_state)
    values.set("passkey.aaguid", credential.aaguid)
    values.set("passkey.authenticatorName", known.name if known else None)
    values.set("passkey.signCountRegressed", credential.sign_count_regressed_at is not None)
