"""API secret keys: long random strings, identified by a SHA-256 digest.

A digest (not argon2) is right here: the key carries 256 bits of entropy, so brute force is
hopeless anyway, and the API must authenticate thousands of requests a second.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "tg_sk_"


def generate_api_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def digests_match(stored_digest: str, raw_key: str) -> bool:
    return hmac.compare_digest(stored_digest, digest_api_key(raw_key))


def key_hint(raw_key: str) -> str:
    """What the console shows to tell keys apart without revealing them."""
    return "…" + raw_key[-4:]
