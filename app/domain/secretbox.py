"""Symmetric encryption for secrets we must read back (TOTP seeds, API keys for webhook signing).

Fernet is authenticated encryption from ``cryptography``; MultiFernet lets an operator rotate:
the first configured key encrypts, every configured key decrypts.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


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
