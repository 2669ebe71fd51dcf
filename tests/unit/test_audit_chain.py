"""The audit hash chain: each way of tampering with stored entries is named, legitimate changes are not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.domain.audit_chain import (
    GENESIS,
    Anchor,
    ChainEntry,
    Tamper,
    audit_content,
    chain_hash,
    content_digest,
    verify_chain,
)

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def content(number: int, after: dict | None = None) -> dict:
    return audit_content(event="rule.updated", actor="ann@example.com", occurred_at=START + timedelta(minutes=number),
                         target_type="rule", target_id=f"r{number}", before=None, after=after or {"n": number})


def chained(count: int, *, start: Anchor = Anchor(), first_id: int = 1) -> list[ChainEntry]:
    entries, previous = [], start.chain_hash
    for offset in range(count):
        seq = start.seq + offset + 1
        body = content(seq)
        digest = content_digest(body)
        previous = chain_hash(previous, seq, digest)
        entries.append(ChainEntry(id=first_id + offset, seq=seq, content=body, content_digest=digest,
                                  chain_hash=previous))
    return entries


def rechained(entries: list[ChainEntry], start: Anchor = Anchor()) -> list[ChainEntry]:
    """As someone with write access would leave them after recomputing every hash from ``start``."""
    out, previous = [], start.chain_hash
    for entry in entries:
        digest = content_digest(entry.content)
        previous = chain_hash(previous, entry.seq, digest)
        out.append(replace(entry, content_digest=digest, chain_hash=previous))
    return out


def problem_of(entries, **kwargs):
    report = verify_chain(entries, **kwargs)
    assert report.problem is not None, "tampering went unnoticed"
    return report.problem.kind, report.problem.entry.seq, report.verified


def test_an_untouched_chain_verifies_to_its_last_entry():
    entries = chained(5)
    report = verify_chain(entries, head=Anchor(5, entries[-1].chain_hash))

    assert (report.ok, report.verified, report.last) == (True, 5, entries[-1])


def test_an_empty_chain_verifies():
    assert verify_chain([]).ok and verify_chain([]).verified == 0


def test_the_digest_is_of_canonical_json_so_key_order_does_not_matter():
    assert content_digest({"b": 1, "a": "é"}) == content_digest({"a": "é", "b": 1})
    assert content_digest({"a": 1}) != content_digest({"a": "1"})


def test_the_content_is_taken_as_a_json_column_hands_it_back():
    written = audit_content(event="e", actor="a", occurred_at=START, target_type="t", target_id="1",
                            before={1: ("x", "y")}, after={"n": 1, "b": "é"})
    read = audit_content(event="e", actor="a", occurred_at=START.astimezone(timezone(timedelta(hours=2))),
                         target_type="t", target_id="1", before={"1": ["x", "y"]}, after={"b": "é", "n": 1})

    assert content_digest(written) == content_digest(read)


def test_an_edited_entry_is_named():
    entries = chained(5)
    entries[2] = replace(entries[2], content=content(3, after={"n": "changed"}))

    assert problem_of(entries) == (Tamper.EDITED, 3, 2)


def test_an_edit_with_its_digest_recomputed_is_still_named():
    entries = chained(5)
    edited = content(3, after={"n": "changed"})
    entries[2] = replace(entries[2], content=edited, content_digest=content_digest(edited))

    assert problem_of(entries) == (Tamper.EDITED, 3, 2)


def test_a_deleted_entry_leaves_a_gap():
    entries = chained(5)
    del entries[2]

    assert problem_of(entries) == (Tamper.DELETED, 4, 2)


def test_a_deletion_with_the_later_entries_renumbered_is_named():
    entries = chained(6)
    del entries[2]
    entries = entries[:2] + [replace(e, seq=e.seq - 1) for e in entries[2:]]

    assert problem_of(entries) == (Tamper.DELETED, 3, 2)


def test_deleting_the_newest_entries_shows_against_the_head():
    entries = chained(5)
    head = Anchor(5, entries[-1].chain_hash)

    assert verify_chain(entries[:3]).ok  # without the head, the tail's end cannot be told
    kind, _, verified = problem_of(entries[:3], head=head)
    assert (kind, verified) == (Tamper.DELETED, 3)


def test_an_inserted_entry_is_named_even_when_it_is_chained():
    entries = chained(5)
    body = content(99)
    forged_digest = content_digest(body)
    forged = ChainEntry(id=entries[1].id, seq=3, content=body, content_digest=forged_digest,
                        chain_hash=chain_hash(entries[1].chain_hash, 3, forged_digest))
    # The forger shifts the later entries up to make room; ids keep their order.
    later = [replace(e, seq=e.seq + 1, id=e.id + 10) for e in entries[2:]]

    assert problem_of(entries[:2] + [forged] + later) == (Tamper.INSERTED, 3, 2)


def test_an_inserted_entry_that_is_not_chained_is_named():
    entries = chained(5)
    body = content(99)
    forged = ChainEntry(id=entries[1].id, seq=3, content=body, content_digest=content_digest(body), chain_hash=GENESIS)
    later = [replace(e, seq=e.seq + 1, id=e.id + 10) for e in entries[2:]]

    assert problem_of(entries[:2] + [forged] + later) == (Tamper.INSERTED, 3, 2)


def test_two_entries_swapped_by_their_numbers_are_named():
    entries = chained(5)
    a, b = entries[1], entries[2]
    swapped = [entries[0], replace(b, seq=a.seq), replace(a, seq=b.seq), *entries[3:]]

    assert problem_of(swapped) == (Tamper.REORDERED, 2, 1)


def test_two_entries_swapped_with_their_ids_are_named():
    entries = chained(5)
    a, b = entries[1], entries[2]
    swapped = [entries[0], replace(b, seq=a.seq, id=a.id), replace(a, seq=b.seq, id=b.id), *entries[3:]]

    assert problem_of(swapped) == (Tamper.REORDERED, 2, 1)


def test_a_redaction_that_a_later_erasure_names_is_accepted():
    entries = chained(5)
    entries[1] = replace(entries[1], content=content(2, after={"n": "[erased]"}))

    assert verify_chain(entries, redacted={entries[1].id: 5}).ok


@pytest.mark.parametrize("erasure_seq", [2, 1, 9], ids=["itself", "earlier", "beyond-the-chain"])
def test_a_redaction_claimed_by_no_later_erasure_in_the_chain_is_an_edit(erasure_seq):
    entries = chained(5)
    entries[1] = replace(entries[1], content=content(2, after={"n": "[erased]"}))

    assert problem_of(entries, redacted={entries[1].id: erasure_seq})[:2] == (Tamper.EDITED, 2)


def test_a_chain_resumes_from_the_checkpoint_of_a_purge():
    entries = chained(8)
    checkpoint = Anchor(3, entries[2].chain_hash)

    assert verify_chain(entries[3:], anchor=checkpoint).verified == 5
    assert problem_of(entries[4:], anchor=checkpoint)[:2] == (Tamper.DELETED, 5)


def test_rewriting_the_whole_chain_from_a_point_on_is_caught_only_by_the_head():
    entries = chained(5)
    entries[3] = replace(entries[3], content=content(4, after={"n": "changed"}))
    rewritten = entries[:3] + rechained(entries[3:], Anchor(3, entries[2].chain_hash))

    assert verify_chain(rewritten).ok  # the honest limit: recorded outside, the head tells
    assert not verify_chain(rewritten, head=Anchor(5, chained(5)[-1].chain_hash)).ok
