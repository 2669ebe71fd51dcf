"""Reading rows back for a test's assertions, outside any request."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models.base import Base


def count(app, model) -> int:
    """How many rows of ``model`` there are now."""
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def row_counts(app) -> dict[str, int]:
    """Rows per table: that a refused command wrote nothing anywhere."""
    with app.app_context():
        return {table.name: db.session.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables}
