"""Authenticator-app (TOTP, RFC 6238) seeds and codes, via pyotp."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

import pyotp

from app.domain.errors import InvalidRequest

# ±1 time-step tolerates clock drift and a code typed as it rolls over.
WINDOW = 1


@dataclass(frozen=True)
class TotpSeed:
    secret: str  # base32
    digits: int = 6
    period: int = 30
    algorithm: str = "SHA1"

    def _totp(self) -> pyotp.TOTP:
        return pyotp.TOTP(self.secret, digits=self.digits, interval=self.period,
                          digest=getattr(hashlib, self.algorithm.lower()))

    def provisioning_uri(self, *, account: str, issuer: str) -> str:
        return self._totp().provisioning_uri(name=account, issuer_name=issuer)


def new_seed() -> TotpSeed:
    return TotpSeed(secret=pyotp.random_base32(32))


def verify_code(seed: TotpSeed, code: str, *, now: datetime, last_accepted_step: int | None) -> int | None:
    """Return the time-step the code belongs to, or None if it is wrong or replayed.

    RFC 6238 §5.2: once a code is accepted, no code from that time-step or an earlier one is
    accepted again, so a shoulder-surfed or phished code cannot be reused.
    """
    code = (code or "").strip().replace(" ", "")
    if not (code.isascii() and code.isdigit()) or len(code) != seed.digits:
        return None
    totp = seed._totp()
    current_step = int(now.timestamp()) // seed.period
    for step in range(current_step - WINDOW, current_step + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if last_accepted_step is not None and step <= last_accepted_step:
                return None
            return step
    return None


def parse_otp_uri(uri: str) -> TotpSeed:
    """Accept an ``otpauth://totp/...`` URI (what enrolment QR codes carry); refuse anything else."""
    if not isinstance(uri, str) or not uri.startswith("otpauth://totp/") or len(uri) > 2048:
        raise InvalidRequest("otpUri must be an otpauth://totp/ URI.", code="invalid_otp_uri")
    try:
        otp = pyotp.parse_uri(uri)
        base64.b32decode(otp.secret.upper() + "=" * (-len(otp.secret) % 8), casefold=True)
    except (ValueError, binascii.Error, TypeError) as exc:
        raise InvalidRequest(f"otpUri could not be parsed: {exc}", code="invalid_otp_uri") from exc
    if not isinstance(otp, pyotp.TOTP):
        raise InvalidRequest("otpUri must describe a time-based (TOTP) code.", code="invalid_otp_uri")
    algorithm = getattr(otp.digest(), "name", "sha1").upper()
    return TotpSeed(secret=otp.secret.upper(), digits=otp.digits, period=otp.interval, algorithm=algorithm)
