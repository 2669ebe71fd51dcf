"""Failures counted per client address, in the database, so one limit holds across every worker
and instance: failed console sign-ins, invalid API keys (services.tenancy.api_keys); and, by the
same mechanism, the codes an address asks to be sent (CODE_SEND, services.delivery.messages).

Each kind has its window. An address with ``allowed`` failures of a kind inside the window is
refused (TooManyRequests, Retry-After the whole window) until enough of them age out. Refusals are
not failures themselves: however long a flood goes on, an address adds at most ``allowed`` rows per
window. ``flask tollgate purge`` deletes the rows no window counts any more
(services.operations.retention).

An address is an IPv4 address or an IPv6 /64 (``app.domain.client_address``). The limit is exact
under concurrency: an attempt is counted as a failure *before* it is checked
(limits.slots), so a burst from one address gets exactly ``allowed`` attempts checked; one that
turns out valid is forgiven.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from app.domain.client_address import limited_address
from app.domain.errors import TooManyRequests
from app.extensions import db
from app.models import AddressFailure
from app.services.limits import slots


@dataclass(frozen=True)
class FailureLimit:
    kind: str  # stored with each failure
    window: timedelta
    refusal: str  # the 429's message


SIGN_IN = FailureLimit("sign_in", timedelta(minutes=15),
                       "Too many failed sign-ins from your network. Try again in 15 minutes.")
API_KEY = FailureLimit("api_key", timedelta(minutes=1),
                       "Too many requests with an invalid API key from this address. Try again in a minute.")
# Not failures but places: each code (or link) a client address asks the client API or the hosted pages to
# send takes one, never forgiven (Settings.sends_per_client_address_per_hour).
CODE_SEND = FailureLimit("code_send", timedelta(hours=1),
                         "Too many codes were asked for from your network in the last hour; try again later.")


def take_failure(limit: FailureLimit, client_ip: str | None, *, allowed: int, now: datetime) -> AddressFailure | None:
    """Count the attempt about to be checked as a failure of the address, or raise TooManyRequests
    (nothing counted) when the address has used up its failures of this kind. None when there is
    no address. The caller commits, and forgives the failure if the attempt turns out valid."""
    if client_ip is None:
        return None
    address = limited_address(client_ip)
    slots.serialise(f"address_failure:{limit.kind}:{address}")
    window = select(func.count()).select_from(AddressFailure).where(
        AddressFailure.kind == limit.kind, AddressFailure.client_ip == address,
        AddressFailure.failed_at > now - limit.window)
    failure = AddressFailure(kind=limit.kind, client_ip=address, failed_at=now)
    if slots.take_place(failure, window, limit=allowed) is None:
        raise TooManyRequests(limit.refusal, retry_after=int(limit.window.total_seconds()))
    return failure


def forgive(failure: AddressFailure | None) -> None:
    """The attempt was valid after all: it is no failure. The caller commits."""
    if failure is not None:
        db.session.delete(failure)


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
