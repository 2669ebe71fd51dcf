"""Instance-wide network lists: operator threat intel (Tor exits, VPN and hosting ranges) for every tenant.

One implementation for both ways of managing them: ``flask ip-lists import/list/delete`` (no actor,
not audited) and the console's Data → Network lists page (an admin, audited in the admin's tenant).
A list marked anonymous feeds ``ip.isAnonymous``; every list that contains the address is named in
``ip.cidrLists`` (besides the tenant's own CIDR lists, see ``app.services.decisions.signals``).

Each change bumps the list's ``version`` and commits once, so every process recompiles the list at
its next track that reads it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from app.domain import signals as domain
from app.domain.catalogue import LIST_NAME
from app.domain.errors import InvalidRequest, NotFound
from app.extensions import db
from app.models import ConsoleUser, NetworkList, NetworkListEntry
from app.services.tenancy.audit import item_changes, record_change

MAX_DESCRIPTION = 500


@dataclass(frozen=True)
class ImportReport:
    name: str
    count: int
    version: int
    problems: tuple[str, ...]


def _audited(row: NetworkList, count: int) -> dict[str, Any]:
    return {"name": row.name, "description": row.description, "anonymous": row.is_anonymous,
            "cidrs": count, "version": row.version}


def import_network_list(
    name: str, lines: Iterable[str], *, description: str | None = None, is_anonymous: bool = True, now: datetime,
    actor: ConsoleUser | None = None,
) -> ImportReport:
    """Replace the list's CIDRs with the file's (creating the list); refuses a file with bad lines.

    ``actor``: the console admin who imported it (audited); ``None`` for the CLI."""
    if not LIST_NAME.fullmatch(name or ""):
        raise InvalidRequest("A list name is 1-64 letters, digits, '_' or '-'.", code="invalid_list_name")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise InvalidRequest(f"Keep the description under {MAX_DESCRIPTION} characters.", code="invalid_description")
    cidrs, problems = domain.parse_cidrs(lines)
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise InvalidRequest("Nothing was imported: " + "; ".join(problems[:10]) + more + ".", code="invalid_cidr")
    found = db.session.execute(select(NetworkList).where(NetworkList.name == name).with_for_update()).scalar_one_or_none()
    before: dict[str, Any] | None = None
    before_cidrs: list[str] = []
    if found is None:
        found = NetworkList(name=name, version=1)
        db.session.add(found)
        db.session.flush()
    else:
        if actor is not None:
            before_cidrs = list(db.session.execute(
                select(NetworkListEntry.cidr).where(NetworkListEntry.network_list_id == found.id)
                .order_by(NetworkListEntry.id)).scalars())
            before = _audited(found, len(before_cidrs))
        db.session.execute(delete(NetworkListEntry).where(NetworkListEntry.network_list_id == found.id))
        found.version += 1
    found.description = description if description is not None else found.description
    found.is_anonymous = is_anonymous
    found.updated_at = now
    if cidrs:
        db.session.execute(insert(NetworkListEntry),
                           [{"network_list_id": found.id, "cidr": cidr} for cidr in cidrs])
    if actor is not None:
        record_change(actor, "network_list.imported", found.id, "network_list", before=before,
                      after={**_audited(found, len(cidrs)), **item_changes(before_cidrs, cidrs)}, now=now)
    db.session.commit()
    return ImportReport(name, len(cidrs), found.version, tuple(problems))


def list_network_lists() -> list[tuple[NetworkList, int]]:
    """Every instance-wide list with its number of CIDRs, by name."""
    return [(row, count) for row, count in db.session.execute(
        select(NetworkList, func.count(NetworkListEntry.id))
        .outerjoin(NetworkListEntry).group_by(NetworkList.id).order_by(NetworkList.name))]


def get_network_list(name: str) -> tuple[NetworkList, int]:
    """The list named ``name`` and its number of CIDRs."""
    found = db.session.execute(
        select(NetworkList, func.count(NetworkListEntry.id)).outerjoin(NetworkListEntry)
        .where(NetworkList.name == name).group_by(NetworkList.id)
    ).first()
    if found is None:
        raise NotFound(f"No network list named {name!r}.", code="network_list_not_found")
    return found[0], found[1]


def delete_network_list(name: str, *, actor: ConsoleUser | None = None, now: datetime | None = None) -> None:
    """Rules on it stop matching at the next track (``ip.cidrLists`` no longer names it)."""
    found, count = get_network_list(name)
    if actor is not None:
        record_change(actor, "network_list.deleted", found.id, "network_list", before=_audited(found, count), now=now)
    db.session.delete(found)
    db.session.commit()
