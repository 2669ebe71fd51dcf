"""Authenticator-app (TOTP, RFC 6238) seeds, via pyotp."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import pyotp

from app.domain.errors import InvalidRequest


@dataclass(frozen=True)
class TotpSeed:
    secret: str  # base32
    digits: int = 6
    period: int = 30
    algorithm: str = "SHA1"


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
