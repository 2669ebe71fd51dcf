"""Naming a passkey's maker from its AAGUID, by the bundled community list."""

from __future__ import annotations

import json

import pytest

from app.domain.authenticator_names import UNKNOWN_AAGUID, known_authenticator

GOOGLE = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"


def test_a_listed_aaguid_names_its_provider_whatever_its_case():
    found = known_authenticator(GOOGLE.upper())
    assert found is not None and found.name == "Google Password Manager"
    assert found.icon_light.startswith("data:image/svg+xml;base64,")


@pytest.mark.parametrize("aaguid", [None, "", UNKNOWN_AAGUID, "12345678-1234-1234-1234-123456789abc", "not an aaguid"])
def test_no_unknown_or_zero_aaguid_names_nothing(aaguid):
    assert known_authenticator(aaguid) is None


def test_the_update_script_keeps_names_and_svg_icons_only_and_refuses_an_empty_list(tmp_path, monkeypatch):
    from scripts import update_aaguids

    assert update_aaguids.cleaned({GOOGLE.upper(): {"name": "G", "icon_light": "javascript:alert(1)",
                                                    "icon_dark": "data:image/svg+xml;base64,PHN2Zz4="}}) \
        == {GOOGLE: {"name": "G", "icon_dark": "data:image/svg+xml;base64,PHN2Zz4="}}
    empty = tmp_path / "aaguid.json"
    empty.write_text(json.dumps({}))
    with pytest.raises(SystemExit, match="retired"):
        update_aaguids.main([str(empty)])
