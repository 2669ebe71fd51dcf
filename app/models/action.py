"""An action's configuration (what admins set up per action code), its rules and its published versions.

The configuration's policy columns and its rules are the **draft**: what the console and the CLI
edit. Tracks are decided by the action's **live version**, the one of its :class:`ActionVersion`
rows with the highest number; publishing (or rolling back) appends a row, nothing ever changes one
(services.rulesets.versions).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.decision import Outcome, UnenrolledPolicy, VerificationMethod
from app.models.base import Base, TenantOwned, UTCDateTime, new_id, str_enum, utcnow
from app.models.review import OverduePolicy


class ActionConfiguration(TenantOwned, Base):
    __tablename__ = "action_configuration"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    default_outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome))
    verification_methods: Mapped[list[str]] = mapped_column(JSON)
    default_verification_method: Mapped[VerificationMethod | None] = mapped_column(str_enum(VerificationMethod))
    unenrolled_policy: Mapped[UnenrolledPolicy] = mapped_column(str_enum(UnenrolledPolicy))
    # Manual review SLA (services/reviews/sla.py): minutes a REVIEW_REQUIRED case may wait, then the policy.
    review_deadline_minutes: Mapped[int | None] = mapped_column(Integer)
    review_overdue_policy: Mapped[OverduePolicy] = mapped_column(
        str_enum(OverduePolicy), default=OverduePolicy.FLAG, server_default=OverduePolicy.FLAG.value
    )
    # Passkeys that may be backed up to a cloud account (WebAuthn BE flag) are refused when this is set,
    # at registration and at sign-in (services.challenges.passkeys), not only left out of the options.
    require_device_bound_passkey: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Console users who changed the draft since it was last published or discarded: with the tenant's
    # four-eyes setting on, none of them may publish it.
    draft_authors: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    rules: Mapped[list[Rule]] = relationship(
        back_populates="action_configuration", order_by="Rule.priority", cascade="all, delete-orphan"
    )


class Rule(Base):
    __tablename__ = "rule"
    __table_args__ = (
        UniqueConstraint("action_configuration_id", "priority"),
        CheckConstraint("priority >= 0 AND priority <= 99", name="priority_range"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    action_configuration_id: Mapped[str] = mapped_column(ForeignKey("action_configuration.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome))
    verification_methods: Mapped[list[str] | None] = mapped_column(JSON)
    default_verification_method: Mapped[VerificationMethod | None] = mapped_column(str_enum(VerificationMethod))
    conditions: Mapped[dict | None] = mapped_column(JSON)
    # Bumped on every change. No cache keys on it any more (a published version is compiled per
    # version id): it only counts a rule's edits.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    action_configuration: Mapped[ActionConfiguration] = relationship(back_populates="rules")


class ActionVersion(Base):
    """One published rule set of an action, immutable: the document (policy and every rule, see
    app.domain.rule_sets) that decided each track stored with its id."""

    __tablename__ = "action_version"
    __table_args__ = (UniqueConstraint("action_configuration_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    # Versions outlive a deleted action, as its tracked actions do: they still replay.
    action_configuration_id: Mapped[str | None] = mapped_column(
        ForeignKey("action_configuration.id", ondelete="SET NULL")
    )
    action_code: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(500))
    # Set when this version republished an earlier one (a rollback).
    restored_from: Mapped[int | None] = mapped_column(Integer)
    # What the publisher saw it would do: the draft's impact back-test (app.domain.backtest), summed up.
    impact: Mapped[dict | None] = mapped_column(JSON)
    published_by: Mapped[str] = mapped_column(String(320))  # the console user's email, or cli / api / track
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
