"""The manual-review queue's own records: who holds a case, what was noted, what was decided.

The case itself is the ``user_action`` row in REVIEW_REQUIRED; these tables only add to it. A
claim is one row per action (its primary key), so two reviewers claiming at once cannot both win.
Notes and decisions are append-only: only erasing the person a case is about deletes its notes
and blanks a decision's reason (services.operations.erasure).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, or_
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.decision import ActionState
from app.models.base import Base, BigId, UTCDateTime, str_enum, utcnow


class OverduePolicy(StrEnum):
    """What happens to a case still waiting when its action's review deadline passes."""

    FLAG = "FLAG"  # highlight it in the queue, decide nothing
    AUTO_APPROVE = "AUTO_APPROVE"
    AUTO_REJECT = "AUTO_REJECT"


class ReviewClaim(Base):
    """A reviewer working on a case; it lapses at ``expires_at`` unless they keep working on it.

    An admin's assignment is a claim too, held for the assignee: it has no ``expires_at`` (it holds
    until they decide or release it, or an admin reassigns or releases it) and names who assigned it.
    """

    __tablename__ = "review_claim"

    user_action_id: Mapped[int] = mapped_column(
        ForeignKey("user_action.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    console_user_id: Mapped[str] = mapped_column(ForeignKey("console_user.id", ondelete="CASCADE"), index=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: an assignment
    assigned_by: Mapped[str | None] = mapped_column(String(320))  # the assigning admin's email

    @hybrid_method
    def is_held(self, now: datetime) -> bool:
        """Whether the claim still holds the case at ``now``: the one lapse rule, in Python and in SQL
        (``ReviewClaim.is_held(now)`` in a WHERE, ``~ReviewClaim.is_held(now)`` for a lapsed one)."""
        return self.expires_at is None or self.expires_at > now

    @is_held.expression
    def is_held(cls, now: datetime):  # noqa: N805 (the class-level SQL expression)
        return or_(cls.expires_at.is_(None), cls.expires_at > now)


class ReviewNote(Base):
    __tablename__ = "review_note"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_action_id: Mapped[int] = mapped_column(ForeignKey("user_action.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("console_user.id", ondelete="SET NULL"))
    author_email: Mapped[str] = mapped_column(String(320))  # kept when the author is removed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)


class ReviewDecision(Base):
    """One approve or reject; at most one per stay in REVIEW_REQUIRED (the state change decides)."""

    __tablename__ = "review_decision"
    # "Earlier decisions for this user" reads by (tenant, user, time); the activity's reason filter by code.
    __table_args__ = (Index(None, "tenant_id", "user_id", "decided_at"), Index(None, "tenant_id", "reason_code"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    user_action_id: Mapped[int] = mapped_column(ForeignKey("user_action.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    action_code: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[ActionState] = mapped_column(str_enum(ActionState))  # REVIEW_SUCCEEDED or REVIEW_FAILED
    reason: Mapped[str] = mapped_column(Text)  # what the reviewer wrote, else the reason code's label
    # The tenant's reason code picked (domain.review_reasons), as it was named then; None: none picked.
    reason_code: Mapped[str | None] = mapped_column(String(64))
    reason_label: Mapped[str | None] = mapped_column(String(80))
    # console (one case), bulk (an admin's selection), api (update_action) or sla (deadline passed)
    source: Mapped[str] = mapped_column(String(16))
    decided_by_id: Mapped[str | None] = mapped_column(ForeignKey("console_user.id", ondelete="SET NULL"))
    decided_by: Mapped[str] = mapped_column(String(320))  # the reviewer's email, or "api" / "sla"
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewOverdueFlag(Base):
    """Set once by the SLA job for a case whose deadline passed under the FLAG policy."""

    __tablename__ = "review_overdue_flag"

    user_action_id: Mapped[int] = mapped_column(
        ForeignKey("user_action.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
