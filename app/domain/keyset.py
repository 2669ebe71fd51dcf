"""Keyset pagination over (created_at, id): stable under inserts and equal timestamps, no OFFSET."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

_CURSOR_TIME = "%Y%m%dT%H%M%S.%fZ"


@dataclass(frozen=True)
class Cursor:
    """A row's (created_at, id), written into page links; the next page starts strictly after it."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.created_at.astimezone(UTC).strftime(_CURSOR_TIME)}_{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        """None for anything that is not a cursor this module wrote (a hand-edited URL)."""
        if not raw:
            return None
        stamp, _, ident = raw.partition("_")
        try:
            return cls(datetime.strptime(stamp, _CURSOR_TIME).replace(tzinfo=UTC), int(ident))
        except ValueError:
            return None
