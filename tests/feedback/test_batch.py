"""Batches of feedback forms: the zip and its manifest, the cache that reprints only what changed, the
filters, the background job and its page, the command, and who may do any of it. Real database, real
printing (a marked cohort of three students keeps it quick)."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import date, datetime, timezone
from decimal import Decimal

import pypdf
import pytest
from sqlalchemy import func, select

from projectflow.assessment import results, services
from projectflow.assessment.models import MarkSheet
from projectflow.cli import cli
from projectflow.core import clock, jobs
from projectflow.extensions import db
from projectflow.feedback import batch
from projectflow.feedback.feedback_form import STAFF, STUDENT
from projectflow.matching.models import Allocation
from tests.assessment.test_results import mark_everyone, set_rules
from tests.forms import get_form
from tests.html import field_error, href, main_text

RELEASE_DAY = datetime(2027, 10, 21, 9, tzinfo=timezone.utc)


@pytest.fixture
def marked(marking, coordinator):
    """The round's three allocated students, every sheet submitted: their results, by name."""
    return mark_everyone(marking, coordinator)


def zip_entries(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def manifest(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def pdf_words(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages).split())


def allocated(cohort) -> list[Allocation]:
    from projectflow.matching.services import published_run

    return list(db.session.scalars(select(Allocation).where(Allocation.run_id == published_run(cohort).id)))


# --- the zip, the cache ------------------------------------------------------------------------------

def test_the_zip_holds_a_pdf_per_planned_form_and_the_manifest_and_a_second_run_reuses_every_form(
        marking, marked, coordinator, tmp_path):
    cohort = marking.cohort
    items = batch.plan(cohort, batch.Filters())
    assert len(items) == 3 and all(i.component is None for i in items)
    seen = []
    counts = batch.generate(cohort, batch.Filters(), coordinator, STUDENT, tmp_path / "forms.zip",
                            lambda done, total, message: seen.append((done, total)))
    assert (counts.forms, counts.printed, counts.reused) == (3, 3, 0)
    assert seen[0] == (0, 3) and seen[-1] == (3, 3) and [d for d, _ in seen] == sorted(d for d, _ in seen)

    entries = zip_entries(tmp_path / "forms.zip")
    assert sorted(entries) == sorted([i.filename for i in items] + ["manifest.csv"])
    numbers = {r.student_id: n for r, n in ((r, i.candidate_number) for r in marked for i in items
                                            if i.student.id == r.student_id)}
    assert sorted(i.filename for i in items) == sorted(f"{n}-combined.pdf" for n in numbers.values())
    rows = manifest(entries["manifest.csv"])
    assert [r["file"] for r in rows] == [i.filename for i in items]  # candidate-number order
    for row, result in zip(rows, sorted(marked, key=lambda r: numbers[r.student_id])):
        data = entries[row["file"]]
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        assert (row["candidate_number"], row["name"], row["component"]) == (
            numbers[result.student_id], result.student.name, "Combined")
        words = pdf_words(data)
        assert f"Feedback — {result.student.name}" in words and f"{result.final} · {result.classification}" in words

    again = batch.generate(cohort, batch.Filters(), coordinator, STUDENT, tmp_path / "again.zip")
    assert (again.forms, again.printed, again.reused) == (3, 0, 3)
    # The same forms make the same zip, byte for byte.
    assert (tmp_path / "again.zip").read_bytes() == (tmp_path / "forms.zip").read_bytes()


def test_a_changed_mark_reprints_that_students_form_only(marking, marked, coordinator, tmp_path):
    cohort = marking.cohort
    batch.generate(cohort, batch.Filters(), coordinator, STUDENT, tmp_path / "before.zip")
    # The supervisor's independence sheet of one student, reopened and marked again (the real services).
    changed = marked[1]
    sheet = db.session.scalar(select(MarkSheet).where(MarkSheet.student_id == changed.student_id,
                                                      MarkSheet.component_id == marking.components["independence"].id))
    services.reopen_sheet(sheet, reason="Typed against the wrong student.", by=coordinator)
    services.save_sheet(sheet, [services.CriterionEntry(m.criterion_id, None, Decimal(80), m.comment)
                                for m in sheet.marks], overall_comment=sheet.overall_comment,
                        private_note="", by=sheet.marker)
    services.submit_sheet(sheet, by=sheet.marker)
    db.session.commit()

    counts = batch.generate(cohort, batch.Filters(), coordinator, STUDENT, tmp_path / "after.zip")
    assert (counts.printed, counts.reused) == (1, 2)
    before, after = zip_entries(tmp_path / "before.zip"), zip_entries(tmp_path / "after.zip")
    different = sorted(name for name in before if before[name] != after[name])
    number = next(i.candidate_number for i in batch.plan(cohort, batch.Filters()) if i.student.id == changed.student_id)
    assert different == sorted([f"{number}-combined.pdf", "manifest.csv"])
    assert "80.00" in pdf_words(after[f"{number}-combined.pdf"])


def test_a_folder_of_board_copies_has_the_same_names_and_what_the_board_reads(marking, coordinator, tmp_path):
    mark_everyone(marking, coordinator, (45, 58, 75))  # a fail, a mark near a boundary, a distinction: flagged
    cohort = marking.cohort
    counts = batch.generate(cohort, batch.Filters(), coordinator, STAFF, tmp_path / "board")
    assert counts.printed == 3
    names = sorted(p.name for p in (tmp_path / "board").iterdir())
    assert names == sorted([i.filename for i in batch.plan(cohort, batch.Filters())] + ["manifest.csv"])
    assert not [p for p in (tmp_path / "board").iterdir() if p.name.startswith(".")]  # no temporary file left
    # The students' copies leave the board's flags out: other documents, printed anew.
    assert batch.generate(cohort, batch.Filters(), coordinator, STUDENT, tmp_path / "students").printed == 3
    for name in names[:-1]:
        assert "For the exam board" in pdf_words((tmp_path / "board" / name).read_bytes())
        assert "For the exam board" not in pdf_words((tmp_path / "students" / name).read_bytes())


# --- filters -----------------------------------------------------------------------------------------

def test_released_only_takes_the_students_whose_result_is_released(marking, marked, coordinator):
    cohort = marking.cohort
    set_rules(cohort, exam_board_on=date(2027, 10, 20))
    with clock.frozen(RELEASE_DAY):
        results.release(cohort, by=coordinator, student=marked[2].student)
        db.session.commit()
    assert [i.student.id for i in batch.plan(cohort, batch.Filters(released=True))] == [marked[2].student_id]
    assert len(batch.plan(cohort, batch.Filters())) == 3


def test_a_supervisors_students(marking, marked):
    cohort = marking.cohort
    by_supervisor = {}
    for allocation in allocated(cohort):
        by_supervisor.setdefault(allocation.supervisor_id, set()).add(allocation.student_id)
    assert len(by_supervisor) == 2  # Dr Lee's two students and Dr Kim's one
    for supervisor_id, students in by_supervisor.items():
        planned = batch.plan(cohort, batch.Filters(supervisor_id=supervisor_id))
        assert {i.student.id for i in planned} == students


def test_one_milestone_gives_the_forms_of_its_components(marking, marked, coordinator, tmp_path):
    cohort = marking.cohort
    report = marking.components["report"]
    assert report.milestone_id is not None
    on_it = [c for c in marking.components.values() if c.milestone_id == report.milestone_id]
    planned = batch.plan(cohort, batch.Filters(milestone_id=report.milestone_id))
    assert len(planned) == 3 * len(on_it)
    assert {i.component.id for i in planned} == {c.id for c in on_it}
    assert all(i.filename.endswith(f"-{i.component.key}.pdf") for i in planned)
    batch.generate(cohort, batch.Filters(milestone_id=report.milestone_id), coordinator, STUDENT, tmp_path / "r.zip")
    entries = zip_entries(tmp_path / "r.zip")
    first = next(i for i in planned if i.component.id == report.id)
    words = pdf_words(entries[first.filename])
    assert f"Feedback: {report.title}" in words and "Final mark" not in words
    assert {r["component"] for r in manifest(entries["manifest.csv"])} == {c.title for c in on_it}


def test_filters_naming_nothing_of_the_cohort_are_refused_with_a_sentence(marking, marked, make):
    cohort = marking.cohort
    stranger = make.staff(make.cohort(), name="Dr Elsewhere")
    with pytest.raises(batch.ValidationFailed, match="has no member of staff with id"):
        batch.check_filters(cohort, batch.Filters(supervisor_id=stranger.id))
    unmarked = next(m for m in marking.timeline.values() if m.id not in {c.milestone_id for c in marking.components.values()})
    with pytest.raises(batch.ValidationFailed, match="No component of the project mark is marked on"):
        batch.check_filters(cohort, batch.Filters(milestone_id=unmarked.id))


# --- the page and the job ----------------------------------------------------------------------------

def test_the_coordinator_starts_a_batch_follows_it_and_downloads_the_zip(marking, marked, coordinator, as_):
    cohort = marking.cohort
    client = as_(coordinator)
    results_page = client.get(f"/cohorts/{cohort.id}/results").get_data(as_text=True)
    page_url = href(results_page, "Feedback forms")
    assert page_url == f"/cohorts/{cohort.id}/feedback"
    form = get_form(client, page_url, has_field="copies")
    assert form.get("copies") == STUDENT and form.get("supervisor") == "" and form.get("milestone") == ""
    form.check("copies", STAFF)
    response = form.submit(client)
    assert response.status_code == 302
    job = db.session.scalar(select(jobs.Job).where(jobs.Job.kind == batch.JOB_KIND))
    assert job.state == jobs.QUEUED and job.params["copies"] == STAFF and job.params["forms"] == 3

    page = client.get(page_url).get_data(as_text=True)
    status_url = f"/cohorts/{cohort.id}/feedback/batches/{job.id}"
    assert 'id="run-progress"' in page and f'data-url="{status_url}"' in page and "js/progress.js" in page
    assert "Board copies" in page and "Download zip" not in page
    status = client.get(status_url).get_json()
    assert status["finished"] is False and status["job"]["state"] == jobs.QUEUED and status["download"] is None
    assert client.get(f"{status_url}.zip").status_code == 404  # not before it is done

    assert jobs.run_pending() == 1
    db.session.expire_all()
    status = client.get(status_url).get_json()
    assert status["finished"] is True and status["job"]["progress"] == 100
    assert status["counts"] == {"forms": 3, "printed": 3, "reused": 0}
    page = client.get(page_url).get_data(as_text=True)
    assert 'id="run-progress"' not in page and "3 printed, 0 reused" in page
    download = client.get(href(page, f"Download zip of batch {job.id}"))
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert f"board-copies-{job.id}.zip" in download.headers["Content-Disposition"]
    entries = zip_entries(io.BytesIO(download.data))
    assert len(entries) == 4 and "manifest.csv" in entries


def test_the_same_form_sent_twice_starts_one_batch(marking, marked, coordinator, as_):
    client = as_(coordinator)
    form = get_form(client, f"/cohorts/{marking.cohort.id}/feedback", has_field="copies")
    assert form.submit(client).status_code == 302
    again = form.submit(client)
    assert again.status_code == 302
    assert "already sent" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(jobs.Job).where(jobs.Job.kind == batch.JOB_KIND)) == 1


