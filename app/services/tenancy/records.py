"""What every service of a console-managed record does alike: read a row only within its tenant,
refuse a duplicate the database catches, and commit each change with its audit event."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.interfaces import ORMOption

from app.domain.errors import DomainError, NotFound
from app.extensions import db
from app.models import ConsoleUser
from app.models.base import TenantOwned
from app.services.tenancy.audit import Agent, record_change
from app.services.tenancy.listing import ListQuery, Page, paged

Row = TypeVar("Row", bound=TenantOwned)


def flush_or_refuse(refusal: DomainError) -> None:
    """Flush what the use case added; when a unique constraint refuses it (a name taken, perhaps by a
    request that committed a moment ago), roll the transaction back and raise ``refusal``."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise refusal from exc


@dataclass(frozen=True)
class Records(Generic[Row]):
    """One kind of record: ``kind`` is its audit target type (events are ``<kind>.<verb>``) and
    ``audited`` what the trail keeps of a row, before and after each change."""

    model: type[Row]
    kind: str
    audited: Callable[[Row], dict[str, Any]]
    missing: str  # what NotFound says
    missing_code: str | None = None  # NotFound's own code when None

    def all(self, tenant_id: str, *order_by: Any, options: Sequence[ORMOption] = ()) -> list[Row]:
        query = select(self.model).where(self.model.tenant_id == tenant_id).options(*options).order_by(*order_by)
        return list(db.session.execute(query).scalars())

    def page(self, tenant_id: str, wanted: ListQuery, *, search: Sequence[Any], order_by: Sequence[Any]) -> Page[Row]:
        """The console list's page: the tenant's rows whose ``search`` columns contain the search text."""
        return paged(select(self.model).where(self.model.tenant_id == tenant_id), wanted, search=search,
                     order_by=order_by)

    def get(self, tenant_id: str, row_id: str) -> Row:
        row = db.session.get(self.model, row_id)
        if row is None or row.tenant_id != tenant_id:
            raise NotFound(self.missing, code=self.missing_code)
        return row

    def created(self, actor: ConsoleUser | Agent, row: Row, *, now: datetime | None = None) -> Row:
        db.session.add(row)
        db.session.flush()  # the id, for the audit event
        record_change(actor, f"{self.kind}.created", row.id, self.kind, after=self.audited(row), now=now)
        db.session.commit()
        return row

    def changed(self, actor: ConsoleUser | Agent, row: Row, before: dict[str, Any], *, verb: str = "updated",
                now: datetime | None = None) -> Row:
        """``before``: ``audited(row)`` taken before the change."""
        record_change(actor, f"{self.kind}.{verb}", row.id, self.kind, before=before, after=self.audited(row), now=now)
        db.session.commit()
        return row

    def deleted(self, actor: ConsoleUser | Agent, row: Row, *, now: datetime | None = None) -> Row:
        record_change(actor, f"{self.kind}.deleted", row.id, self.kind, before=self.audited(row), now=now)
        db.session.delete(row)
        db.session.commit()
        return row
