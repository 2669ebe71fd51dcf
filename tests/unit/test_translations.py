"""The shipped catalogues against the code: every string the hosted pages and code emails mark is
translated in each language, none is stale, none is fuzzy, and the placeholders agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.domain.languages import DEFAULT, LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"


def _msgid(message_id: str | tuple[str, ...]) -> str:
    return message_id[0] if isinstance(message_id, tuple) else message_id


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    """What `pybabel extract -F babel.cfg` finds now, with Babel's own extractor."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    return {_msgid(message) for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map)}


def _catalogue(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


def test_every_language_but_english_ships_a_catalogue():
    shipped = {path.parent.parent.name for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")}
    assert shipped == set(LANGUAGES) - {DEFAULT}


def test_extraction_finds_the_hosted_pages_and_the_code_email(extracted):
    assert {"Verify it's you", "This link has expired", "Your %(tenant_name)s verification code"} <= extracted


@pytest.mark.parametrize("language", sorted(set(LANGUAGES) - {DEFAULT}))
def test_a_catalogue_has_exactly_the_extracted_strings(language, extracted):
    shipped = {_msgid(message.id) for message in _catalogue(language) if message.id}
    assert sorted(extracted - shipped) == [], f"missing from {language}: run pybabel extract and update"
    assert sorted(shipped - extracted) == [], f"stale in {language}: run pybabel update"


@pytest.mark.parametrize("language", sorted(set(LANGUAGES) - {DEFAULT}))
def test_every_string_is_translated_with_its_placeholders(language):
    catalogue = _catalogue(language)
    messages = [message for message in catalogue if message.id]
    untranslated = [_msgid(m.id) for m in messages
                    if not all(m.string if isinstance(m.string, tuple) else (m.string,))]
    fuzzy = [_msgid(m.id) for m in messages if m.fuzzy]
    plural_forms = {len(m.string) for m in messages if m.pluralizable}
    problems = [(_msgid(message.id), [str(error) for error in errors]) for message, errors in catalogue.check()]
    assert (untranslated, fuzzy, problems) == ([], [], [])
    assert plural_forms <= {catalogue.num_plurals}
