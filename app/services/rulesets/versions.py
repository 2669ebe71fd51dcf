"""An action's rule-set lifecycle: the draft admins edit, publishing it as a new immutable version,
discarding it, and rolling back to an earlier version.

The draft is the action's policy columns and its rule rows (services.rulesets.rules edits them);
the live version is the action's highest-numbered :class:`ActionVersion`. Publishing and rolling
back both append a version, so "live" never needs a pointer to move: the unique (action, number)
pair lets exactly one of two concurrent publishes win, and the new row changes the tenant's
configuration stamp, so the very next track in every worker is decided by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.domain.decision import Outcome, UnenrolledPolicy, VerificationMethod
from app.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound
from app.domain.rule_sets import RuleSetDiff, diff_rule_sets, document_digest
from app.domain.rules import validate_conditions
from app.extensions import db
from app.models import ActionConfiguration, ActionVersion, ConsoleUser, Rule, Tenant
from app.models.base import utcnow
from app.services.rulesets.drafts import Actor, actor_name, draft_document
from app.services.rulesets.rules import get_action_configuration
from app.services.tenancy.audit import record_change

MAX_NOTE = 500


def live_version(config: ActionConfiguration) -> ActionVersion:
    version = db.session.execute(
        select(ActionVersion).where(ActionVersion.action_configuration_id == config.id)
        .order_by(ActionVersion.number.desc()).limit(1)
    ).scalar_one_or_none()
    if version is None:  # every path that creates an action publishes its version 1
        raise NotFound(f"Action '{config.code}' has no published version.", code="version_not_found")
    return version


def list_versions(config: ActionConfiguration) -> list[ActionVersion]:
    """Newest first: the first is live."""
    return list(db.session.execute(
        select(ActionVersion).where(ActionVersion.action_configuration_id == config.id)
        .order_by(ActionVersion.number.desc())
    ).scalars())


def find_version(config: ActionConfiguration, number: int) -> ActionVersion:
    version = db.session.execute(
        select(ActionVersion).where(ActionVersion.action_configuration_id == config.id, ActionVersion.number == number)
    ).scalar_one_or_none()
    if version is None:
        raise NotFound(f"Action '{config.code}' has no version {number}.", code="version_not_found")
    return version


@dataclass(frozen=True)
class Draft:
    config: ActionConfiguration
    live: ActionVersion
    document: dict[str, Any]
    diff: RuleSetDiff

    @property
    def digest(self) -> str:
        return document_digest(self.document)


def draft_of(tenant_id: str, code: str) -> Draft:
    return draft_for(get_action_configuration(tenant_id, code))


def draft_for(config: ActionConfiguration) -> Draft:
    live = live_version(config)
    document = draft_document(config)
    return Draft(config, live, document, diff_rule_sets(live.document, document))


def publish_document(actor: Actor, tenant_id: str, code: str, document: dict[str, Any], *, note: str,
                     base_number: int, impact: dict[str, Any] | None = None,
                     now: datetime | None = None) -> ActionVersion:
    """Publish ``document`` (a shadow's rules, promoted) as the next version, on top of version
    ``base_number`` only: numbers measured against an older live version would mislead. The draft
    stays as it is; publishing exactly the draft leaves no draft, as :func:`publish` does. The
    caller commits (promoting a shadow ends it in the same transaction)."""
    note = _checked_note(note)
    begin_alone(tenant_id, code)
    draft = draft_of(tenant_id, code)
    if draft.live.number != base_number:
        raise Conflict(f"Version {draft.live.number} went live after version {base_number}, which this was "
                       "measured against. Measure it again against the live version.", code="version_moved")
    if document_digest(document) == document_digest(draft.live.document):
        raise InvalidRequest(f"Nothing to publish: these are the rules of version {draft.live.number}.",
                             code="draft_unchanged")
    return _publish(actor, draft, document, note=note, impact=impact, now=now)


def publish(actor: Actor, tenant_id: str, code: str, *, note: str, draft_digest: str | None = None,
            impact: dict[str, Any] | None = None, now: datetime | None = None) -> ActionVersion:
    """Publish the draft as the next version. ``draft_digest``: the draft the publisher reviewed;
    a draft changed since is refused, never published unseen. ``impact``: what its back-test
    showed the publisher (services.decisions.backtests), kept with the version."""
    note = _checked_note(note)
    begin_alone(tenant_id, code)
    draft = draft_of(tenant_id, code)
    if not draft.diff:
        raise InvalidRequest(f"Nothing to publish: the draft is the same as version {draft.live.number}.",
                             code="draft_unchanged")
    if draft_digest is not None and draft_digest != draft.digest:
        raise Conflict("The draft changed since you reviewed it. Look at the changes again before publishing.",
                       code="draft_changed")
    version = _publish(actor, draft, draft.document, note=note, impact=impact, now=now)
    db.session.commit()
    return version


def publish_in_transaction(actor: Actor, config: ActionConfiguration, *, note: str,
                           now: datetime | None = None) -> ActionVersion | None:
    """Publish the draft as the next version inside the caller's transaction (config apply
    publishes every action it changed in one), or None when the draft is the live version. Not
    :func:`publish`: its lock opens a transaction of its own. Two concurrent publishes still
    cannot both win (the unique version number); the caller commits."""
    draft = draft_for(config)
    if not draft.diff:
        return None
    return _publish(actor, draft, draft.document, note=_checked_note(note), impact=None, now=now)


def set_draft(config: ActionConfiguration, document: dict[str, Any]) -> None:
    """Make the draft equal ``document`` (a rule-set document; its rules keep the ids given), in the
    caller's transaction: config apply writes a whole rule set at once."""
    _restore(config, document)


