"""The exam board's mark sheet (PDF, CSV, XLSX), reached as people reach it: from the links of the
results page (coordinators) and of the moderation page (moderators). Who may read it, that names follow
the anonymity rule, that the three formats hold the same documented columns, the flags, and the
distribution."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from projectflow.assessment import results
from projectflow.assessment.models import Agreement
from projectflow.core import clock
from projectflow.extensions import db
from projectflow.feedback import board
from projectflow.matching.models import Allocation
from projectflow.milestones import extensions
from projectflow.submissions import services as submissions
from tests.assessment.test_results import mark_everyone, set_rules
from tests.milestones.conftest import pdf_bytes

BOARD_DAY = datetime(2027, 10, 21, 9, tzinfo=timezone.utc)
FORMULA = '=HYPERLINK("http://evil.example","Ann")'
COLUMNS_DOC = Path(__file__).resolve().parents[2] / "docs" / "mark-sheet-columns.md"
DOCUMENTED = ("candidate_number", "name", "report_mark", "poster_mark", "independence_mark", "final_mark",
              "classification", "board_discretion", "moderated", "penalty", "extension",
              "mitigating_circumstances", "result")


class _Links(HTMLParser):
    """Every <a href> of a page with its text (visually hidden words included, as a screen reader reads)."""

    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((" ".join("".join(self._text).split()), self._href))
            self._href = None


def mark_sheet_links(client, page_url: str) -> dict[str, str]:
    """The page's links to the mark sheet, by format: {"PDF": href, "CSV": href, "Excel": href}."""
    response = client.get(page_url)
    assert response.status_code == 200, page_url
    parser = _Links()
    parser.feed(response.get_data(as_text=True))
    found = {text.split(" ", 1)[0]: href for text, href in parser.links
             if text.endswith("of the exam board mark sheet")}
    assert set(found) == {"PDF", "CSV", "Excel"}, parser.links
    return found


