"""TOLLGATE_TWILIO_*: the Twilio account text messages go through, and the request its Messages API expects.

``TOLLGATE_TWILIO_FROM`` is a sender number, or a Messaging Service SID (``MG...``), which Twilio
takes as ``MessagingServiceSid`` instead of ``From`` and which picks the sender itself. WhatsApp
goes through the same endpoint with both numbers prefixed ``whatsapp:``. The base URL (Twilio's API
root by default) may be plain http only to a loopback host, as a test's fake Twilio is.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

DEFAULT_BASE_URL = "https://api.twilio.com"
WHATSAPP_PREFIX = "whatsapp:"


@dataclass(frozen=True)
class TwilioAccount:
    account_sid: str
    auth_token: str = field(repr=False)
    sender: str
    base_url: str = DEFAULT_BASE_URL

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/2010-04-01/Accounts/{quote(self.account_sid, safe='')}/Messages.json"

    def form(self, *, to: str, body: str, whatsapp: bool) -> dict[str, str]:
        """The form fields of one message to the E.164 number ``to``."""
        prefix = WHATSAPP_PREFIX if whatsapp else ""
        fields = {"To": f"{prefix}{to}", "Body": body}
        if self.sender.startswith("MG"):
            fields["MessagingServiceSid"] = self.sender
        else:
            fields["From"] = f"{prefix}{self.sender}"
        return fields


def parse_twilio_account(*, account_sid: str, auth_token: str, sender: str, base_url: str | None) -> TwilioAccount:
    """The account, or ValueError saying which value is wrong and how."""
    if not (account_sid.startswith("AC") and account_sid.isalnum()):
        raise ValueError("TOLLGATE_TWILIO_ACCOUNT_SID must be an account SID (AC followed by letters and digits)")
    if not (sender.startswith("MG") and sender.isalnum()) and not (sender.startswith("+") and sender[1:].isdigit()):
        raise ValueError("TOLLGATE_TWILIO_FROM must be an E.164 number (+15017122661) or a Messaging Service SID (MG...)")
    url = (base_url or DEFAULT_BASE_URL).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise ValueError("TOLLGATE_TWILIO_BASE_URL must be an http(s) URL with no path, like https://api.twilio.com")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError("TOLLGATE_TWILIO_BASE_URL must use https (plain http only to a loopback host)")
    return TwilioAccount(account_sid=account_sid, auth_token=auth_token, sender=sender, base_url=url)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