def _publish(actor: Actor, draft: Draft, document: dict[str, Any], *, note: str, impact: dict[str, Any] | None,
             now: datetime | None) -> ActionVersion:
    check_publishable(document)
    if not may_publish(actor, draft):
        raise Forbidden("Publishing needs a second admin: you changed this draft, so another admin must publish it.",
                        code="second_admin_required")
    version = _append(actor, draft.config, draft.live, dict(document), note=note, now=now)
    version.impact = impact
    if document_digest(document) == draft.digest:  # the whole draft went live: nobody authored what is left
        draft.config.draft_authors = []
    record_change(actor, "action.published", draft.config.id, "action", tenant_id=draft.config.tenant_id,
                  before=_audited(draft.live), after=_audited(version))
    return version


def discard(actor: Actor, tenant_id: str, code: str) -> ActionVersion:
    """Put the draft back to the live version; returns the live version."""
    begin_alone(tenant_id, code)
    draft = draft_of(tenant_id, code)
    if not draft.diff:
        raise InvalidRequest("There is no draft to discard: the rules are those of the live version.",
                             code="draft_unchanged")
    _restore(draft.config, draft.live.document)
    draft.config.draft_authors = []
    record_change(actor, "action.draft_discarded", draft.config.id, "action", tenant_id=tenant_id,
                  before={"code": code, **draft.document}, after=_audited(draft.live))
    db.session.commit()
    return draft.live


def rollback(actor: Actor, tenant_id: str, code: str, number: int, *, note: str | None = None,
             now: datetime | None = None) -> ActionVersion:
    """Republish version ``number`` as a new version (history only grows), and make it the draft too."""
    begin_alone(tenant_id, code)
    draft = draft_of(tenant_id, code)
    target = find_version(draft.config, number)
    if target.id == draft.live.id:
        raise InvalidRequest(f"Version {number} is already live.", code="version_is_live")
    if draft.diff:
        raise Conflict("The draft has unpublished changes. Publish or discard them before rolling back.",
                       code="draft_pending")
    note = _checked_note(note or f"Rolled back to version {number}.")
    version = _append(actor, draft.config, draft.live, target.document, note=note, now=now, restored_from=number)
    _restore(draft.config, target.document)
    draft.config.draft_authors = []
    record_change(actor, "action.rolled_back", draft.config.id, "action", tenant_id=tenant_id,
                  before=_audited(draft.live), after=_audited(version))
    db.session.commit()
    return version


