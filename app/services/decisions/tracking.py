"""Tracking an action: deciding it, storing it with its first state, and answering with its tokens.

Longer than our usual module on purpose: this is the API's hottest path, read top to bottom as one
story (its prebuilt statements, the user's row, the decision, the three inserts, the answer), and
every split so far only added a hop to follow. Reading or moving an action's state afterwards is
``action_state``.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.config import Settings
from app.domain.context import AuthenticatorFacts, RequestFacts, TrackedUser, UserFacts
from app.domain.decision import ActionState, VerificationMethod
from app.domain.documents import CustomValue, Short, WireModel, check_custom
from app.domain.errors import Conflict, InvalidRequest
from app.domain.redirects import is_allowed
from app.domain.tokens import ActionRef, TokenKind, derive_signing_key, issue_token
from app.domain.track_decision import InputSnapshot, RuleSetVersion, TrackDecision, decide_track
from app.extensions import db
from app.models import Authenticator, EndUser, ShadowDecision, TrustedDevice, UserAction
from app.models.prepared import PreparedStatement
from app.services.decisions.action_state import find_by_idempotency_key
from app.services.decisions.signals import SignalInputs, locate, signal_namespaces
from app.services.delivery.events import emit_action_created
from app.services.end_users.users import enrolled_verification_methods, validate_user_id
from app.services.rulesets.drafts import first_version
from app.services.rulesets.rules import ActionDocument, new_action_configuration, validate_action_code
from app.services.tenancy.tenant_config import ActionPolicy, TenantConfig, current_config

log = logging.getLogger(__name__)

KNOWN_SCOPES = frozenset({"read:authenticators", "add:authenticators", "update:authenticators", "remove:authenticators"})
DEFAULT_SCOPE = ("read:authenticators",)
# Concurrent first tracks race to create the same user / action / idempotency key; the loser
# retries and finds the winner's rows.
ATTEMPTS = 3

# The hot path's statements, built once: SQLAlchemy then reuses their compiled form instead of
# rebuilding and re-keying a statement object on every track (measured in bench/track.py).
# With the user's authenticators in the same round trip (track needs the enrolled methods), as plain
# rows: building ORM objects cost more than the query.
_FIND_USER = PreparedStatement(
    select(EndUser.id, EndUser.email, EndUser.phone_number, EndUser.username, EndUser.custom, EndUser.created_at,
           Authenticator.verification_method, Authenticator.verified_at, Authenticator.last_verified_at)
    .outerjoin(Authenticator, Authenticator.end_user_id == EndUser.id)
    .where(EndUser.tenant_id == bindparam("tenant_id"), EndUser.user_id == bindparam("user_id"))
    .order_by(Authenticator.created_at)
)
_INSERT_ACTION = PreparedStatement(UserAction.__table__.insert().returning(UserAction.__table__.c.id))
_INSERT_USER = PreparedStatement(EndUser.__table__.insert().inline())  # inline: no implicit RETURNING
_UPDATE_USER = EndUser.__table__.update().where(EndUser.__table__.c.id == bindparam("user_pk"))
_INSERT_SHADOW = PreparedStatement(ShadowDecision.__table__.insert().inline())
_TOUCH_TRUSTED_DEVICE = PreparedStatement(
    TrustedDevice.__table__.update()
    .where(TrustedDevice.__table__.c.end_user_id == bindparam("user_pk"),
           TrustedDevice.__table__.c.device_id == bindparam("device"),
           TrustedDevice.__table__.c.revoked_at.is_(None), TrustedDevice.__table__.c.expires_at > bindparam("used_at"))
    .values(last_used_at=bindparam("used_at"))
)
# What a track may tell about its user: it fills these in when the stored user has none.
IDENTIFIERS = ("email", "phone_number", "username")


class TrackAttributes(WireModel):
    """What a track call may send (all optional)."""

    idempotency_key: Short | None = Field(default=None, min_length=1)
    redirect_url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    redirect_to_settings: bool = False
    ip_address: Annotated[str, StringConstraints(max_length=64)] | None = None
    user_agent: Annotated[str, StringConstraints(max_length=1024)] | None = None
    device_id: Short | None = None
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    phone_number: Annotated[str, StringConstraints(max_length=32)] | None = None
    username: Short | None = None
    scope: Short | None = None
    locale: Annotated[str, StringConstraints(max_length=35)] | None = None
    challenge_id: Short | None = None
    custom: dict[str, CustomValue] | None = None

    @field_validator("ip_address")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value)  # ValueError becomes a 400 naming the field
        return value

    _custom = field_validator("custom")(check_custom)


@dataclass(frozen=True)
class TrackedAction:
    """What a track answers with of the action it stored (an ORM object cost more than the insert)."""

    tenant_id: str
    user_id: str
    action_code: str
    idempotency_key: str
    state: ActionState
    allowed_verification_methods: list[str]
    default_verification_method: VerificationMethod | None
    rule_ids: list[str]
    attributes: dict[str, Any]


@dataclass(frozen=True)
class TrackResult:
    action: UserAction | TrackedAction  # the stored row (a replay), or a snapshot of what was stored
    token: str
    url: str
    enrolled_verification_methods: list[str]


def track_action(
    tenant_id: str,
    user_id: str,
    action_code: str,
    attributes: TrackAttributes,
    *,
    settings: Settings,
    now: datetime,
    config: TenantConfig | None = None,
) -> TrackResult:
    """``config``: the tenant's configuration when the caller has it already (the API-key lookup)."""
    validate_user_id(user_id)
    validate_action_code(action_code)
    scope = _parse_scope(attributes.scope)
    if attributes.redirect_url and not is_allowed(attributes.redirect_url, settings.redirect_allowlist):
        raise InvalidRequest(
            "redirectUrl is not in the redirect allow-list (console settings, or TOLLGATE_REDIRECT_ALLOWLIST).",
            code="redirect_url_not_allowed",
        )
    for attempt in range(ATTEMPTS):
        if attributes.idempotency_key:
            existing = find_by_idempotency_key(tenant_id, attributes.idempotency_key)
            if existing is not None:
                return _replay(existing, user_id, action_code, settings=settings, now=now)
        try:
            return _track_new(config or current_config(tenant_id), user_id, action_code, attributes, scope,
                              settings=settings, now=now)
        except IntegrityError:
            db.session.rollback()
            config = None  # the winner may have created the action: read the configuration again
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _track_new(
    config: TenantConfig,
    user_id: str,
    action_code: str,
    attributes: TrackAttributes,
    scope: tuple[str, ...],
    *,
    settings: Settings,
    now: datetime,
) -> TrackResult:
    # Read and decide first, write last: on SQLite the write lock is held from the first INSERT to
    # the commit, so the lock window is just the inserts (measured: p99 under load halves).
    tenant_id = config.tenant_id
    with db.session.no_autoflush:
        user = _user_for_tracking(tenant_id, user_id, attributes, now=now)
        enrolled = enrolled_verification_methods(user) if user.id is not None else []
    action = config.action(action_code)
    new_action = new_version = None
    if action is None:  # Authsignal's behaviour: an unknown action code is created, ALLOW by default
        new_action = new_action_configuration(tenant_id, ActionDocument(code=action_code))
        new_version = first_version(new_action, published_by="track", now=now)
        action = ActionPolicy.of(new_action, new_version)

    request = request_facts(action_code, attributes)
    geo = locate(attributes.ip_address, settings=settings)  # stored below: later tracks judge travel by it
    signals = SignalInputs(tenant_id, user, request, user_id, geo, settings, now)
    facts = user_facts(user_id, user, enrolled)
    # No trace: it is rebuilt from the version and the snapshot stored here when someone reads it
    # (replay.explanation), so a track neither computes nor writes it.
    decided = decide_with(config, action, facts, request, signals=signals, explain=False)
    shadowed = _decide_in_shadow(config, action, facts, request, signals)
    decision, state = decided.result.decision, decided.result.state
    allowed, default_method = decided.result.allowed_verification_methods, decided.result.default_verification_method
    if new_action is not None:
        db.session.add(new_action)
        db.session.flush()
        db.session.add(new_version)
        db.session.flush()
    values = {
        "tenant_id": tenant_id,
        "action_configuration_id": action.id,
        "action_code": action_code,
        "user_id": user_id,
        "idempotency_key": attributes.idempotency_key or secrets.token_hex(16),
        "state": state,
        "initial_state": state,
        "created_by": "track",
        "state_updated_at": now,
        "created_at": now,
        "updated_at": now,
        "is_enrolled": bool(enrolled),
        "allowed_verification_methods": allowed,
        "default_verification_method": default_method,
        "verification_method": None,
        "verified_by_authenticator_id": None,
        "action_version_id": action.version_id,
        "input_snapshot": decided.snapshot.to_document(),
        "rule_ids": list(decision.matched_rule_ids),
        "priority_rule_id": decision.deciding_rule.rule_id if decision.deciding_rule else None,
        "output": {},  # the trace is not stored: replay.explanation rebuilds it
        "ip_address": attributes.ip_address,
        "user_agent": attributes.user_agent,
        "device_id": attributes.device_id,
        "country_code": geo.country_code,
        "city": geo.city,
        "latitude": geo.latitude,
        "longitude": geo.longitude,
        "redirect_url": attributes.redirect_url,
        "attributes": _stored_attributes(attributes, scope),
        "result_validated_at": None,
    }
    # Webhook outbox, same transaction (the subscribers come with the tenant's configuration).
    emit_action_created(values, subscribers=config.webhook_subscribers(), now=now)
    # Plain INSERTs rather than the ORM's unit of work: this is the API's hottest write, and the
    # flush machinery cost more than the statements themselves (bench/track.py).
    connection = db.session.connection()
    # Every value is converted before the first write: on SQLite it takes the one write lock, which
    # the other workers' tracks wait for until this commit.
    user_insert = None if user.id is not None else _INSERT_USER.bind(connection, {
        "tenant_id": tenant_id, "user_id": user_id, "email": user.email, "phone_number": user.phone_number,
        "username": user.username, "custom": {}, "email_verified": False, "phone_number_verified": False,
        "created_at": now, "updated_at": now,
    })
    # Its first state is on the row (initial_state): no history row for a track.
    action_insert = _INSERT_ACTION.bind(connection, values)
    if user_insert is not None:
        user_insert.rows()
    elif user.filled:
        connection.execute(_UPDATE_USER, {"user_pk": user.id, **user.filled, "updated_at": now})
    action_id = action_insert.scalar()
    if (decided.snapshot.signals or {}).get("device", {}).get("isTrusted"):  # the console's "last used"
        _TOUCH_TRUSTED_DEVICE.rows(connection, {"user_pk": user.id, "device": request.device_id, "used_at": now})
    if shadowed is not None:
        run_id, verdict = shadowed
        _INSERT_SHADOW.rows(connection, {
            "run_id": run_id, "user_action_id": action_id, "created_at": now, "live_state": state.value,
            "shadow_state": verdict.state.value, "live_rule_id": values["priority_rule_id"],
            "shadow_rule_id": verdict.decision.deciding_rule.rule_id if verdict.decision.deciding_rule else None,
            "matched_rule_ids": list(verdict.decision.matched_rule_ids),
        })
    db.session.commit()
    stored = TrackedAction(**{name: values[name] for name in TrackedAction.__dataclass_fields__})
    return _result(stored, enrolled, settings=settings, now=now)


