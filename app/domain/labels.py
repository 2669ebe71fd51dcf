"""What people read for the values the API spells as enums: states, outcomes, methods, policies.

The API and the stored data keep the contract's spelling (``CHALLENGE_REQUIRED``); every page shows
the label. One function, so a filter, a badge and a table cell never name the same thing two ways.
Most values read well as words (``REVIEW_REQUIRED`` → "Review required"); the table holds the rest.
"""

from __future__ import annotations

from enum import Enum

# By value: states and outcomes share ALLOW and BLOCK, and read the same.
SPELLED_OUT: dict[str, str] = {
    "EMAIL_OTP": "Email code",
    "SMS": "SMS code",
    "WHATSAPP": "WhatsApp code",
    "REQUIRE_ENROLLMENT": "Require enrolment",
}


def label(value: Enum | str | None) -> str:
    """The label of a state, outcome, method or policy (the enum or its value); '' for None."""
    if value is None:
        return ""
    key = str(value.value if isinstance(value, Enum) else value)
    return SPELLED_OUT.get(key) or key.replace("_", " ").capitalize()
