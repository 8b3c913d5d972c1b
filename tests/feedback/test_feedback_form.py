"""The feedback form as each reader gets it, read back from the PDF: every marker's marks and comments,
the agreed mark and the class; never a private note, never a sheet the reader may not see yet; the
student's only after release; tagged, titled, paged, and long comments flow across pages."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import select

from projectflow.assessment import reconciliation, results, services
from projectflow.assessment.models import FIRST, SECOND, Agreement, MarkSheet
from projectflow.core import clock
from projectflow.extensions import db
from tests.assessment.test_results import PRIVATE, mark_everyone, set_rules
from tests.html import href

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "pdf"
RELEASE_DAY = datetime(2027, 10, 21, 9, tzinfo=timezone.utc)


def pdf_text(data: bytes) -> tuple[str, pypdf.PdfReader]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def flat(text: str) -> str:
    """Text without line breaks and hyphenation, to find a sentence the layout wrapped."""
    return " ".join(text.split())


def release(marking, coordinator, student):
    set_rules(marking.cohort, exam_board_on=date(2027, 10, 20))
    with clock.frozen(RELEASE_DAY):
        results.release(marking.cohort, by=coordinator, student=student)
        db.session.commit()


def sheets_of(student, component=None):
    query = select(MarkSheet).where(MarkSheet.student_id == student.id, MarkSheet.replaced_at.is_(None))
    if component is not None:
        query = query.where(MarkSheet.component_id == component.id)
    return db.session.scalars(query.order_by(MarkSheet.component_id, MarkSheet.role)).all()


def get_pdf(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    return response.data


def test_the_student_downloads_their_form_from_their_results_page_only_after_release(marking, coordinator, as_):
    cat = mark_everyone(marking, coordinator)[1]
    client = as_(cat.student)
    page = client.get(f"/cohorts/{marking.cohort.id}/my-results").get_data(as_text=True)
    assert "Download your feedback form" not in page
    form_url = f"/cohorts/{marking.cohort.id}/students/{cat.student_id}/feedback.pdf"
    refused = client.get(form_url)
    assert refused.status_code == 403
    assert "once your results are released" in refused.get_data(as_text=True)

    release(marking, coordinator, cat.student)
    with clock.frozen(RELEASE_DAY):
        page = client.get(f"/cohorts/{marking.cohort.id}/my-results").get_data(as_text=True)
        data = get_pdf(client, href(page, "Download your feedback form (PDF)"))
    text, reader = pdf_text(data)
    words = flat(text)
    # Every marker's comment on every criterion, and each overall comment, of every component.
    for sheet in sheets_of(cat.student):
        for mark in sheet.marks:
            assert flat(mark.comment) in words, mark.comment
            assert str(mark.mark) in words
    assert "Overall, from the first marker." in words and "Overall, from the second marker." in words
    # The agreed marks, the final mark and the class; released, not provisional.
    for agreement in db.session.scalars(select(Agreement).where(Agreement.student_id == cat.student_id)):
        assert str(agreement.agreed_mark) in words
    assert f"{cat.final} · {cat.classification}" in words
    assert "Released on 21 October 2027" in words and "Provisional" not in words
    assert PRIVATE not in words and "Between us" not in words
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "feedback-form-student.pdf").write_bytes(data)


def test_the_pdf_is_tagged_titled_in_english_and_numbers_its_pages(marking, coordinator, as_):
    cat = mark_everyone(marking, coordinator)[1]
    client = as_(coordinator)
    data = get_pdf(client, f"/cohorts/{marking.cohort.id}/students/{cat.student_id}/feedback.pdf")
    text, reader = pdf_text(data)
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en"
    assert bool(root["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in root
    assert reader.metadata.title == f"Feedback — {cat.student.name}"
    pages = len(reader.pages)
    assert pages >= 2
    for number, page in enumerate(reader.pages, start=1):
        assert f"Page {number} of {pages}" in page.extract_text()
    assert "Provisional until the exam board" in flat(text)


def test_a_component_form_holds_that_component_only(marking, coordinator, as_):
    cat = mark_everyone(marking, coordinator)[1]
    poster = marking.components["poster"]
    client = as_(coordinator)
    text = flat(pdf_text(get_pdf(client, f"/cohorts/{marking.cohort.id}/students/{cat.student_id}/feedback/"
                                         f"{poster.id}.pdf"))[0])
    assert f"Feedback: {poster.title}" in text
    assert marking.components["report"].title not in text
    assert "Final mark" not in text


def test_a_marker_previews_only_what_they_may_see_and_never_the_other_private_note(marking, coordinator, as_):
    for component in marking.components.values():
        services.open_marking(component, by=coordinator)
    db.session.commit()
    report = marking.components["report"]
    first, second = sorted((s for s in db.session.scalars(select(MarkSheet).where(
        MarkSheet.component_id == report.id)) if s.student_id == _any_student(report)), key=lambda s: s.role)
    assert (first.role, second.role) == (FIRST, SECOND)

    def fill(sheet, words):
        entries = [services.CriterionEntry(c.id, None, Decimal(66), f"{words} on {c.title}.")
                   for c in sheet.rubric.criteria_for(sheet.role)]
        services.save_sheet(sheet, entries, overall_comment=f"{words} overall.", private_note=PRIVATE,
                            by=sheet.marker)

    fill(second, "Second marker's view")
    services.submit_sheet(second, by=second.marker)
    fill(first, "Supervisor's draft")
    db.session.commit()
    client = as_(second.marker)
    page = client.get(f"/marking/sheets/{second.id}").get_data(as_text=True)
    preview = flat(pdf_text(get_pdf(client, href(page, "feedback-preview")))[0])
    assert "Second marker's view overall." in preview
    assert "Supervisor's draft" not in preview and PRIVATE not in preview
    assert "marking is blind until both markers have submitted" in preview
    assert "Marker's preview" in preview

    # Their own draft shows in their own preview, marked as a draft.
    client = as_(first.marker)
    page = client.get(f"/marking/sheets/{first.id}").get_data(as_text=True)
    own = flat(pdf_text(get_pdf(client, href(page, "feedback-preview")))[0])
    assert "Supervisor's draft overall." in own and "(draft)" in own
    assert "Second marker's view" not in own  # blind: the first marker has not submitted

    services.submit_sheet(first, by=first.marker)
    db.session.commit()
    both = flat(pdf_text(get_pdf(client, href(page, "feedback-preview")))[0])
    assert "Second marker's view overall." in both and "Supervisor's draft overall." in both
    assert PRIVATE not in both
    # A marker reads no other component's form of the student, nor the combined form.
    assert client.get(f"/cohorts/{marking.cohort.id}/students/{first.student_id}/feedback.pdf").status_code in (200, 403)


def _any_student(component):
    return min(db.session.scalars(select(MarkSheet.student_id).where(MarkSheet.component_id == component.id)))


def test_the_reconciliation_justification_is_on_the_board_copy_only(marking, coordinator, as_):
    cat = mark_everyone(marking, coordinator, targets=(65, 55, 65))[1]
    report = marking.components["report"]
    # The report's marks 55 and 63: in reconciliation; the markers agree at 60 with a justification.
    first, second = sheets_of(cat.student, report)
    services.reopen_sheet(second, reason="Re-read", by=coordinator)
    entries = [services.CriterionEntry(c.id, None, Decimal(63), "Re-read.") for c in second.rubric.criteria_for(SECOND)]
    services.save_sheet(second, entries, overall_comment="Second look.", private_note="", by=second.marker)
    services.submit_sheet(second, by=second.marker)
    agreement = db.session.scalars(select(Agreement).where(Agreement.student_id == cat.student_id,
                                                           Agreement.component_id == report.id)).one()
    assert agreement.state == "in_reconciliation"
    reconciliation.propose(agreement, Decimal(60), "We met halfway after the second reading.", by=first.marker)
    reconciliation.confirm(agreement, by=second.marker)
    db.session.commit()
    board = flat(pdf_text(get_pdf(as_(coordinator),
                                  f"/cohorts/{marking.cohort.id}/students/{cat.student_id}/feedback.pdf"))[0])
    assert "We met halfway after the second reading." in board
    assert "agreed the mark after discussing" in board and "60.00" in board
    release(marking, coordinator, cat.student)
    with clock.frozen(RELEASE_DAY):
        own = flat(pdf_text(get_pdf(as_(cat.student),
                                    f"/cohorts/{marking.cohort.id}/students/{cat.student_id}/feedback.pdf"))[0])
    assert "agreed the mark after discussing" in own and "60.00" in own
    assert "We met halfway" not in own


def test_who_may_not_read_a_form(marking, coordinator, as_, make, client):
    ann, cat, _dan = mark_everyone(marking, coordinator)
    release(marking, coordinator, cat.student)
    url = f"/cohorts/{marking.cohort.id}/students/{cat.student_id}/feedback.pdf"
    assert client.get(url).status_code == 302  # anonymous: to the sign-in page
    with clock.frozen(RELEASE_DAY):
        assert as_(ann.student).get(url).status_code == 403  # another student
        assert as_(marking.nlp).get(url).status_code == 403  # staff who mark neither
        other = make.cohort(code="OTHER")
        assert as_(coordinator).get(f"/cohorts/{other.id}/students/{cat.student_id}/feedback.pdf").status_code == 404
        assert as_(coordinator).get(f"/cohorts/{marking.cohort.id}/students/{cat.student_id}/feedback/"
                                    f"{2**40}.pdf").status_code == 404


def test_a_5000_character_comment_flows_across_pages_and_is_printed_whole(marking, coordinator, as_):
    cat = mark_everyone(marking, coordinator)[1]
    sheet = sheets_of(cat.student, marking.components["report"])[0]
    services.reopen_sheet(sheet, reason="A longer comment", by=coordinator)
    words = [f"word{i:04d}" for i in range(560)]  # 5,040 characters, each word findable
    long_comment = " ".join(words)[:5000]
    criteria = sheet.rubric.criteria_for(sheet.role)
    entries = [services.CriterionEntry(c.id, None, Decimal(65), long_comment if c is criteria[0] else "Fine.")
               for c in criteria]
    services.save_sheet(sheet, entries, overall_comment="Overall.", private_note="", by=sheet.marker)
    services.submit_sheet(sheet, by=sheet.marker)
    db.session.commit()
    data = get_pdf(as_(coordinator), f"/cohorts/{marking.cohort.id}/students/{cat.student_id}/feedback.pdf")
    text, reader = pdf_text(data)
    found = re.findall(r"word\d{4}", text)
    assert found == re.findall(r"word\d{4}", long_comment)  # every word, once, in order: nothing cut
    pages_with_words = [i for i, page in enumerate(reader.pages) if re.search(r"word\d{4}", page.extract_text())]
    assert len(pages_with_words) >= 2  # it flowed across a page break
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "feedback-form-long-comment.pdf").write_bytes(data)


SCRIPTS = {"accented Latin": "Zoë Šťastná-Ångström", "Greek": "Ελένη Παπαδοπούλου",
           "Arabic": "مريم العلي", "Chinese": "李小龙"}
COMMENTS = {"Arabic": "عمل ممتاز ومنظم بشكل جيد", "Chinese": "论文结构清晰，实验充分。",
            "Greek": "Πολύ καλή δομή.", "accented Latin": "Très bien rédigé, même en français."}


def fonts_of(reader: pypdf.PdfReader) -> set[str]:
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return names


def test_names_and_comments_in_any_script_print_in_the_shipped_fonts(marking, coordinator, as_):
    cat = mark_everyone(marking, coordinator)[1]
    cat.student.name = " ".join(SCRIPTS.values())
    sheet = sheets_of(cat.student, marking.components["report"])[1]
    services.reopen_sheet(sheet, reason="Comments in every language", by=coordinator)
    criteria = sheet.rubric.criteria_for(sheet.role)
    entries = [services.CriterionEntry(c.id, None, Decimal(66), COMMENTS[script])
               for c, script in zip(criteria, COMMENTS)]
    services.save_sheet(sheet, entries, overall_comment=COMMENTS["Arabic"], private_note="", by=sheet.marker)
    services.submit_sheet(sheet, by=sheet.marker)
    db.session.commit()
    data = get_pdf(as_(coordinator), f"/cohorts/{marking.cohort.id}/students/{cat.student_id}/feedback.pdf")
    text, reader = pdf_text(data)
    words = flat(text)
    for script, name in SCRIPTS.items():
        assert name in words, script
    for script, comment in COMMENTS.items():
        assert comment in words, script
    # Every glyph comes from the fonts projectflow ships, whatever the host has installed.
    assert all(name.startswith("Noto-Sans") for name in fonts_of(reader)), fonts_of(reader)
    assert {"Noto-Sans-Arabic", "Noto-Sans-SC"} <= fonts_of(reader)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "feedback-form-scripts.pdf").write_bytes(data)
    _first_page_png(data, ARTIFACTS / "feedback-form-scripts")


def _first_page_png(data: bytes, stem: Path) -> None:
    """The first page as a PNG beside the PDF, for a person to look at (poppler's pdftoppm, when the
    machine has it: CI installs it)."""
    import shutil
    import subprocess

    if shutil.which("pdftoppm") is None:
        return
    pdf_path = stem.with_suffix(".pdf")
    pdf_path.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf_path), str(stem)],
                   check=True, timeout=60)
    from PIL import Image

    with Image.open(stem.with_suffix(".png")) as image:
        assert image.convert("L").getextrema()[0] < 100  # something dark is printed on it
