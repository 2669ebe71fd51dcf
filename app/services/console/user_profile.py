"""One end user's page in the console: who they are, what they enrolled, what they did lately."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.domain.errors import NotFound
from app.extensions import db
from app.models import Authenticator, EndUser, TrustedDevice
from app.models.base import utcnow
from app.services.console.activity import ActivityFilters, ActivityRow, list_activity
from app.services.decisions.trace_view import as_json_text
from app.services.end_users.trusted_devices import list_trusted_devices

RECENT_ACTIONS = 20


@dataclass(frozen=True)
class UserProfile:
    user: EndUser
    authenticators: list[Authenticator]  # passkey details loaded
    custom: list[tuple[str, str]]  # (key, JSON text of the value), sorted by key
    recent_actions: list[ActivityRow]  # newest first
    trusted_devices: list[TrustedDevice]  # live ones, newest first


def get_user_profile(tenant_id: str, user_id: str) -> UserProfile:
    user = db.session.execute(
        select(EndUser).where(EndUser.tenant_id == tenant_id, EndUser.user_id == user_id)
        .options(selectinload(EndUser.authenticators).selectinload(Authenticator.passkey))
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"There is no user “{user_id}”: nothing was tracked for them, or they were deleted.")
    recent = list_activity(tenant_id, ActivityFilters(user_id=user_id), limit=RECENT_ACTIONS).rows
    custom = sorted((str(key), as_json_text(value)) for key, value in (user.custom or {}).items())
    return UserProfile(user=user, authenticators=list(user.authenticators), custom=custom, recent_actions=recent,
                       trusted_devices=list_trusted_devices(tenant_id, user_id, now=utcnow()))
