"""Which product made a passkey, from its AAGUID: the community list bundled as ``aaguids.json``
(refreshed by ``scripts/update_aaguids.py``, never fetched at run time). For naming passkeys to
people and in rules, as the list intends; not an attestation (FIDO's metadata service is that)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

# What an authenticator sends when it will not say what it is (and what attestation "none" zeroes).
UNKNOWN_AAGUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class KnownAuthenticator:
    aaguid: str
    name: str
    icon_light: str | None  # an SVG data: URI for light backgrounds
    icon_dark: str | None


def known_authenticator(aaguid: str | None) -> KnownAuthenticator | None:
    """None for no AAGUID, the all-zero one, or one the list does not know."""
    if not aaguid:
        return None
    return _known().get(aaguid.lower())


@cache
def _known() -> dict[str, KnownAuthenticator]:
    listed = json.loads(files("app.domain").joinpath("aaguids.json").read_text(encoding="utf-8"))
    return {aaguid: KnownAuthenticator(aaguid, entry["name"], entry.get("icon_light"), entry.get("icon_dark"))
            for aaguid, entry in listed.items() if aaguid != UNKNOWN_AAGUID}
