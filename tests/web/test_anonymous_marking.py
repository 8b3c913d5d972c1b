"""Anonymous marking, a cohort setting: on the cohort form (explained there, audited like the other
settings), on by default, and obeyed by the submissions zip that is handed to markers: its manifest names
students only when the cohort does not mark anonymously."""

from __future__ import annotations

import csv
import io
import secrets
import zipfile
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.extensions import db
from projectflow.milestones import services as timeline_services
from projectflow.submissions import services as submissions
from tests.forms import get_form
from tests.html import main_text
from tests.milestones.conftest import FEBRUARY, pdf_bytes

EXPLANATION = ("Second and third markers see candidate numbers, never names; the supervisor knows their own "
               "student.")


def events(action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def test_a_new_cohort_marks_anonymously_unless_the_coordinator_unticks_it(login, make):
    client = login(make.coordinator())
    new = get_form(client, "/cohorts/new", has_field="marks_anonymously")
    assert new.get("marks_anonymously") == "y"  # ticked as the page renders it
    assert EXPLANATION in main_text(client.get("/cohorts/new").get_data(as_text=True))
    response = new.set("programme_name", "Applied Machine Learning").set("programme_code", "AML").submit(client)
    assert response.status_code == 302
    [event] = events("cohort.created")
    assert event.after["marks_anonymously"] is True


def test_turning_anonymous_marking_off_and_on_is_saved_and_audited(login, make):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator, code="I460")
    assert cohort.marks_anonymously is True
    client = login(coordinator)
    edit = get_form(client, f"/cohorts/{cohort.id}/edit", has_field="marks_anonymously")
    assert edit.get("marks_anonymously") == "y"
    assert EXPLANATION in main_text(client.get(f"/cohorts/{cohort.id}/edit").get_data(as_text=True))

    assert edit.uncheck("marks_anonymously").submit(client, submit="Save").status_code == 302
    db.session.refresh(cohort)
    assert cohort.marks_anonymously is False
    [off] = events("cohort.updated")
    assert off.actor_id == coordinator.id and off.changes() == [("marks_anonymously", True, False)]
    assert off.summary.endswith("; anonymous marking off")

    edit = get_form(client, f"/cohorts/{cohort.id}/edit", has_field="marks_anonymously")
    assert edit.get("marks_anonymously") is None  # shown unticked
    assert edit.check("marks_anonymously").submit(client, submit="Save").status_code == 302
    db.session.refresh(cohort)
    assert cohort.marks_anonymously is True
    assert events("cohort.updated")[-1].summary.endswith("; anonymous marking on")


# The zip handed to markers -----------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _mail(smtp_server):
    return smtp_server  # receipts are e-mailed


@pytest.fixture
def plan_with_work(make, cohort, coordinator, student):
    with clock.frozen(datetime(2026, 11, 20, 9, tzinfo=timezone.utc)):
        plan = {m.kind: m for m in timeline_services.create_timeline(cohort, by=coordinator)}["project_plan"]
        db.session.commit()
    zoe = make.student(cohort, name="Zoë Ångström")
    with clock.frozen(FEBRUARY):
        for who, data in ((student, pdf_bytes(1)), (zoe, pdf_bytes(2))):
            submissions.submit(plan, who, io.BytesIO(data), file_name="My report.pdf", declared=True,
                               form_token=secrets.token_hex(8), by=who)
        db.session.commit()
    return plan, [student, zoe]


def manifest(client, milestone) -> tuple[str, list[dict]]:
    response = client.get(f"/milestones/{milestone.id}/archive.zip")
    assert response.status_code == 200
    text = zipfile.ZipFile(io.BytesIO(response.data)).read("manifest.csv").decode("utf-8-sig")
    return text, list(csv.DictReader(io.StringIO(text)))


def test_the_zip_of_a_cohort_that_marks_anonymously_names_nobody(login, cohort, coordinator, plan_with_work):
    plan, students = plan_with_work
    assert cohort.marks_anonymously is True
    text, rows = manifest(login(coordinator, role="coordinator"), plan)
    assert "student_name" not in rows[0]
    for person in students:
        assert not any(part in text for part in person.name.split()), person.name
    assert sorted(r["candidate_number"] for r in rows) == sorted(e.candidate_number for e in cohort.enrolments)
    assert all(r["file"] for r in rows)


def test_the_zip_of_a_cohort_that_does_not_mark_anonymously_names_its_students(login, cohort, coordinator,
                                                                               plan_with_work):
    plan, students = plan_with_work
    cohort.marks_anonymously = False
    db.session.commit()
    _, rows = manifest(login(coordinator, role="coordinator"), plan)
    candidate = {e.user_id: e.candidate_number for e in cohort.enrolments}
    named = {r["candidate_number"]: r["student_name"] for r in rows}
    assert named == {candidate[s.id]: s.name for s in students}  # accents intact
