"""The audit trail's hash chain: what makes an edited, deleted, inserted or reordered entry show.

Per tenant, entry ``n`` (its ``chain_seq``) stores the SHA-256 of its own canonical content and
``chain_hash = SHA-256(chain_hash of n-1 + ":" + n + ":" + content digest)``. Walking the entries
in sequence recomputes both and names the first that does not follow, and how it was tampered with.

The content is what a reader trusts an entry for: event, actor, time, target, before and after.
Not the actor's console user id, which the database sets to NULL when that user is deleted.

Two legitimate changes are recognised:

* An erasure redacts entries about the person, so their content no longer matches the digest they
  were written with; the erasure's own entry, later in the chain, names them.
* A purge deletes the oldest entries; a checkpoint entry, later in the chain, names the sequence
  number and chain hash of the last entry purged, and the chain resumes from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

GENESIS = "0" * 64  # the chain hash "before" a tenant's first entry
# How many later entries a deletion may have renumbered for the walk to still call it one.
RENUMBERED_SEARCH = 64


class Tamper(StrEnum):
    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"


@dataclass(frozen=True)
class ChainEntry:
    """One stored entry as the walk reads it."""

    id: int
    seq: int
    content: Mapping[str, Any]
    content_digest: str
    chain_hash: str


@dataclass(frozen=True)
class Anchor:
    """Where a chain starts: before its first entry, or after the last entry a purge removed."""

    seq: int = 0
    chain_hash: str = GENESIS


@dataclass(frozen=True)
class Problem:
    entry: ChainEntry
    kind: Tamper
    detail: str


@dataclass(frozen=True)
class ChainReport:
    verified: int  # entries that followed, up to the first problem
    last: ChainEntry | None  # the last of them
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def audit_content(*, event: str, actor: str, occurred_at: datetime, target_type: str, target_id: str,
                  before: Any, after: Any) -> dict[str, Any]:
    """The part of an entry the digest covers, as plain JSON values: ``before`` and ``after`` as a
    JSON column hands them back (tuples as lists, keys as strings), so the digest made when writing
    is the one a reader recomputes."""
    return {"event": event, "actor": actor, "occurredAt": occurred_at.astimezone(UTC).isoformat(),
            "targetType": target_type, "targetId": target_id, "before": _as_stored(before), "after": _as_stored(after)}


def _as_stored(document: Any) -> Any:
    return json.loads(json.dumps(document))


def content_digest(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def chain_hash(previous: str, seq: int, digest: str) -> str:
    return hashlib.sha256(f"{previous}:{seq}:{digest}".encode()).hexdigest()


def verify_chain(entries: Iterable[ChainEntry], *, anchor: Anchor = Anchor(), head: Anchor | None = None,
                 redacted: Mapping[int, int] | None = None, to_the_end: bool = True) -> ChainReport:
    """Walk ``entries`` (one tenant's, in ``seq`` order) from ``anchor``; stop at the first that does
    not follow.

    ``head``, when given, is the last entry the writers recorded (so deleting the newest entries
    shows too). ``redacted`` maps an entry id to the sequence number of the erasure entry that
    redacted it: its content may differ from its digest, provided that erasure comes later in this
    chain and is itself verified before the walk ends. ``to_the_end=False``: ``entries`` stop
    short of the chain's end, so an erasure past them is not missing but unread."""
    redacted = redacted or {}
    walk = _Walk(anchor)
    for entry, following in _with_next(entries):
        problem = walk.step(entry, following, redacted)
        if problem is not None:
            return walk.report(problem)
    if walk.pending_redactions and to_the_end:
        # Claimed by an erasure entry the walk never reached: the claim is not in the chain.
        orphan = min(walk.pending_redactions.values(), key=lambda e: e.seq)
        return walk.report(Problem(orphan, Tamper.EDITED, _EDITED_CONTENT))
    if head is not None and walk.last is not None and (walk.last.seq, walk.last.chain_hash) != (head.seq, head.chain_hash):
        return walk.report(Problem(walk.last, Tamper.DELETED,
                                   f"the entries after it, up to number {head.seq}, are missing"))
    return walk.report(None)


_EDITED_CONTENT = "its content no longer matches the digest it was written with"


class _Walk:
    def __init__(self, anchor: Anchor):
        self.anchor = anchor
        self.verified: list[ChainEntry] = []  # only the last two are kept
        self.count = 0
        self.pending_redactions: dict[int, ChainEntry] = {}  # erasure seq -> an entry it must vouch for

    @property
    def last(self) -> ChainEntry | None:
        return self.verified[-1] if self.verified else None

    def _hash_back(self, steps: int) -> str:
        """The chain hash ``steps`` entries back from the next one (1: the last verified)."""
        if steps <= len(self.verified):
            return self.verified[-steps].chain_hash
        return self.anchor.chain_hash if steps == len(self.verified) + 1 else ""

    def report(self, problem: Problem | None) -> ChainReport:
        return ChainReport(verified=self.count, last=self.last, problem=problem)

    def step(self, entry: ChainEntry, following: ChainEntry | None, redacted: Mapping[int, int]) -> Problem | None:
        previous_seq = self.last.seq if self.last else self.anchor.seq
        if content_digest(entry.content) != entry.content_digest:
            erasure_seq = redacted.get(entry.id)
            if erasure_seq is None or erasure_seq <= entry.seq:
                return Problem(entry, Tamper.EDITED, _EDITED_CONTENT)
            self.pending_redactions.setdefault(erasure_seq, entry)
        if entry.seq <= previous_seq or (self.last is not None and entry.id < self.last.id):
            return Problem(entry, Tamper.REORDERED, "it is out of order with the entry before it")
        if entry.seq > previous_seq + 1:
            return Problem(entry, Tamper.DELETED, f"entries {previous_seq + 1}–{entry.seq - 1} before it are missing")
        if entry.chain_hash != chain_hash(self._hash_back(1), entry.seq, entry.content_digest):
            return self._why_unlinked(entry, following)
        self.pending_redactions.pop(entry.seq, None)
        self.verified = [*self.verified[-1:], entry]
        self.count += 1
        return None

    def _why_unlinked(self, entry: ChainEntry, following: ChainEntry | None) -> Problem:
        """The entry's digest matches its content but its chain hash does not follow from the entry
        before it: which rewrite explains it, judging by its neighbours."""
        if self.last is not None and entry.chain_hash == chain_hash(self._hash_back(2), entry.seq - 1,
                                                                    entry.content_digest):
            inserted = self.verified.pop()
            self.count -= 1
            return Problem(inserted, Tamper.INSERTED, "it was not in the chain when the entry after it was written")
        if following is not None:
            if entry.chain_hash == chain_hash(following.chain_hash, entry.seq + 1, entry.content_digest):
                return Problem(entry, Tamper.REORDERED, "it was written after the entry that now follows it")
            if following.chain_hash == chain_hash(self._hash_back(1), following.seq - 1, following.content_digest):
                return Problem(entry, Tamper.INSERTED, "it was not in the chain when the entry after it was written")
            for gap in range(1, RENUMBERED_SEARCH + 1):
                if following.chain_hash == chain_hash(entry.chain_hash, following.seq + gap, following.content_digest):
                    return Problem(entry, Tamper.DELETED,
                                   f"{gap} entries before it were deleted and the later ones renumbered")
        return Problem(entry, Tamper.EDITED, "its content and digest were rewritten after it was chained")


def _with_next(entries: Iterable[ChainEntry]) -> Iterator[tuple[ChainEntry, ChainEntry | None]]:
    iterator = iter(entries)
    current = next(iterator, None)
    while current is not None:
        following = next(iterator, None)
        yield current, following
        current = following