def _decide_in_shadow(config: TenantConfig, action: ActionPolicy, user: UserFacts, request: RequestFacts,
                      signals: SignalInputs) -> tuple[str, TrackDecision] | None:
    """(shadow run id, what it decides) for the same track, when a shadow runs on the action. It
    decides after the live version and through the same call, on a snapshot of what its own rules
    read; nothing of it reaches the response, the state or a webhook."""
    try:
        shadow = config.shadow(action)
        if shadow is None:
            return None
        return shadow.run_id, decide_with(config, action, user, request, signals=signals, version=shadow.version,
                                          explain=False).result
    except SQLAlchemyError:
        raise  # the transaction is broken either way: the track fails as it would without a shadow
    except Exception:  # a shadow is an experiment: whatever goes wrong in it, the live decision stands
        log.exception("The shadow on %s could not decide a track; the live decision stands.", action.code)
        return None


@dataclass(frozen=True)
class Decided:
    """One decision with both of its inputs: what a track stores, so it can be replayed."""

    version: RuleSetVersion
    snapshot: InputSnapshot
    result: TrackDecision


def decide_with(
    config: TenantConfig,
    action: ActionPolicy,
    user: UserFacts,
    request: RequestFacts,
    *,
    signals: SignalInputs | None = None,
    version: RuleSetVersion | None = None,
    explain: bool = True,
) -> Decided:
    """Load the two inputs of the one decision function and call it: tracking and the console's Test
    action both decide through here.

    ``version``: what decides, the action's live version unless given (the Test action tries the
    draft). ``signals`` is what risk signals are computed from; only those the active rules read
    are computed (an action whose rules read none runs no extra query). ``explain=False``: no
    trace (see :func:`~app.domain.track_decision.decide_track`)."""
    version = version or config.rule_set(action)
    with db.session.no_autoflush:  # reading must not flush (and lock) what the caller has pending
        types = config.data_point_types() if version.reads_custom_data else {}
        snapshot = InputSnapshot(
            user=user,
            request=request,
            signals=signal_namespaces(version.rules, signals) if signals is not None else None,
            lists=config.lists(set(version.list_names)) if version.list_names else {},
            data_point_types={key: types[key] for key in version.data_points_read if key in types},
        )
    return Decided(version, snapshot, decide_track(version, snapshot, explain=explain))


