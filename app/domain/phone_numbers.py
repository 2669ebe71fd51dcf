"""Phone numbers for SMS and WhatsApp codes: E.164 only, valid by Google's numbering metadata
(``phonenumbers``), sent only to the countries the operator allows, shown masked.

A number must carry its country calling code (``+``): there is no country to assume for a bare
national number, and guessing one sends a code to a stranger. Spaces, dots, dashes and brackets
people type are dropped; what is stored and sent is the E.164 form.
"""

from __future__ import annotations

import phonenumbers

from app.domain.errors import InvalidRequest

# Every masked number looks alike but for its country code and last four digits: the length is hidden too.
MASK = "••• •••"


def parse_phone_number(text: str | None) -> str:
    """The E.164 form of ``text`` (``+44 7400 123456`` → ``+447400123456``), or 400 invalid_phone_number."""
    problem = InvalidRequest("phoneNumber must be an E.164 number with its country code, e.g. +447400123456.",
                             code="invalid_phone_number")
    if not text or not text.strip().startswith("+") or len(text) > 32:
        raise problem
    try:
        number = phonenumbers.parse(text.strip(), None)
    except phonenumbers.NumberParseException as exc:
        raise problem from exc
    if not phonenumbers.is_valid_number(number):
        raise problem
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_of(phone_number: str) -> str | None:
    """The ISO 3166 region (``GB``, ``DE``) an E.164 number belongs to; None for non-geographic ones."""
    region = phonenumbers.region_code_for_number(phonenumbers.parse(phone_number, None))
    return None if region in (None, "ZZ", "001") else region


def check_destination(phone_number: str, *, allowed_regions: frozenset[str]) -> None:
    """Refuse a number outside the allow-list (TOLLGATE_SMS_ALLOWED_COUNTRIES; empty allows all):
    SMS pumping sends codes to premium ranges in far countries the tenant has no users in."""
    if not allowed_regions:
        return
    region = region_of(phone_number)
    if region not in allowed_regions:
        raise InvalidRequest(f"Codes are not sent to numbers in {region or 'that range'} on this server.",
                             code="unsupported_country")


def parse_regions(text: str) -> frozenset[str]:
    """``"DE, gb"`` → ``{"DE", "GB"}``; ValueError naming what is not a region phonenumbers knows."""
    regions = frozenset(part.strip().upper() for part in text.split(",") if part.strip())
    unknown = sorted(regions - phonenumbers.SUPPORTED_REGIONS)
    if unknown:
        raise ValueError(f"names unknown regions: {', '.join(unknown)} (use ISO 3166 codes like DE,GB)")
    return regions


def mask_phone(phone_number: str) -> str:
    """``+447400123456`` → ``+44 ••• ••• 3456``: the country and the last four digits, enough to
    recognise one's own number."""
    country = phonenumbers.parse(phone_number, None).country_code
    return f"+{country} {MASK} {phone_number[-4:]}"
