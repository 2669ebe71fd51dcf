"""Taking a person's values out of a stored JSON document whose shape the caller does not know.

Audit entries keep records as they were (an authenticator's email, an export's user filter) in
shapes that grow with every new kind of event. Within an entry about the person (the caller chooses
which), matching values rather than known keys keeps an erasure complete for kinds added later.
"""

from __future__ import annotations

from typing import Any

ERASED = "[erased]"


def redact(document: Any, values: frozenset[str], *, keys: frozenset[str] = frozenset()) -> Any:
    """``document`` with every string equal to one of ``values``, and whatever a key in ``keys``
    holds (free text about the person), replaced by :data:`ERASED`; all else as it was."""
    if isinstance(document, str):
        return ERASED if document in values else document
    if isinstance(document, dict):
        return {key: ERASED if key in keys and value is not None else redact(value, values, keys=keys)
                for key, value in document.items()}
    if isinstance(document, list):
        return [redact(value, values, keys=keys) for value in document]
    return document
