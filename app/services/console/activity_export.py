"""The activity list as CSV: every action the filters match, newest first, streamed page by page.

An export is bulk personal data leaving the system, so it is audited (who, which filters) before
the first row is read. Rows are read in keyset pages and each page's read transaction is ended
before the next, so a long download never pins an old snapshot (on SQLite that would stop
checkpoints from resetting the WAL).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from app.domain.spreadsheet import as_text_cell
from app.extensions import db
from app.models import ConsoleUser
from app.services.console.activity import ActivityFilters, list_activity
from app.services.tenancy.audit import record_change

EXPORT_PAGE_SIZE = 1000
COLUMNS = ("created_at", "action", "user_id", "state", "deciding_rule", "ip_address", "action_id")


def record_export(actor: ConsoleUser, filters: ActivityFilters, *, now: datetime) -> None:
    record_change(actor, "activity.exported", "activity", "activity", after={"filters": filters.as_query()}, now=now)
    db.session.commit()


def csv_chunks(tenant_id: str, filters: ActivityFilters, *, page_size: int = EXPORT_PAGE_SIZE) -> Iterator[str]:
    """The header line, then one chunk of lines per page of actions."""
    yield _lines([COLUMNS])
    cursor = None
    while True:
        page = list_activity(tenant_id, filters, cursor=cursor, limit=page_size)
        db.session.rollback()  # end this page's read transaction (nothing was written)
        yield _lines(
            (row.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"), row.action_code, row.user_id,
             row.state.value, row.deciding_rule_name, row.ip_address, row.id)
            for row in page.rows
        )
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _lines(rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerows([as_text_cell(value) for value in row] for row in rows)
    return buffer.getvalue()
