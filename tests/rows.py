"""Reading rows back for a test's assertions, outside any request."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db


def count(app, model) -> int:
    """How many rows of ``model`` there are now."""
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()
