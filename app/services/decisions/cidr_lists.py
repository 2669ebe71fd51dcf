"""The tenant's CIDR lists at track time, for ``ip.cidrLists`` (services.decisions.signals).

What a decision does with custom data points and lists is pure: ``app.domain.custom_data`` and
``app.domain.track_decision``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, select

from app.extensions import db
from app.models import CustomList
from app.services.rulesets.custom_lists import CIDR_KIND


def cidr_list_stamps(tenant_id: str) -> Select:
    """``(id, version, name)`` of the tenant's CIDR lists, without their items: a cheap statement
    the signals run (in one UNION with the instance-wide lists) to check their compiled ranges."""
    return select(CustomList.id, CustomList.version, CustomList.name).where(
        CustomList.tenant_id == tenant_id, CustomList.kind == CIDR_KIND)


def cidr_lists_by_id(list_ids: Iterable[str]) -> list[tuple[str, int, list[str]]]:
    """``(id, version, items)`` of the CIDR lists with these ids (ids from :func:`cidr_list_stamps`)."""
    list_ids = sorted(set(list_ids))
    if not list_ids:
        return []
    rows = db.session.execute(
        select(CustomList.id, CustomList.version, CustomList.items)
        .where(CustomList.id.in_(list_ids), CustomList.kind == CIDR_KIND)
    ).all()
    return [(list_id, version, list(items or ())) for list_id, version, items in rows]
