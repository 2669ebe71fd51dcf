"""Where a person's data is in the database: every table of the metadata, every row, every value.

The tables come from ``Base.metadata``, so a table added later is searched without anyone
remembering to add it here.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models.base import Base


def tables_holding(app, needles: tuple[str, ...]) -> dict[str, set[str]]:
    """{table name: the needles found in its text, JSON or binary values} (case-insensitive)."""
    wanted = {needle: needle.lower() for needle in needles}
    found: dict[str, set[str]] = {}
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            for row in db.session.execute(select(table)).mappings():
                for value in row.values():
                    text = _as_text(value)
                    if text is None:
                        continue
                    hits = {needle for needle, lowered in wanted.items() if lowered in text}
                    if hits:
                        found.setdefault(table.name, set()).update(hits)
        db.session.rollback()
    return found


def rows_keyed_by(app, table_name: str, key: Any) -> dict[str, int]:
    """{table name: rows} of the rows whose foreign key to ``table_name`` holds ``key``."""
    counts: dict[str, int] = {}
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if any(fk.column.table.name == table_name for fk in column.foreign_keys):
                    rows = db.session.execute(select(table).where(column == key)).all()
                    if rows:
                        counts[table.name] = counts.get(table.name, 0) + len(rows)
        db.session.rollback()
    return counts


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bytes):
        return value.decode("latin-1").lower()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False).lower()
    return None