def begin_alone(tenant_id: str, code: str) -> None:
    """Start a transaction that no other publish, discard or rollback of this action runs beside:
    the second waits, then reads what the first committed (and, say, finds nothing left to publish).

    An UPDATE that changes nothing is the one statement that locks on both databases: the action's
    row on PostgreSQL, the write lock on SQLite. It must open the transaction: SQLite cannot turn a
    read begun before another writer committed into a write."""
    db.session.rollback()
    table = ActionConfiguration.__table__
    db.session.execute(update(table).where(table.c.tenant_id == tenant_id, table.c.code == code)
                       .values(code=table.c.code))
    db.session.expire_all()  # what this session loaded before the lock may be stale (a rollback after a commit expires nothing)


def _append(actor: Actor, config: ActionConfiguration, live: ActionVersion, document: dict[str, Any], *,
            note: str, now: datetime | None, restored_from: int | None = None) -> ActionVersion:
    version = ActionVersion(
        tenant_id=config.tenant_id, action_configuration_id=config.id, action_code=config.code,
        number=live.number + 1, document=document, note=note, restored_from=restored_from,
        published_by=actor_name(actor), published_at=now or utcnow(),
    )
    db.session.add(version)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(f"Someone else published version {live.number + 1} a moment ago. "
                       "Look at the versions and the draft again.", code="version_taken") from exc
    return version


def _restore(config: ActionConfiguration, document: dict[str, Any]) -> None:
    """Make the draft (policy columns and rule rows) equal ``document``; rules keep their ids.

    Every rule row goes and comes back: priorities are unique per action and not deferrable, so
    updating them in place could collide mid-way."""
    config.default_outcome = Outcome(document["defaultOutcome"])
    config.verification_methods = list(document["verificationMethods"])
    config.default_verification_method = _method(document["defaultVerificationMethod"])
    config.unenrolled_policy = UnenrolledPolicy(document["unenrolledPolicy"])
    for rule in list(config.rules):
        db.session.delete(rule)
    db.session.flush()
    db.session.expire(config, ["rules"])
    for rule in document["rules"]:
        db.session.add(Rule(
            id=rule["ruleId"], action_configuration_id=config.id, name=rule["name"],
            description=rule["description"], is_active=rule["isActive"], priority=rule["priority"],
            outcome=Outcome(rule["outcome"]), verification_methods=rule["verificationMethods"],
            default_verification_method=_method(rule["defaultVerificationMethod"]), conditions=rule["conditions"],
        ))
    db.session.flush()
    db.session.expire(config, ["rules"])


def _method(value: str | None) -> VerificationMethod | None:
    return VerificationMethod(value) if value else None


def _checked_note(note: str | None) -> str:
    note = (note or "").strip()
    if not note:
        raise InvalidRequest("Say what this version changes (a change note is required).", code="note_required")
    if len(note) > MAX_NOTE:
        raise InvalidRequest(f"A change note has at most {MAX_NOTE} characters; this one has {len(note)}.",
                             code="note_too_long")
    return note


def check_publishable(document: dict[str, Any]) -> None:
    """What the editors check on save, again: a draft written another way (an old row, SQL) must
    not become live broken."""
    for rule in document["rules"]:
        validate_conditions(rule["conditions"])
    default = document["defaultVerificationMethod"]
    if not document["verificationMethods"]:
        raise InvalidRequest("The action must allow at least one verification method.", code="invalid_draft")
    if default and default not in document["verificationMethods"]:
        raise InvalidRequest("The default verification method must be one the action allows.", code="invalid_draft")


def may_publish(actor: Actor, draft: Draft) -> bool:
    """Four-eyes: with the tenant's setting on, no console user who changed a draft publishes it.
    (The CLI is the operator's, who holds the database anyway, and is not held to it.)"""
    if not isinstance(actor, ConsoleUser) or actor.id not in draft.config.draft_authors:
        return True
    return not needs_second_admin(draft.config.tenant_id)


def needs_second_admin(tenant_id: str) -> bool:
    return bool(db.session.execute(
        select(Tenant.publish_needs_second_admin).where(Tenant.id == tenant_id)
    ).scalar_one())


def _audited(version: ActionVersion) -> dict[str, Any]:
    audited = {"code": version.action_code, "version": version.number, "note": version.note, **version.document}
    if version.impact:
        audited["impact"] = version.impact
    return audited
