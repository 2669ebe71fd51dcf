"""Symmetric encryption for secrets we must read back (TOTP seeds, API keys for webhook signing).

Fernet is authenticated encryption from ``cryptography``; MultiFernet lets an operator rotate:
the first configured key encrypts, every configured key decrypts.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def derive_key(secret_key: str, purpose: str) -> bytes:
    """A separate key per purpose, so no one use of the secret key can leak another's."""
    return hmac.new(secret_key.encode(), f"tollgate/{purpose}/v1".encode(), hashlib.sha256).digest()


class SecretBox:
    def __init__(self, keys: Sequence[str]):
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:  # wrong or rotated-away key: an operator problem, not user input
            raise RuntimeError("stored secret cannot be decrypted with the configured keys") from exc
