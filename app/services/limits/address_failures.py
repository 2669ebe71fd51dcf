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

from sqlalchemy import case, func, select

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


@dataclass(frozen=True)
class WindowSummary:
    failures: int  # counted within the window, all addresses
    refused_addresses: int  # addresses that have used up their failures, so are refused now


def summarise_window(limit: FailureLimit, *, allowed: int, now: datetime) -> WindowSummary:
    """One statement: the kind's (kind, failed_at) index range over the window, grouped by address."""
    per_address = (
        select(func.count().label("failures"))
        .where(AddressFailure.kind == limit.kind, AddressFailure.failed_at > now - limit.window)
        .group_by(AddressFailure.client_ip)
        .subquery()
    )
    failures, refused = db.session.execute(select(
        func.coalesce(func.sum(per_address.c.failures), 0),
        func.coalesce(func.sum(case((per_address.c.failures >= allowed, 1), else_=0)), 0),
    )).one()
    return WindowSummary(failures=int(failures), refused_addresses=int(refused))


def record_failure(limit: FailureLimit, client_ip: str | None, *, now: datetime) -> None:
    """Count a failure against the address, in the caller's transaction (the caller commits)."""
    if client_ip is not None:
        db.session.add(AddressFailure(kind=limit.kind, client_ip=client_ip[:64], failed_at=now))
