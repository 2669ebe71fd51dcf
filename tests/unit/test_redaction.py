"""Redacting a person's values out of JSON documents of any shape (what erasure does to audit entries)."""

from __future__ import annotations

from app.domain.redaction import ERASED, redact

PERSON = frozenset({"ada", "ada@example.com", "203.0.113.7"})


def test_every_string_equal_to_a_value_is_replaced_at_any_depth():
    document = {"userId": "ada", "filters": {"user": "ada", "state": "ALLOW"},
                "items": ["203.0.113.7", "198.51.100.1", {"email": "ada@example.com"}], "count": 3}

    assert redact(document, PERSON) == {
        "userId": ERASED, "filters": {"user": ERASED, "state": "ALLOW"},
        "items": [ERASED, "198.51.100.1", {"email": ERASED}], "count": 3,
    }


def test_only_whole_values_match_so_other_text_is_left_alone():
    document = {"name": "adagio", "note": "ada's laptop", "email": "ADA@example.com"}

    assert redact(document, PERSON) == document


def test_named_keys_lose_their_value_whatever_it_is():
    document = {"state": "REVIEW_FAILED", "reason": "Phoned her at home, no answer", "nested": {"reason": None}}

    assert redact(document, PERSON, keys=frozenset({"reason"})) == {
        "state": "REVIEW_FAILED", "reason": ERASED, "nested": {"reason": None},
    }


def test_nothing_to_redact_leaves_the_document_equal():
    for document in (None, 3, True, "bob", [], {}, {"userId": "bob", "ids": [1, 2]}):
        assert redact(document, PERSON) == document
