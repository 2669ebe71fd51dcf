"""A tenant's reason codes for review decisions: the list admins edit, and the code each label is known by.

A reason is a label people read ("Confirmed by customer") and a code machines match on
(``confirmed-by-customer``: the label in lower case, every run of other characters a dash). The code
is what a decision stores beside the label, what the webhook sends and what the activity filter
matches; renaming a label therefore makes a new code, and past decisions keep theirs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_LABELS = ("Confirmed by customer", "Fraud", "Policy")
MAX_REASONS = 20
MAX_LABEL_LENGTH = 80
_NOT_CODE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ReasonCode:
    code: str
    label: str


def code_for(label: str) -> str:
    return _NOT_CODE.sub("-", label.lower()).strip("-")[:64]


def reason_codes(labels: list[str] | tuple[str, ...] | None) -> tuple[ReasonCode, ...]:
    """The stored labels (None: never edited, so the defaults) as reason codes."""
    return tuple(ReasonCode(code_for(label), label) for label in (DEFAULT_LABELS if labels is None else labels))


def parse_labels(text: str) -> tuple[list[str], list[str]]:
    """The settings textarea, one label a line (blank lines skipped) → (labels, problems)."""
    labels: list[str] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        label = " ".join(line.split())
        if not label:
            continue
        code = code_for(label)
        if len(label) > MAX_LABEL_LENGTH:
            problems.append(f"Line {number}: a reason is at most {MAX_LABEL_LENGTH} characters.")
        elif not code:
            problems.append(f"Line {number}: a reason needs a letter or a digit.")
        elif code in seen:
            problems.append(f"Line {number}: “{label}” is the same reason as “{seen[code]}”.")
        else:
            seen[code] = label
            labels.append(label)
    if len(labels) > MAX_REASONS:
        problems.append(f"At most {MAX_REASONS} reasons.")
    return labels, problems
