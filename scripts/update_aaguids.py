"""Refresh app/domain/aaguids.json, the bundled copy of the community list of passkey providers'
AAGUIDs (https://github.com/passkeydeveloper/passkey-authenticator-aaguids), which names a
passkey's authenticator in the console and in rules (``passkey.authenticatorName``).

Tollgate never fetches it at run time: run this by hand, review the diff, commit it.

    .venv/bin/python scripts/update_aaguids.py            # from GitHub
    .venv/bin/python scripts/update_aaguids.py FILE       # from a downloaded aaguid.json

The list's maintainers say it will be emptied, not deleted, when it is retired: an empty or
malformed list is refused, so the bundled copy is never replaced by nothing.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import requests

SOURCE = "https://raw.githubusercontent.com/passkeydeveloper/passkey-authenticator-aaguids/main/aaguid.json"
TARGET = Path(__file__).resolve().parent.parent / "app" / "domain" / "aaguids.json"
AAGUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ICON = re.compile(r"^data:image/svg\+xml;base64,[A-Za-z0-9+/=]+$")


def cleaned(listed: dict) -> dict:
    """Only what Tollgate shows: a name, and SVG icons as data URIs (the console's CSP allows data: images)."""
    kept = {}
    for aaguid, entry in listed.items():
        aaguid = aaguid.lower()
        if not AAGUID.match(aaguid) or not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise SystemExit(f"unexpected entry {aaguid!r}: not an AAGUID with a name")
        kept[aaguid] = {"name": entry["name"][:100]} | {
            key: entry[key] for key in ("icon_light", "icon_dark") if isinstance(entry.get(key), str) and ICON.match(entry[key])
        }
    return dict(sorted(kept.items()))


def main(argv: list[str]) -> int:
    if argv:
        listed = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    else:
        response = requests.get(SOURCE, timeout=30)
        response.raise_for_status()
        listed = response.json()
    if not isinstance(listed, dict) or not listed:
        raise SystemExit("the list is empty or not an object: it may have been retired; keeping the bundled copy")
    kept = cleaned(listed)
    TARGET.write_text(json.dumps(kept, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{TARGET.relative_to(Path.cwd()) if TARGET.is_relative_to(Path.cwd()) else TARGET}: {len(kept)} authenticators")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