@pytest.mark.parametrize("field, value, status, message", [
    ("supervisor", "Dr Lee", 422, "Choose a supervisor from the list."),
    ("supervisor", "99999999", 422, "has no member of staff with id 99999999"),
    ("milestone", "12345678901", 422, "Choose a milestone from the list."),
    ("milestone", "99999999", 422, "has no milestone with id 99999999"),
])
def test_bad_filters_are_answered_next_to_their_field(marking, marked, coordinator, as_, field, value, status, message):
    client = as_(coordinator)
    form = get_form(client, f"/cohorts/{marking.cohort.id}/feedback", has_field="copies")
    form.set(field, value)
    response = form.submit(client)
    assert response.status_code == status
    assert message in field_error(response.get_data(as_text=True), field)
    assert db.session.scalar(select(func.count()).select_from(jobs.Job).where(jobs.Job.kind == batch.JOB_KIND)) == 0


def test_filters_that_leave_no_form_are_refused(marking, marked, coordinator, as_):
    client = as_(coordinator)
    form = get_form(client, f"/cohorts/{marking.cohort.id}/feedback", has_field="copies")
    form.check("released")  # nobody's result is released yet
    response = form.submit(client)
    assert response.status_code == 422
    assert "No feedback form matches these choices" in response.get_data(as_text=True)