def user_facts(user_id: str, user: EndUser | TrackedUser | None, enrolled: list[str]) -> UserFacts:
    return UserFacts(
        user_id=user_id,
        email=user.email if user else None,
        phone_number=user.phone_number if user else None,
        username=user.username if user else None,
        custom=(user.custom or {}) if user else {},
        enrolled_verification_methods=tuple(enrolled),
    )


def request_facts(action_code: str, attributes: TrackAttributes) -> RequestFacts:
    return RequestFacts(
        action_code=action_code,
        ip_address=attributes.ip_address,
        device_id=attributes.device_id,
        user_agent=attributes.user_agent,
        custom=attributes.custom or {},
    )


def _user_for_tracking(tenant_id: str, user_id: str, attributes: TrackAttributes, *, now: datetime) -> TrackedUser:
    rows = _FIND_USER.rows(db.session.connection(), {"tenant_id": tenant_id, "user_id": user_id})
    if rows:
        first = rows[0]
        user = TrackedUser(
            first.id, first.email, first.phone_number, first.username, first.custom or {}, first.created_at,
            [AuthenticatorFacts(r.verification_method, r.verified_at, r.last_verified_at)
             for r in rows if r.verification_method is not None],
            {},
        )
    else:
        user = TrackedUser(None, None, None, None, {}, now, [], {})
    # Identifiers sent with a track fill gaps; they never overwrite what update_user set.
    for name in IDENTIFIERS:
        value = getattr(attributes, name)
        if value and not getattr(user, name):
            setattr(user, name, value)
            if user.id is not None:
                user.filled[name] = value
    return user


