"""Failures counted per client address, in the database, so one limit holds across every worker
and instance: failed console sign-ins, invalid API keys (services.tenancy.api_keys).

Each kind has its window. An address with ``allowed`` failures of a kind inside the window is
refused (TooManyRequests, Retry-After the whole window) until enough of them age out. Refusals are
not failures themselves: however long a flood goes on, an address adds at most ``allowed`` rows per
window. ``flask tollgate purge`` deletes the rows no window counts any more
(services.operations.retention).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.domain.errors import TooManyRequests
from app.extensions import db
from app.models import AddressFailure


@dataclass(frozen=True)
class FailureLimit:
    kind: str  # stored with each failure
    window: timedelta
    refusal: str  # the 429's message


SIGN_IN = FailureLimit("sign_in", timedelta(minutes=15),
                       "Too many failed sign-ins from your network. Try again in 15 minutes.")
API_KEY = FailureLimit("api_key", timedelta(minutes=1),
                       "Too many requests with an invalid API key from this address. Try again in a minute.")


def refuse_when_over(limit: FailureLimit, client_ip: str | None, *, allowed: int, now: datetime) -> None:
    """Raise TooManyRequests when the address has used up its failures of this kind."""
    if client_ip is None:
        return
    recent = db.session.execute(
        select(func.count()).select_from(AddressFailure).where(
            AddressFailure.kind == limit.kind, AddressFailure.client_ip == client_ip[:64],
            AddressFailure.failed_at > now - limit.window)
    ).scalar_one()
    if recent >= allowed:
        raise TooManyRequests(limit.refusal, retry_after=int(limit.window.total_seconds()))


def record_failure(limit: FailureLimit, client_ip: str | None, *, now: datetime) -> None:
    """Count a failure against the address, in the caller's transaction (the caller commits)."""
    if client_ip is not None:
        db.session.add(AddressFailure(kind=limit.kind, client_ip=client_ip[:64], failed_at=now))