def test_only_the_cohorts_coordinators_may_and_another_cohorts_batch_is_not_found(marking, marked, coordinator,
                                                                                  make, as_):
    cohort = marking.cohort
    job = batch.start_batch(cohort, batch.Filters(), STUDENT, by=coordinator)
    db.session.commit()
    urls = [f"/cohorts/{cohort.id}/feedback", f"/cohorts/{cohort.id}/feedback/batches/{job.id}",
            f"/cohorts/{cohort.id}/feedback/batches/{job.id}.zip"]
    client = as_(marking.lee)  # supervises and marks in the cohort, coordinates nothing
    for url in urls:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Only this cohort's coordinators generate its feedback forms." in main_text(response.get_data(as_text=True))
    assert client.post(urls[0], data={"copies": STUDENT}).status_code == 403
    # The coordinator's other cohort does not hold this batch; an allocation job is no batch either.
    other = make.cohort(coordinator=coordinator)
    client = as_(coordinator)
    assert client.get(f"/cohorts/{other.id}/feedback/batches/{job.id}").status_code == 404
    assert client.get(f"/cohorts/{other.id}/feedback/batches/{job.id}.zip").status_code == 404
    allocation_job = marking.run.job_id
    assert client.get(f"/cohorts/{cohort.id}/feedback/batches/{allocation_job}").status_code == 404


