"""The console's small lists (actions, team, API keys, webhooks): one search box and one pager.

They page by OFFSET, not by keyset like Activity: a tenant has tens of these rows, not millions, so
a deep page costs nothing, and OFFSET gives what a short list wants: page numbers and a count. The
order always ends in a unique column, so pages neither repeat nor skip a row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select

from app.extensions import db

PAGE_SIZE = 25
MAX_QUERY = 200  # characters of the search box kept; more is a pasted paragraph, not a name
Row = TypeVar("Row")
Shown = TypeVar("Shown")


@dataclass(frozen=True)
class ListQuery:
    """What a list was asked for: the search text (``q``) and the page (``page``, from 1)."""

    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ListQuery:
        """A missing or hand-edited page number is page 1: str.isdigit alone takes "²", which int refuses,
        and seven digits are no page of a list this short (one past its end shows the last page)."""
        raw_page = (args.get("page") or "").strip()
        page = int(raw_page) if raw_page.isascii() and raw_page.isdigit() and len(raw_page) <= 6 else 1
        return cls(q=(args.get("q") or "").strip()[:MAX_QUERY], page=max(page, 1))

    def args(self, page: int) -> dict[str, Any]:
        """URL query arguments for a link to ``page`` that keeps the search."""
        return {name: value for name, value in (("q", self.q), ("page", page if page > 1 else None)) if value}


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    total: int  # rows matching the search, on every page
    query: ListQuery  # its page is the one shown (a page past the end shows the last)
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return page_count(self.total, self.size)

    @property
    def previous_args(self) -> dict[str, Any] | None:
        return self.query.args(self.query.page - 1) if self.query.page > 1 else None

    @property
    def next_args(self) -> dict[str, Any] | None:
        return self.query.args(self.query.page + 1) if self.query.page < self.pages else None

    def map(self, show: Callable[[Row], Shown]) -> Page[Shown]:
        return Page([show(row) for row in self.rows], self.total, self.query, self.size)


def page_count(total: int, size: int = PAGE_SIZE) -> int:
    """Pages of ``size`` rows that ``total`` rows fill; an empty list is one (empty) page."""
    return max(1, -(-total // size))


def contains(text: str, columns: Sequence[Any]) -> ColumnElement[bool]:
    """Any of ``columns`` contains ``text``, case-insensitively and literally: ``%`` and ``_`` are
    escaped, so they match themselves. Not an index range (a substring can be anywhere), which these
    lists' few rows do not need."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(*(column.ilike(f"%{escaped}%", escape="\\") for column in columns))


def paged(query: Select, wanted: ListQuery, *, search: Sequence[Any], order_by: Sequence[Any]) -> Page:
    """One page of ``query``'s rows (scalars) that match the search: a count, then the page."""
    if wanted.q:
        query = query.where(contains(wanted.q, search))
    total = db.session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    shown = ListQuery(wanted.q, min(wanted.page, page_count(total)))
    rows = db.session.execute(
        query.order_by(*order_by).offset((shown.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).scalars()
    return Page(list(rows), total, shown)
