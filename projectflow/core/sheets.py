"""Writing tables that people open in spreadsheet programs (CSV now; XLSX exports later).

A cell whose text starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return, which some
programs skip before reading one of those) is read by Excel, LibreOffice and Google Sheets as a
formula: a name imported as ``=HYPERLINK(...)`` would run in the coordinator's spreadsheet. Such text
is written with a leading apostrophe, which those programs show as plain text (the OWASP advice for
CSV injection). Numbers are written as numbers: ``-3`` as a number is not a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """``value`` as a spreadsheet will read it as text, never as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCSVWriter:
    """``csv.writer`` whose every text cell is neutralised."""

    def __init__(self, stream: IO[str], **options):
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)