def _stored_attributes(attributes: TrackAttributes, scope: tuple[str, ...]) -> dict[str, Any]:
    stored: dict[str, Any] = {"scope": " ".join(scope), "custom": attributes.custom or {}}
    for name in ("email", "phone_number", "username", "locale", "challenge_id"):
        value = getattr(attributes, name)
        if value is not None:
            stored[name] = value
    if attributes.redirect_to_settings:
        stored["redirect_to_settings"] = True
    return stored


def _parse_scope(scope: str | None) -> tuple[str, ...]:
    if not scope:
        return DEFAULT_SCOPE
    requested = tuple(dict.fromkeys(scope.split()))
    unknown = [s for s in requested if s not in KNOWN_SCOPES]
    if unknown:
        raise InvalidRequest(
            f"Unknown scope {', '.join(unknown)}; known scopes: {', '.join(sorted(KNOWN_SCOPES))}.",
            code="invalid_scope",
        )
    return requested


def _replay(action: UserAction, user_id: str, action_code: str, *, settings: Settings, now: datetime) -> TrackResult:
    """Same idempotency key again: the same action, a fresh client token, nothing written."""
    if action.user_id != user_id or action.action_code != action_code:
        raise Conflict(
            "This idempotencyKey was already used for a different user or action.", code="idempotency_key_conflict"
        )
    user = db.session.execute(
        select(EndUser).where(EndUser.tenant_id == action.tenant_id, EndUser.user_id == user_id)
    ).scalar_one_or_none()
    enrolled = enrolled_verification_methods(user) if user else []
    return _result(action, enrolled, settings=settings, now=now)


def _result(action: UserAction | TrackedAction, enrolled: list[str], *, settings: Settings, now: datetime) -> TrackResult:
    scope = tuple(str(action.attributes.get("scope", "")).split()) or DEFAULT_SCOPE
    token = issue_token(
        action_ref(action),
        kind=TokenKind.CLIENT,
        scope=scope,
        signing_key=derive_signing_key(settings.secret_key),
        issuer=settings.public_url,
        now=now,
        ttl_seconds=settings.client_token_ttl,
    )
    return TrackResult(
        action=action,
        token=token,
        url=f"{settings.public_url}/challenge?token={token}",
        enrolled_verification_methods=enrolled,
    )


def action_ref(action: UserAction | TrackedAction) -> ActionRef:
    return ActionRef(
        tenant_id=action.tenant_id,
        user_id=action.user_id,
        action_code=action.action_code,
        idempotency_key=action.idempotency_key,
    )