def pdf_text(data: bytes) -> str:
    """The PDF's text, every run of white space (line ends included) one space."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.fixture
def board_cohort(marking, coordinator):
    """The marked cohort of three allocated students, by name: the first handed the final report in
    late (a late penalty), the second granted three working days on it, the third's request referred to
    mitigating circumstances; then everyone marked around 45, 58 and 75."""
    report = marking.components["report"].milestone
    allocated = sorted((a.student for a in db.session.scalars(
        select(Allocation).where(Allocation.run_id == marking.run.id))), key=lambda s: s.name)
    late, extended, referred = allocated
    with clock.frozen(datetime(2027, 8, 2, 10, tzinfo=timezone.utc)):
        extensions.request_extension(report, referred, reason="Ill in August.", by=referred)
        db.session.commit()
        request = extensions.open_request(report, referred)
        extensions.refer(request, note="For the mitigating circumstances panel.", by=coordinator)
        db.session.commit()
    with clock.frozen(datetime(2027, 9, 7, 10, tzinfo=timezone.utc)):  # the Tuesday after the Friday deadline
        submissions.submit(report, late, io.BytesIO(pdf_bytes()), file_name="report.pdf", declared=True,
                           form_token="late-report", by=late, receipt=False)
    extensions.grant_directly(report, extended, working_days=3, note="Agreed by e-mail.", by=coordinator)
    db.session.commit()
    marked = mark_everyone(marking, coordinator, (45, 58, 75))
    assert [r.student_id for r in marked] == [late.id, extended.id, referred.id]
    return marked


def test_the_coordinator_follows_the_results_page_to_the_same_columns_in_three_formats(
        board_cohort, marking, coordinator, signed_in):
    late, extended, referred = board_cohort
    cohort = marking.cohort
    number = {row.student.id: row.candidate_number for row in results.rows_by_candidate(cohort)[1]}
    penalty = db.session.scalar(select(Agreement.penalty).where(
        Agreement.student_id == late.student_id, Agreement.component_id == marking.components["report"].id))
    assert penalty > 0  # the late report lost points
    client = signed_in(coordinator)
    links = mark_sheet_links(client, f"/cohorts/{cohort.id}/results")

    response = client.get(links["CSV"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = csv_rows(response.data)
    assert tuple(rows[0]) == DOCUMENTED
    by_number = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert sorted(by_number) == [r[0] for r in rows[1:]]  # by candidate number
    assert set(by_number) == set(number.values())
    first, second, third = (by_number[number[r.student_id]] for r in board_cohort)
    assert first["name"] == late.student.name and first["final_mark"] == str(late.final)
    assert first["classification"] == "Fail" and first["penalty"] == str(penalty)
    assert (second["extension"], second["penalty"], second["mitigating_circumstances"]) == ("3", "", "")
    assert (third["mitigating_circumstances"], third["extension"]) == ("yes", "")
    assert third["classification"] == "Distinction" and third["final_mark"] == str(referred.final)
    assert {r["result"] for r in (first, second, third)} == {"provisional"}
    assert {r["moderated"] for r in (first, second, third)} == {""}

    workbook = load_workbook(io.BytesIO(client.get(links["Excel"]).data))
    sheet = workbook.active
    assert tuple(c.value for c in sheet[1]) == DOCUMENTED
    assert [c.value for c in sheet["A"][1:]] == [r[0] for r in rows[1:]]

    response = client.get(links["PDF"])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert f"Exam board mark sheet — {cohort.title}" in text
    assert "Provisional until the exam board" in text and "Page 1 of" in text
    for result in board_cohort:
        assert number[result.student_id] in text and result.student.name in text and str(result.final) in text
    assert "Distribution" in text and "Mean" in text and "Median" in text


def test_the_columns_are_the_documented_ones(marking):
    documented = re.findall(r"^\| `([a-z_<>]+)` \|", COLUMNS_DOC.read_text(encoding="utf-8"), re.M)
    components = results.components_of(marking.cohort)
    expected = [n for name in documented for n in
                ([board.component_column(c) for c in components] if name == "<key>_mark" else [name])]
    assert tuple(c.name for c in board.columns_for(components)) == tuple(expected) == DOCUMENTED


def test_a_moderator_who_supervises_nobody_reads_candidate_numbers_never_names(
        board_cohort, marking, coordinator, make, signed_in):
    cohort = marking.cohort
    assert cohort.marks_anonymously
    moss = make.staff(cohort, name="Dr Moss")
    results.set_moderators(cohort, {moss.id, marking.kim.id}, by=coordinator)
    db.session.commit()
    number = {row.student.id: row.candidate_number for row in results.rows_by_candidate(cohort)[1]}
    client = signed_in(moss)
    links = mark_sheet_links(client, f"/cohorts/{cohort.id}/moderation")
    text = pdf_text(client.get(links["PDF"]).data)
    for result in board_cohort:
        assert number[result.student_id] in text and str(result.final) in text
        assert result.student.name not in text
    assert "names are not shown to you" in text
    rows = csv_rows(client.get(links["CSV"]).data)
    assert tuple(rows[0]) == DOCUMENTED and {r[1] for r in rows[1:]} == {""}
    # Dr Kim supervises one of them: that name, and no other.
    kims = {a.student_id for a in db.session.scalars(select(Allocation).where(
        Allocation.run_id == marking.run.id, Allocation.supervisor_id == marking.kim.id))}
    assert len(kims) == 1
    client = signed_in(marking.kim)
    rows = csv_rows(client.get(mark_sheet_links(client, f"/cohorts/{cohort.id}/moderation")["CSV"]).data)
    names = {r[0]: r[1] for r in rows[1:]}
    for result in board_cohort:
        assert names[number[result.student_id]] == (result.student.name if result.student_id in kims else "")


def test_a_name_a_spreadsheet_would_run_is_written_as_text(board_cohort, coordinator, marking, signed_in):
    student = board_cohort[0].student
    student.name = FORMULA
    db.session.commit()
    client = signed_in(coordinator)
    links = mark_sheet_links(client, f"/cohorts/{marking.cohort.id}/results")
    rows = csv_rows(client.get(links["CSV"]).data)
    assert "'" + FORMULA in [r[1] for r in rows]
    sheet = load_workbook(io.BytesIO(client.get(links["Excel"]).data)).active
    cells = [c for c in sheet["B"] if c.value and "HYPERLINK" in c.value]
    assert [(c.value, c.data_type) for c in cells] == [("'" + FORMULA, "s")]
    assert FORMULA in "".join(pdf_text(client.get(links["PDF"]).data).split())  # (wrapped in its cell)


def test_names_in_any_script_print_with_the_shipped_fonts(board_cohort, coordinator, marking, signed_in):
    names = ("张伟", "ليلى حداد", "Ελένη Ζαχαρίου")
    for result, name in zip(board_cohort, names):
        result.student.name = name
    db.session.commit()
    client = signed_in(coordinator)
    text = pdf_text(client.get(mark_sheet_links(client, f"/cohorts/{marking.cohort.id}/results")["PDF"]).data)
    assert all(name in text for name in names), text[:600]


def test_students_and_markers_who_do_not_moderate_are_refused(board_cohort, marking, coordinator, signed_in):
    links = mark_sheet_links(signed_in(coordinator), f"/cohorts/{marking.cohort.id}/results")
    refused = [board_cohort[0].student, marking.lee, marking.nlp]
    for person in refused:
        client = signed_in(person)
        for href in links.values():
            response = client.get(href)
            assert response.status_code == 403, (person.name, href)
            assert b"%PDF" not in response.data[:8] and "Candidate number" not in response.get_data(as_text=True)


def test_moderation_and_release_show_on_the_sheet(board_cohort, marking, coordinator, signed_in):
    cohort = marking.cohort
    late, extended, referred = board_cohort
    rules = set_rules(cohort, exam_board_on=date(2027, 10, 21))
    results.moderate(extended, decision=results.ADJUST, mark=extended.final + 2, reason="Under-credited.",
                     by=coordinator)
    db.session.commit()
    client = signed_in(coordinator)
    links = mark_sheet_links(client, f"/cohorts/{cohort.id}/results")
    rows = {r[1]: dict(zip(DOCUMENTED, r)) for r in csv_rows(client.get(links["CSV"]).data)[1:]}
    adjusted = rows[extended.student.name]
    assert adjusted["moderated"] == "adjusted" and adjusted["final_mark"] == str(extended.final + 2)
    assert rows[late.student.name]["moderated"] == ""
    assert rules.exam_board_on
    with clock.frozen(BOARD_DAY):
        results.release(cohort, by=coordinator)
        db.session.commit()
    text = pdf_text(client.get(links["PDF"]).data)
    assert "Provisional until the exam board" not in text
    assert "3 students, by candidate number: 3 released, 0 provisional, 0 awaiting agreed marks" in text
    assert {r["result"] for r in (dict(zip(DOCUMENTED, r)) for r in csv_rows(client.get(links["CSV"]).data)[1:])} \
        == {"released"}


def test_the_distribution_counts_classes_bands_and_averages():
    marks = [Decimal(m) for m in ("45.45", "58.50", "75.00", "69.99", "90.00")]
    found = board.distribution(marks, ["Fail", "Pass", "Distinction", "Merit", "Distinction"], awaiting=2)
    assert dict(found.classes) == {"Distinction": 2, "Merit": 1, "Pass": 1, "Fail": 1}
    assert (found.count, found.awaiting) == (5, 2)
    assert (found.mean, found.median, found.minimum, found.maximum) == (
        Decimal("67.79"), Decimal("69.99"), Decimal("45.45"), Decimal("90.00"))
    bands = dict(found.bands)
    assert (bands["90–100"], bands["70–79"], bands["60–69"], bands["50–59"], bands["40–49"]) == (1, 1, 1, 1, 1)
    assert sum(bands.values()) == 5 and found.largest_band == 1
    empty = board.distribution([], [], awaiting=3)
    assert empty.mean is None and empty.count == 0 and sum(n for _, n in empty.bands) == 0


def test_an_empty_cohort_prints_a_sheet_without_rows(cohort, coordinator, signed_in):
    client = signed_in(coordinator)
    response = client.get(f"/cohorts/{cohort.id}/results")
    assert response.status_code == 200
    links = mark_sheet_links(client, f"/cohorts/{cohort.id}/results")
    text = pdf_text(client.get(links["PDF"]).data)
    assert "no rows" in text
    assert tuple(csv_rows(client.get(links["CSV"]).data)[0])[:2] == ("candidate_number", "name")