# --- the command ---------------------------------------------------------------------------------------

def test_the_command_writes_a_zip_then_a_folder_reusing_the_printed_forms(app, marking, marked, tmp_path):
    runner = app.test_cli_runner()
    cohort = marking.cohort
    result = runner.invoke(cli, ["feedback-pdfs", "--cohort", str(cohort.id), "--output", str(tmp_path / "f.zip")])
    assert result.exit_code == 0, result.output
    assert "Wrote 3 forms: 3 printed, 0 reused" in result.output
    assert len(zip_entries(tmp_path / "f.zip")) == 4
    result = runner.invoke(cli, ["feedback-pdfs", "--cohort", str(cohort.id), "--output", str(tmp_path / "forms"),
                                 "--supervisor", marking.kim.email.upper()])
    assert result.exit_code == 0, result.output
    assert "Wrote 1 form: 0 printed, 1 reused" in result.output
    written = sorted(p.name for p in (tmp_path / "forms").iterdir())
    assert len(written) == 2 and "manifest.csv" in written


@pytest.mark.parametrize("args, message", [
    (["--cohort", "99999999", "--output", "{tmp}/f.zip"], "There is no cohort with id 99999999."),
    (["--cohort", "{cohort}", "--output", "{tmp}/missing/f.zip"], "does not exist: make it first."),
    (["--cohort", "{cohort}", "--output", "{tmp}/file.txt"], "is a file, not a folder"),
    (["--cohort", "{cohort}", "--output", "{tmp}/f.zip", "--supervisor", "nobody@example.ac.uk"],
     "Nobody has the e-mail address nobody@example.ac.uk."),
    (["--cohort", "{cohort}", "--output", "{tmp}/f.zip", "--milestone", "99999999"], "has no milestone with id"),
    (["--cohort", "{cohort}", "--output", "{tmp}/f.zip", "--released"], "No feedback form matches"),
])
def test_the_command_refuses_a_bad_cohort_filter_or_output_with_exit_code_2(app, marking, marked, tmp_path, args,
                                                                            message):
    (tmp_path / "file.txt").write_text("not a folder")
    args = [a.format(tmp=tmp_path, cohort=marking.cohort.id) for a in args]
    result = app.test_cli_runner().invoke(cli, ["feedback-pdfs", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "f.zip").exists()
