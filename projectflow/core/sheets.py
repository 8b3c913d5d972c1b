"""Writing tables that people open in spreadsheet programs: ``write_table`` is the one way to write
an export as CSV or XLSX (``download`` wraps it in a response).

A cell whose text starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return, which some
programs skip before reading one of those) is read by Excel, LibreOffice and Google Sheets as a
formula: a name imported as ``=HYPERLINK(...)`` would run in the coordinator's spreadsheet. Such text
is written with a leading apostrophe, which those programs show as plain text (the OWASP advice for
CSV injection). Numbers are written as numbers: ``-3`` as a number is not a formula. In XLSX the
same neutralised text is written as a text cell (never a formula cell), so both formats read alike and
the text stays harmless when the workbook is saved again as CSV.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO
from zoneinfo import ZoneInfo

from flask import Response

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


# --- tables as CSV or XLSX ------------------------------------------------------------------------

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# Characters XML 1.0 (and so XLSX) cannot hold; CSV keeps them, XLSX drops them.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_WIDEST = 60  # characters: a long project title wraps in the cell rather than filling the screen


def _plain(value, zone: ZoneInfo | None):
    """A cell's value with a timezone-aware time shown as wall-clock time in ``zone``."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(zone).replace(tzinfo=None) if zone else value.replace(tzinfo=None)
    return value


def _csv_text(value) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_table(columns: Sequence[str], rows: Iterable[Sequence], fmt: str, *, title: str = "Export",
                zone: ZoneInfo | None = None) -> bytes:
    """``columns`` (the header row) and ``rows`` as a CSV or XLSX file. Text is neutralised (never a
    formula); numbers stay numbers; dates and times are typed (in XLSX) or ISO text (in CSV), aware
    times shown in ``zone``; None is an empty cell."""
    if fmt == "csv":
        stream = io.StringIO(newline="")
        writer = SafeCSVWriter(stream)
        writer.writerow(columns)
        writer.writerows([_csv_text(_plain(v, zone)) for v in row] for row in rows)
        # With the byte-order mark, Excel reads the file as UTF-8 (accented names stay whole).
        return stream.getvalue().encode("utf-8-sig")
    if fmt == "xlsx":
        return _xlsx(columns, rows, title, zone)
    raise ValueError(f"No such table format: {fmt!r}")


def _xlsx(columns: Sequence[str], rows: Iterable[Sequence], title: str, zone: ZoneInfo | None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = re.sub(r"[\\/*?:\[\]]", " ", title)[:31] or "Export"
    widths = [len(str(c)) for c in columns]

    def put(row: int, col: int, value):
        value = _plain(value, zone)
        cell = sheet.cell(row=row, column=col)
        if isinstance(value, str):
            cell.value = neutralise(_NOT_XML.sub("", value))
            cell.data_type = "s"  # text, whatever it starts with: never a formula cell
        elif isinstance(value, bool):
            cell.value = "yes" if value else "no"
        else:
            cell.value = value
            if isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
        shown = 16 if isinstance(value, datetime) else len(str(value)) if value is not None else 0
        widths[col - 1] = max(widths[col - 1], min(shown, _WIDEST))
        return cell

    for col, name in enumerate(columns, start=1):
        put(1, col, str(name)).font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for col, value in enumerate(row, start=1):
            cell = put(r, col, value)
            if isinstance(value, str) and len(value) > _WIDEST:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for col, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = max(8, width + 2)
    sheet.freeze_panes = "A2"  # the header row stays in view
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(columns: Sequence[str], rows: Iterable[Sequence], fmt: str, filename: str, *,
             title: str = "Export", zone: ZoneInfo | None = None) -> Response:
    """The table as an attachment ``filename``.csv or .xlsx."""
    body = write_table(columns, rows, fmt, title=title, zone=zone)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-") or "export"
    return Response(body, mimetype=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{safe}.{fmt}"'})
