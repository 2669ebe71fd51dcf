"""CSV cells a spreadsheet would run as a formula get a leading apostrophe; nothing else changes."""

import pytest

from app.domain.spreadsheet import as_text_cell


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+2", "'=1+2"),
    ("+1", "'+1"),
    ("-1", "'-1"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("alice", "alice"),
    ("a=b", "a=b"),
    ("", ""),
    (None, ""),
    (42, "42"),
])
def test_cells(value, cell):
    assert as_text_cell(value) == cell
