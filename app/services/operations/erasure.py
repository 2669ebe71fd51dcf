"""Erasing a data subject: everything a tenant holds about one user id, deleted or made anonymous,
in one transaction.

``DELETE /v1/users/{userId}`` is the Authsignal contract's delete: the user and their
authenticators go, their tracked actions stay as history until the retention purge. Erasing is for
a person who asked to be forgotten. Table by table, chosen so that what the console and
``/metrics`` count (actions per action code, outcome and state; the review queue) stays as it was:

* ``user_action`` rows stay, anonymised. The user id becomes a random pseudonym (``erased-…``,
  one per erasure: derived from nothing, and per-user counts stay what they were); the idempotency
  key, which callers often build from the user id, becomes the pseudonym and the row id; the IP,
  user agent, device id, location, redirect URL and attributes (custom data, email, phone,
  username) are cleared; the decision output keeps which rules matched and decided but not the
  values they observed, and the input snapshot goes (an erased action can no longer be replayed:
  its inputs were the person's data). State, action code, times, rules and methods stay, so the counts do.
  Erasing decides nothing: a case waiting for review keeps waiting. The retention purge deletes
  these rows in their time like any others, with their state changes, review claims and overdue
  flags, which hold nothing personal and so stay with them until then.
* ``review_decision`` rows stay, with the pseudonym; the reviewer's reason is free text about the
  person and becomes ``[erased]``. ``review_note`` rows are the same kind of text, counted
  nowhere, and are deleted.
* The ``end_user`` row is deleted as DELETE deletes it (``end_users.users.remove_user_record``), and
  with it the authenticators, passkeys, recovery codes, verification attempts, WebAuthn
  challenges and email-code challenges; the emails that carried those codes (``outbound_message``,
  which name the address) are deleted first, uncounted. Failed attempts are the code rate limit's
  rows; besides it only a five-minute ``/metrics`` gauge counts them.
* ``webhook_event`` rows about the user are deleted with their deliveries: a pending one would
  send the data out after the erasure. The webhook backlog gauges lose them; nothing is left to send.
* ``audit_event`` entries about the user (on one of their actions, or recording their user id: an
  authenticator of theirs, an export of their activity) keep who did what and when, but the
  person's values in them (user id, email, phone, IP, user agent, device id) become ``[erased]``,
  as do the contact details such an entry records and the reason kept with a review decision on
  one of their actions. Entries are chosen by what they are about, never by a matching value
  alone: a track's attributes are the API caller's to choose, and a value they share with a
  console user or another person must not blank entries about someone else. The audit log holds
  console changes only, small beside the actions, and is read in Python.
* One audit event records the erasure: the pseudonym, how many rows of each kind and the ids of the
  audit entries it redacted (the hash chain accepts their changed content because this later,
  chained entry names them), never the user id. Even a keyed digest of the id would let anyone
  holding an id confirm it was erased.

Left alone: custom and network lists (configuration an admin curates; taking an address out of a
block list would change other users' decisions), console sign-in failures (admins' addresses),
usernameless passkey sign-in challenges (an address tied to no user, deleted a day after they
expire), and everything outside the database: backups, logs. An action tracked for the user
while the erasure runs keeps their id; erasing again takes it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select, update

from app.domain.decision import without_observations
from app.domain.errors import NotFound
from app.domain.redaction import ERASED, redact
from app.extensions import db
from app.models import (
    AuditEvent,
    CodeChallenge,
    ConsoleUser,
    EndUser,
    OutboundMessage,
    ReviewDecision,
    ReviewNote,
    UserAction,
    WebhookEvent,
)
from app.services.decisions.replay import SNAPSHOT_COLUMNS, explanation
from app.services.end_users.users import find_user, remove_user_record, validate_user_id
from app.services.tenancy.audit import record_change
from app.services.tenancy.audit_chain import ERASURE_EVENT, REDACTED_KEY
from app.services.tenancy.tenant_config import TenantConfig, current_config

PSEUDONYM_PREFIX = "erased-"
EVENT = ERASURE_EVENT
# Where an entry that names the user keeps their contact details (e.g. a removed authenticator's),
# found by key because once DELETE has removed the user nothing else says what they were.
CONTACT_KEYS = frozenset({"email", "phoneNumber", "username", "displayName"})
# The free text an audit entry about one of the user's actions carries: a review decision's reason.
FREE_TEXT_KEYS = frozenset({"reason"})
AUDIT_BATCH = 500
_NOTHING = frozenset[str]()


@dataclass(frozen=True)
class ErasureCounts:
    """How many rows of each kind an erasure deletes or anonymises."""

    user_records: int  # 0 or 1: DELETE may have removed the user before
    authenticators: int
    actions: int
    review_decisions: int
    review_notes: int
    webhook_events: int
    audit_events: int

    @property
    def total(self) -> int:
        return sum(getattr(self, field.name) for field in fields(self))

    @property
    def deleted(self) -> int:
        """Rows that go; the actions and decisions stay, anonymised, and audit entries stay, redacted."""
        return self.user_records + self.authenticators + self.review_notes + self.webhook_events

    def as_dict(self) -> dict[str, int]:
        """camelCase, as the audit event and the API spell it."""
        return {
            "userRecords": self.user_records, "authenticators": self.authenticators, "actions": self.actions,
            "reviewDecisions": self.review_decisions, "reviewNotes": self.review_notes,
            "webhookEvents": self.webhook_events, "auditEvents": self.audit_events,
        }


@dataclass(frozen=True)
class Erasure:
    pseudonym: str  # the user id the anonymised actions and review decisions now carry
    counts: ErasureCounts


@dataclass(frozen=True)
class _Held:
    """What is held about the user, all read before anything is written (SQLite's write lock is
    then held only for the writes)."""

    actions: list[Any]  # rows of the id, output and what in them names the person
    audit_changes: list[dict[str, Any]]  # {"id", "before", "after"}, already redacted
    counts: ErasureCounts


def held_about(tenant_id: str, user_id: str) -> ErasureCounts:
    """What erasing ``user_id`` would delete or anonymise, for a confirmation to show. NotFound
    when nothing is held."""
    return _read_held(tenant_id, user_id).counts


def erase_user(tenant_id: str, user_id: str, *, by: ConsoleUser | str, now: datetime) -> Erasure:
    """Erase what the tenant holds about ``user_id`` (see the module docstring) and audit it, in one
    commit. ``by``: the console user, or ``api`` / ``cli``. NotFound when nothing is held, so
    erasing the same id again says so."""
    held = _read_held(tenant_id, user_id)
    pseudonym = PSEUDONYM_PREFIX + secrets.token_hex(12)
    unsynchronised = {"synchronize_session": False}
    # These find the user's rows by the user id, so they run before the actions lose it.
    db.session.execute(delete(ReviewNote).where(ReviewNote.user_action_id.in_(_their_action_ids(tenant_id, user_id))),
                       execution_options=unsynchronised)
    db.session.execute(
        update(ReviewDecision).where(ReviewDecision.tenant_id == tenant_id, ReviewDecision.user_id == user_id)
        .values(user_id=pseudonym, reason=ERASED), execution_options=unsynchronised,
    )
    if held.actions:
        # Core executemany, not the ORM's bulk update by primary key: an action the retention purge
        # deleted meanwhile is simply gone, rather than a row-count mismatch failing the erasure.
        config = current_config(tenant_id)
        db.session.execute(_ANONYMISE_ACTION, [_anonymised(config, row, pseudonym, now) for row in held.actions])
    db.session.execute(delete(WebhookEvent).where(*_their_webhook_events(tenant_id, user_id)),
                       execution_options=unsynchronised)
    if held.audit_changes:
        db.session.execute(update(AuditEvent), held.audit_changes)
    # Emails carrying their codes name their address; the codes' challenges go with the user record.
    db.session.execute(delete(OutboundMessage).where(OutboundMessage.code_challenge_id.in_(
        select(CodeChallenge.id).join(EndUser).where(EndUser.tenant_id == tenant_id, EndUser.user_id == user_id))),
        execution_options=unsynchronised)
    remove_user_record(tenant_id, user_id)
    redacted = {REDACTED_KEY: sorted(change["id"] for change in held.audit_changes)}
    record_change(by, EVENT, pseudonym, "end_user", tenant_id=tenant_id, after=held.counts.as_dict() | redacted, now=now)
    db.session.commit()
    return Erasure(pseudonym=pseudonym, counts=held.counts)


def _read_held(tenant_id: str, user_id: str) -> _Held:
    validate_user_id(user_id)
    user = find_user(tenant_id, user_id)
    actions = db.session.execute(
        _their_action_ids(tenant_id, user_id)
        .add_columns(UserAction.output, UserAction.action_version_id, *SNAPSHOT_COLUMNS)
    ).all()
    audit_changes = _audit_changes(tenant_id, user_id, _identifiers(user_id, user, actions),
                                   {str(row.id) for row in actions})
    counts = ErasureCounts(
        user_records=int(user is not None),
        authenticators=len(user.authenticators) if user is not None else 0,
        actions=len(actions),
        review_decisions=_count(ReviewDecision, ReviewDecision.tenant_id == tenant_id, ReviewDecision.user_id == user_id),
        review_notes=_count(ReviewNote, ReviewNote.user_action_id.in_(_their_action_ids(tenant_id, user_id))),
        webhook_events=_count(WebhookEvent, *_their_webhook_events(tenant_id, user_id)),
        audit_events=len(audit_changes),
    )
    if not counts.total:
        raise NotFound("Nothing is held about this user id.", code="user_not_found")
    return _Held(actions=actions, audit_changes=audit_changes, counts=counts)


def _their_action_ids(tenant_id: str, user_id: str) -> Select:
    return select(UserAction.id).where(UserAction.tenant_id == tenant_id, UserAction.user_id == user_id)


def _count(model, *criteria) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*criteria)).scalar_one()


def _their_webhook_events(tenant_id: str, user_id: str) -> tuple:
    # Every event Tollgate emits names its user there (delivery.events.action_data, authenticator_data).
    return WebhookEvent.tenant_id == tenant_id, WebhookEvent.data["userId"].as_string() == user_id


def _identifiers(user_id: str, user: EndUser | None, actions: list[Any]) -> frozenset[str]:
    """Every value that names the person: what audit entries are searched for."""
    found: set[Any] = {user_id}
    if user is not None:
        found.update((user.email, user.phone_number, user.username, user.display_name))
        for authenticator in user.authenticators:
            found.update((authenticator.email, authenticator.phone_number))
    for row in actions:
        found.update((row.ip_address, row.user_agent, row.device_id))
        attributes = row.attributes or {}
        found.update(attributes.get(name) for name in ("email", "phone_number", "username"))
    return frozenset(value for value in found if isinstance(value, str) and value)


def _audit_changes(tenant_id: str, user_id: str, identifiers: frozenset[str], action_ids: set[str]) -> list[dict[str, Any]]:
    """Entries about the person, found by what they are about (one of their actions, or a record
    naming their user id), never by a value alone: an API caller chooses what a track says, and a
    console user's email or a shared IP must not blank entries about someone else."""
    changes = []
    entries = db.session.execute(
        select(AuditEvent.id, AuditEvent.target_type, AuditEvent.target_id, AuditEvent.before, AuditEvent.after)
        .where(AuditEvent.tenant_id == tenant_id).execution_options(yield_per=AUDIT_BATCH)
    )
    for entry in entries:
        documents = (entry.before, entry.after)
        about_their_action = entry.target_type == "user_action" and entry.target_id in action_ids
        if not (about_their_action or any(_names_user(document, user_id) for document in documents)):
            continue
        keys = CONTACT_KEYS | (FREE_TEXT_KEYS if about_their_action else _NOTHING)
        before, after = (redact(document, identifiers, keys=keys) for document in documents)
        if (before, after) != documents:
            changes.append({"id": entry.id, "before": before, "after": after})
    return changes


