"""One-time recovery codes: shown once, stored as keyed digests, accepted once each."""

from __future__ import annotations

import hashlib
import hmac
import secrets

COUNT = 10
# Crockford-style alphabet without look-alikes; 10 characters ≈ 50 bits each.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LENGTH = 10


def generate_codes() -> list[str]:
    return ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT)]


def display(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def normalise(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def digest_code(code: str, *, key: bytes) -> str:
    """HMAC with a server key: a leaked table alone does not let anyone brute-force the codes."""
    return hmac.new(key, normalise(code).encode(), hashlib.sha256).hexdigest()
