"""Back-testing a rule set: what a candidate (a draft, or any version) would have decided for stored
actions, counted against what decided them.

Each stored action is replayed twice by :func:`~app.domain.track_decision.decide_track`: by the
version that decided it (the *reproduced* verdict, which must equal the stored one: the self-check)
and by the candidate. A :class:`BacktestTally` counts the pairs as they stream past, in constant
memory, and round-trips through JSON so a job can checkpoint it and resume after a crash. The
views below it (:class:`TransitionMatrix`, :func:`time_left`) are what the console and the CLI
show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from app.domain.decision import ActionState, Outcome
from app.domain.errors import InvalidRequest
from app.domain.track_decision import TrackDecision

# The windows offered by name; dates give any other, up to the longest.
NAMED_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
MAX_WINDOW = timedelta(days=90)  # the retention floor: older actions may be gone
IMPACT_WINDOW = "7d"  # what the publish page previews
FIRST_MISMATCHES = 10  # how many unreproduced actions a run names
# The states a track can start in, in the order tables show them.
INITIAL_STATES = (ActionState.ALLOW, ActionState.CHALLENGE_REQUIRED, ActionState.REVIEW_REQUIRED, ActionState.BLOCK)


@dataclass(frozen=True)
class Window:
    """Stored actions created at or after ``start`` and before ``end``; ``label`` names it."""

    label: str
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)


def parse_window(label: str | None, *, since: str | None = None, until: str | None = None,
                 now: datetime) -> Window:
    """A named window ending now (``24h``, ``7d``, ``30d``), or the days ``since``..``until``
    (ISO dates, both included; ``until`` defaults to today)."""
    if since or until:
        start_day = _day(since, "since") if since else None
        end_day = _day(until, "until") if until else now.date()
        if start_day is None:
            raise InvalidRequest("Give the first day of the window (since) as well as the last.", code="invalid_window")
        if end_day < start_day:
            raise InvalidRequest("The window's last day is before its first.", code="invalid_window")
        start = datetime.combine(start_day, time(), UTC)
        end = datetime.combine(end_day + timedelta(days=1), time(), UTC)
        window = Window(f"{start_day.isoformat()} to {end_day.isoformat()}", start, end)
    else:
        label = label or IMPACT_WINDOW
        if label not in NAMED_WINDOWS:
            raise InvalidRequest(f"Unknown window '{label}': use one of {', '.join(NAMED_WINDOWS)}, or dates.",
                                 code="invalid_window")
        window = Window(label, now - NAMED_WINDOWS[label], now)
    if window.end - window.start > MAX_WINDOW:
        raise InvalidRequest(f"A back-test covers at most {MAX_WINDOW.days} days; this window has "
                             f"{(window.end - window.start).days}.", code="window_too_large")
    return window


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRequest(f"'{text}' is not a date ({name} takes YYYY-MM-DD).", code="invalid_window") from None


@dataclass(frozen=True)
class Verdict:
    """A decision without its explanation: what a back-test compares."""

    state: str
    matched_rule_ids: tuple[str, ...]
    deciding_rule_id: str | None
    challenged_unenrolled: bool = False  # a CHALLENGE the unenrolled policy turned into ``state``

    @classmethod
    def of(cls, result: TrackDecision) -> Verdict:
        decision = result.decision
        return cls(result.state.value, decision.matched_rule_ids,
                   decision.deciding_rule.rule_id if decision.deciding_rule else None,
                   decision.outcome is Outcome.CHALLENGE and result.unenrolled_policy_applied)

    def reproduces(self, stored: Verdict) -> bool:
        return (self.state, self.matched_rule_ids, self.deciding_rule_id) == \
            (stored.state, stored.matched_rule_ids, stored.deciding_rule_id)


@dataclass
class BacktestTally:
    """Counts over the actions replayed so far. ``transitions`` and the rule counts key on the
    stored side's state or rule (``""``: no rule decided, the default did)."""

    total: int = 0
    reproduced: int = 0
    mismatches: list[int] = field(default_factory=list)  # the first action ids not reproduced
    changed: int = 0
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    stored_rules: Counter[str] = field(default_factory=Counter)
    candidate_rules: Counter[str] = field(default_factory=Counter)
    # Challenges the candidate adds for users with nothing enrolled, by the state the policy gives.
    unenrolled_challenges: Counter[str] = field(default_factory=Counter)
    reviews_added: int = 0
    reviews_removed: int = 0

    def add(self, action_id: int, stored: Verdict, reproduced: Verdict, candidate: Verdict) -> bool:
        """Count one action; True when the candidate changes its state."""
        self.total += 1
        if reproduced.reproduces(stored):
            self.reproduced += 1
        elif len(self.mismatches) < FIRST_MISMATCHES:
            self.mismatches.append(action_id)
        self.transitions[(stored.state, candidate.state)] += 1
        self.stored_rules[stored.deciding_rule_id or ""] += 1
        self.candidate_rules[candidate.deciding_rule_id or ""] += 1
        if candidate.challenged_unenrolled and not reproduced.challenged_unenrolled:
            self.unenrolled_challenges[candidate.state] += 1
        review = ActionState.REVIEW_REQUIRED.value
        if candidate.state == review and stored.state != review:
            self.reviews_added += 1
        elif stored.state == review and candidate.state != review:
            self.reviews_removed += 1
        changed = candidate.state != stored.state
        self.changed += changed
        return changed

    @property
    def self_check_passed(self) -> bool:
        return self.reproduced == self.total

    def reviews_per_day(self, window: Window) -> float:
        """Review cases the candidate adds (net of those it removes) per day of the window."""
        return (self.reviews_added - self.reviews_removed) / max(window.days, 1 / 24)

    def matrix(self) -> TransitionMatrix:
        return TransitionMatrix(dict(self.transitions))

    def to_document(self) -> dict[str, Any]:
        return {
            "total": self.total, "reproduced": self.reproduced, "mismatches": list(self.mismatches),
            "changed": self.changed,
            "transitions": [[before, after, n] for (before, after), n in sorted(self.transitions.items())],
            "storedRules": dict(self.stored_rules), "candidateRules": dict(self.candidate_rules),
            "unenrolledChallenges": dict(self.unenrolled_challenges),
            "reviewsAdded": self.reviews_added, "reviewsRemoved": self.reviews_removed,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any] | None) -> BacktestTally:
        if not document:
            return cls()
        return cls(
            total=document["total"], reproduced=document["reproduced"], mismatches=list(document["mismatches"]),
            changed=document["changed"],
            transitions=Counter({(before, after): n for before, after, n in document["transitions"]}),
            stored_rules=Counter(document["storedRules"]), candidate_rules=Counter(document["candidateRules"]),
            unenrolled_challenges=Counter(document["unenrolledChallenges"]),
            reviews_added=document["reviewsAdded"], reviews_removed=document["reviewsRemoved"],
        )