def _names_user(document: Any, user_id: str) -> bool:
    """A record of one of their authenticators (``userId``), or an export of their activity."""
    if not isinstance(document, dict):
        return False
    filters = document.get("filters")
    return document.get("userId") == user_id or (isinstance(filters, dict) and filters.get("user") == user_id)


_ANONYMISABLE = ("user_id", "idempotency_key", "updated_at", "ip_address", "user_agent", "device_id", "country_code",
                 "city", "latitude", "longitude", "redirect_url", "verified_by_authenticator_id", "attributes", "output",
                 "input_snapshot")
_ANONYMISE_ACTION = (
    update(UserAction.__table__).where(UserAction.__table__.c.id == bindparam("action_id"))
    .values({name: bindparam(name) for name in _ANONYMISABLE})
)


def _anonymised(config: TenantConfig, row: Any, pseudonym: str, now: datetime) -> dict[str, Any]:
    # The snapshot goes, so the explanation it would rebuild is kept, without what it observed.
    explained = explanation(row, config=config)
    return {
        "action_id": row.id, "user_id": pseudonym, "idempotency_key": f"{pseudonym}-{row.id}", "updated_at": now,
        "ip_address": None, "user_agent": None, "device_id": None, "country_code": None, "city": None,
        "latitude": None, "longitude": None, "redirect_url": None, "verified_by_authenticator_id": None,
        "attributes": {}, "output": without_observations(explained), "input_snapshot": None,
    }
