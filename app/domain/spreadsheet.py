"""Cells that stay text when a CSV export is opened in a spreadsheet.

A value starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula (CSV injection, OWASP): a user id or user agent chosen by
an attacker could run one on an admin's machine. Such values get a leading apostrophe, which the
spreadsheet shows as text and hides.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