@dataclass(frozen=True)
class MatrixCell:
    stored: str
    candidate: str
    count: int
    share: float  # of the actions the stored state holds (its row), 0..1

    @property
    def changed(self) -> bool:
        return self.stored != self.candidate


@dataclass(frozen=True)
class TransitionMatrix:
    """Stored state (rows) → candidate state (columns), over the start states."""

    counts: Mapping[tuple[str, str], int]

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(state.value for state in INITIAL_STATES)

    def row_total(self, stored: str) -> int:
        return sum(n for (before, _), n in self.counts.items() if before == stored)

    def rows(self) -> list[tuple[str, int, list[MatrixCell]]]:
        """Each stored state with its total and one cell per candidate state."""
        rows = []
        for stored in self.states:
            total = self.row_total(stored)
            counts = [(candidate, self.counts.get((stored, candidate), 0)) for candidate in self.states]
            rows.append((stored, total, [MatrixCell(stored, candidate, n, n / total if total else 0.0)
                                         for candidate, n in counts]))
        return rows

    def column_total(self, candidate: str) -> int:
        return sum(n for (_, after), n in self.counts.items() if after == candidate)


def time_left(rows_done: int, rows_total: int | None, started_at: datetime | None, now: datetime) -> timedelta | None:
    """What is left at the pace so far; None until there is a pace to go by."""
    if not rows_total or not rows_done or started_at is None or rows_done >= rows_total:
        return None
    elapsed = now - started_at
    if elapsed <= timedelta(0):
        return None
    return elapsed * ((rows_total - rows_done) / rows_done)
