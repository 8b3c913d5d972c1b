"""Submitting a milestone's PDF: receipt, versions, lateness against the effective deadline, and bad
input that is refused with a message and leaves nothing behind."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from projectflow.core import clock
from projectflow.core.storage import file_store
from projectflow.extensions import db
from projectflow.submissions.models import Submission
from tests.forms import get_form
from tests.html import field_error, flashes, main_text

from .conftest import pdf_bytes


@pytest.fixture(autouse=True)
def _mail(smtp_server):
    return smtp_server


def send(client, milestone, data: bytes, *, name="report.pdf", declared=True, token=None):
    """Send the milestone page's submission form with this file (``token``: an older form's token)."""
    form = get_form(client, f"/milestones/{milestone.id}", action=f"/milestones/{milestone.id}/submit")
    if token:
        form.set("form_token", token)
    if declared:
        form.check("declaration")
    return form.submit(client, files={"file": (data, name)})


def stored_files(app) -> list[Path]:
    root = Path(file_store().root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Submission))


def test_a_student_submits_gets_a_receipt_and_resubmits(app, login, timeline, student, february, smtp_server):
    plan = timeline["project_plan"]
    c = login(student)
    data = pdf_bytes(3)
    response = send(c, plan, data, name="../../etc/My plan.pdf")
    assert response.status_code == 302
    receipt = c.get(response.location).get_data(as_text=True)
    assert hashlib.sha256(data).hexdigest() in receipt and "On time" in main_text(receipt)
    assert "My plan.pdf (3 pages)" in main_text(receipt) and "etc" not in main_text(receipt)
    stored = db.session.scalar(select(Submission))
    assert "plan" not in stored.storage_key and ".." not in stored.storage_key
    mail = smtp_server.wait_for(1)[0]
    assert mail["To"] == student.email and hashlib.sha256(data).hexdigest() in mail.get_body(("plain",)).get_content()

    second = pdf_bytes(4)
    assert send(c, plan, second).status_code == 302
    versions = db.session.scalars(select(Submission).order_by(Submission.version)).all()
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].sha256 == hashlib.sha256(second).hexdigest()
    assert len(stored_files(app)) == 2  # every version kept
    page = main_text(c.get(f"/milestones/{plan.id}").get_data(as_text=True))
    assert "Your versions" in page and "2 counts" in page
    download = c.get(f"/submissions/{versions[1].id}/download")
    assert download.status_code == 200 and download.data == second


def test_a_submission_after_the_deadline_is_late_in_working_days_and_hours(app, login, timeline, student):
    plan = timeline["project_plan"]  # Friday 5 March 2027, 16:00
    c = login(student)
    with clock.frozen(plan.due_at + timedelta(days=3, hours=1)):  # Monday 17:00: a weekend in between
        assert send(c, plan, pdf_bytes()).status_code == 302
    late = db.session.scalar(select(Submission))
    assert late.is_late and late.late_working_days == 2 and late.late_seconds == (3 * 24 + 1) * 3600
    receipt = main_text(c.get(f"/submissions/{late.id}/receipt").get_data(as_text=True))
    assert "Late 2 working days (73.0 hours) after the deadline" in receipt
    assert "Not counted as working days: Sat 06 Mar (Saturday), Sun 07 Mar (Sunday)." in receipt


def test_a_late_version_over_an_on_time_one_needs_confirming_and_then_counts(app, login, timeline, student,
                                                                             february):
    # Found when the app was tried: an on-time final report was silently replaced months later by a
    # late version, which then counted.
    final = timeline["final_report"]
    c = login(student)
    assert send(c, final, pdf_bytes(1)).status_code == 302  # in February: on time
    with clock.frozen(final.due_at + timedelta(hours=1)):
        page = c.get(f"/milestones/{final.id}").get_data(as_text=True)
        assert "your version 1 was on time" in main_text(page)
        refused = send(c, final, pdf_bytes(2))
        assert refused.status_code == 422
        assert "Your version 1 was on time. This one would be late" in \
            field_error(refused.get_data(as_text=True), "late_confirmed")
        assert count() == 1 and len(stored_files(app)) == 1  # nothing kept of the refused file

        form = get_form(c, f"/milestones/{final.id}", action=f"/milestones/{final.id}/submit")
        confirmed = form.check("declaration").check("late_confirmed").submit(c, files={"file": (pdf_bytes(2), "r.pdf")})
    assert confirmed.status_code == 302
    latest = db.session.scalars(select(Submission).order_by(Submission.version)).all()[-1]
    assert latest.version == 2 and latest.is_late


def test_a_late_version_over_a_late_one_or_before_the_deadline_needs_no_confirming(login, timeline, student,
                                                                                   february):
    plan, final = timeline["project_plan"], timeline["final_report"]
    c = login(student)
    assert send(c, final, pdf_bytes()).status_code == 302
    assert send(c, final, pdf_bytes(2)).status_code == 302  # before the deadline: no question
    assert "late_confirmed" not in c.get(f"/milestones/{final.id}").get_data(as_text=True)
    with clock.frozen(plan.due_at + timedelta(hours=1)):
        assert send(c, plan, pdf_bytes()).status_code == 302  # late, over nothing
        assert send(c, plan, pdf_bytes(2)).status_code == 302  # late, over a late one


def test_exactly_at_the_deadline_is_on_time(login, timeline, student):
    plan = timeline["project_plan"]
    with clock.frozen(plan.due_at):
        assert send(login(student), plan, pdf_bytes()).status_code == 302
    assert not db.session.scalar(select(Submission)).is_late


def test_nothing_is_accepted_after_the_cutoff(login, timeline, student, coordinator):
    plan = timeline["project_plan"]
    plan.cutoff_at = plan.due_at + timedelta(days=1)
    db.session.commit()
    c = login(student)
    with clock.frozen(plan.cutoff_at - timedelta(minutes=1)):  # the page was opened just before the cut-off
        old_page = get_form(c, f"/milestones/{plan.id}", action=f"/milestones/{plan.id}/submit")
    with clock.frozen(plan.cutoff_at + timedelta(seconds=1)):
        page = c.get(f"/milestones/{plan.id}").get_data(as_text=True)
        assert "closed at its cut-off" in page and 'id="submission-form"' not in page
        response = old_page.check("declaration").submit(c, files={"file": (pdf_bytes(), "report.pdf")})
    assert response.status_code == 409 and count() == 0


@pytest.mark.parametrize("data, name, message", [
    (b"Just some text, not a PDF at all.\n" * 10, "report.pdf", "not a PDF"),
    (b"", "report.pdf", "empty"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "report.pdf", "PNG"),
    (b"%PDF-1.7\n" + b"x" * 500, "report.pdf", ""),
])
def test_bad_files_are_refused_with_a_message_and_leave_nothing(app, login, timeline, student, february,
                                                                 data, name, message):
    response = send(login(student), timeline["project_plan"], data, name=name)
    assert response.status_code == 422
    error = field_error(response.get_data(as_text=True), "file")
    assert error and message in error
    assert count() == 0 and stored_files(app) == []


def test_an_oversize_file_is_refused(app, login, timeline, student, february):
    app.config["MAX_UPLOAD_MB"] = 1
    big = pdf_bytes() + b"%" + b"0" * (1024 * 1024)
    response = send(login(student), timeline["project_plan"], big)
    assert response.status_code == 422 and "1 MB" in field_error(response.get_data(as_text=True), "file")
    assert count() == 0 and stored_files(app) == []


def test_the_declaration_is_required(app, login, timeline, student, february):
    response = send(login(student), timeline["project_plan"], pdf_bytes(), declared=False)
    assert response.status_code == 422
    assert "Tick the declaration" in field_error(response.get_data(as_text=True), "declaration")
    assert count() == 0 and stored_files(app) == []


def test_the_same_form_sent_twice_is_one_submission(app, login, timeline, student, february):
    c = login(student)
    token = "one-page-one-token-123"
    first = send(c, timeline["project_plan"], pdf_bytes(), token=token)
    second = send(c, timeline["project_plan"], pdf_bytes(2), token=token)
    assert first.status_code == second.status_code == 302 and first.location == second.location
    assert "already sent" in " ".join(flashes(c.get(second.location).get_data(as_text=True)))
    assert count() == 1 and len(stored_files(app)) == 1


def test_who_may_see_a_submission(app, login, make, cohort, timeline, student, supervisor, february):
    c = login(student)
    send(c, timeline["project_plan"], pdf_bytes())
    c.post("/logout")
    submission = db.session.scalar(select(Submission))
    other = make.student(cohort)
    for person in (other, supervisor):  # the supervisor is not (yet) this student's
        c = login(person)
        assert c.get(f"/submissions/{submission.id}/receipt").status_code == 403
        assert c.get(f"/submissions/{submission.id}/download").status_code == 403
        c.post("/logout")
    assert login(supervisor).get(f"/milestones/{timeline['project_plan'].id}").status_code == 403


def test_the_progress_grid_shows_each_students_state_to_their_supervisor_and_the_coordinator(
        app, login, make, cohort, coordinator, timeline, student, february):
    from projectflow.matching import services as matching
    from tests.matching.conftest import solve

    supervisor = make.staff(cohort, name="Dr Grid", max_load=3)
    project = make.project(cohort, owner=supervisor, title="Grid computing", capacity=2)
    cohort.min_preferences = 1
    db.session.commit()
    make.preferences(cohort, student, [project])
    run = solve(cohort, coordinator)
    matching.publish_run(run, by=coordinator)
    db.session.commit()
    c = login(student)
    send(c, timeline["project_plan"], pdf_bytes())
    c.post("/logout")
    outsider = make.staff(cohort, name="Dr Else")
    page = login(supervisor).get(f"/cohorts/{cohort.id}/progress").get_data(as_text=True)
    grid = main_text(page)
    assert "Sam Student" in grid and "Submitted" in grid and "Not due" in grid
    c = app.test_client()
    c.post("/login", data={"email": outsider.email, "password": "correct horse battery"})
    assert "Sam Student" not in main_text(c.get(f"/cohorts/{cohort.id}/progress").get_data(as_text=True))
    c.post("/logout")
    c.post("/login", data={"email": student.email, "password": "correct horse battery"})
    assert c.get(f"/cohorts/{cohort.id}/progress").status_code == 403


def test_a_second_marker_sees_the_students_extension_on_the_grid(app, login, make, cohort, coordinator, timeline,
                                                                  student, february, smtp_server):
    from projectflow.matching import second_markers
    from projectflow.matching import services as matching
    from projectflow.milestones import extensions
    from tests.matching.conftest import solve

    supervisor = make.staff(cohort, name="Dr Grid", max_load=3)
    marker = make.staff(cohort, name="Dr Second", max_load=3)
    project = make.project(cohort, owner=supervisor, title="Grid computing", capacity=2)
    cohort.min_preferences = 1
    db.session.commit()
    make.preferences(cohort, student, [project])
    matching.publish_run(solve(cohort, coordinator), by=coordinator)
    allocation = matching.allocation_of(cohort, student)
    second_markers.change_marker(allocation, marker, by=coordinator)
    second_markers.publish_second_markers(cohort, by=coordinator)
    extensions.grant_directly(timeline["project_plan"], student, working_days=2, note="Ill.", by=coordinator)
    db.session.commit()
    grid = main_text(login(marker).get(f"/cohorts/{cohort.id}/progress").get_data(as_text=True))
    # The cohort marks anonymously (the default): the second marker knows Sam by candidate number.
    number = next(e.candidate_number for e in cohort.enrolments if e.user_id == student.id)
    assert f"Candidate {number}" in grid and "Sam Student" not in grid and "Extended to 09 Mar 16:00" in grid
