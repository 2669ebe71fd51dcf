"""API secret keys: long random strings, identified by a SHA-256 digest.

A digest (not argon2) is right here: the key carries 256 bits of entropy, so brute force is
hopeless anyway, and the API must authenticate thousands of requests a second.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

PREFIX = "tg_sk_"
# Management keys look different, so one pasted into the wrong place is recognisable at a glance.
MANAGEMENT_PREFIX = "tg_mk_"


class ManagementAccess(StrEnum):
    """What a management key may do. ``draft``: writes edit the drafts and publishing is explicit;
    ``publish``: every write that changes an action's rule set also publishes it (what Terraform and
    other declarative tools expect: an apply takes effect)."""

    READ = "read"
    DRAFT = "draft"
    PUBLISH = "publish"


def generate_api_key(prefix: str = PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


def digest_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def digests_match(stored_digest: str, raw_key: str) -> bool:
    return hmac.compare_digest(stored_digest, digest_api_key(raw_key))


def key_hint(raw_key: str) -> str:
    """What the console shows to tell keys apart without revealing them."""
    return "…" + raw_key[-4:]
