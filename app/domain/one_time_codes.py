"""Codes sent to a person (email, SMS): six random digits, kept only as keyed digests; and the
secrets of magic links, kept the same way.

The digest is an HMAC with a server key, so a copy of the table alone cannot be searched for the
million possible codes; the comparison is constant-time. Where a code went is shown masked
(numbers: ``phone_numbers.mask_phone``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

DIGITS = 6


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def new_link_secret() -> str:
    """256 random bits: a link is not typed, so unlike a code it need not be short, and no number of
    tries guesses it. Hex, which ``normalise`` leaves as it is."""
    return secrets.token_hex(32)


def link_token(challenge_id: str, secret: str) -> str:
    """What a magic link carries: the challenge it is for, and its secret."""
    return f"{challenge_id}.{secret}"


def split_link_token(token: str) -> tuple[str, str]:
    """``(challenge id, secret)``, either empty when the token has no such shape."""
    challenge_id, dot, secret = (token or "").partition(".")
    return (challenge_id, secret) if dot and challenge_id and secret else ("", "")


def normalise(code: str) -> str:
    """What a person typed, without the spaces and dashes they add to read it."""
    return "".join(ch for ch in code or "" if ch not in " -\t")


def digest_code(code: str, *, key: bytes, context: str) -> str:
    """``context`` (the challenge id) binds the digest to one challenge: a code is good nowhere else."""
    return hmac.new(key, f"{context}:{normalise(code)}".encode(), hashlib.sha256).hexdigest()


def code_matches(code: str, digest: str | None, *, key: bytes, context: str) -> bool:
    if not digest:
        return False
    return hmac.compare_digest(digest_code(code, key=key, context=context), digest)


def mask_email(email: str) -> str:
    """``jane@example.com`` → ``j***@example.com``: enough to recognise one's own address."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
