"""The coordinator's zip of a milestone's submissions: the latest version of each student's file,
named by candidate number only, and a manifest whose sizes and SHA-256 match the files (names in it:
tests/web/test_anonymous_marking.py)."""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from projectflow.cohorts.importing import import_people
from projectflow.cohorts.models import Enrolment
from projectflow.core import clock
from projectflow.core.sheets import neutralise
from projectflow.core.storage import file_store
from projectflow.extensions import db
from projectflow.matching import services as matching
from projectflow.milestones import extensions
from projectflow.people.models import User
from projectflow.submissions import services
from projectflow.submissions.models import Submission
from tests.html import main_text
from tests.matching.conftest import build_round, solve

from .conftest import FEBRUARY, pdf_bytes


@pytest.fixture(autouse=True)
def _mail(smtp_server):
    # Receipts, extensions and the published allocation are e-mailed.
    return smtp_server


def submit(milestone, student, data: bytes):
    submission, created = services.submit(milestone, student, io.BytesIO(data), file_name="My report.pdf",
                                          declared=True, form_token=secrets.token_hex(8), by=student)
    assert created
    return submission


def candidate(cohort, student) -> str:
    return db.session.scalar(select(Enrolment.candidate_number).where(Enrolment.cohort_id == cohort.id,
                                                                      Enrolment.user_id == student.id))


def download(client, milestone) -> tuple[zipfile.ZipFile, list[dict]]:
    response = client.get(f"/milestones/{milestone.id}/archive.zip")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/zip" and response.content_length == len(response.data)
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    return archive, rows


@pytest.fixture
def submitted(make, cohort, coordinator, student, timeline):
    """Sam submits twice (with an extension), Zoë once and late, Nia not at all."""
    plan = timeline["project_plan"]  # Fri 5 Mar 2027 16:00 London
    zoe = make.student(cohort, name="Zoë Ångström")
    nia = make.student(cohort, name="Nia Nobody")
    files = {"first": pdf_bytes(1), "second": pdf_bytes(2), "zoe": pdf_bytes(3)}
    with clock.frozen(FEBRUARY):
        granted = extensions.grant_directly(plan, student, working_days=3, note="Illness", by=coordinator)
        db.session.commit()
        submit(plan, student, files["first"])
    with clock.frozen(FEBRUARY + timedelta(days=1)):
        submit(plan, student, files["second"])
    with clock.frozen(plan.due_at + timedelta(days=3, hours=1)):  # Monday 17:00: 2 working days, 73 hours
        submit(plan, zoe, files["zoe"])
    return dict(plan=plan, sam=student, zoe=zoe, nia=nia, files=files, extension=granted)


def test_the_zip_holds_the_latest_version_of_each_submission_and_a_manifest(client, login, cohort, coordinator,
                                                                             submitted):
    plan, sam, zoe, nia, files = (submitted[k] for k in ("plan", "sam", "zoe", "nia", "files"))
    archive, rows = download(login(coordinator, role="coordinator"), plan)
    sam_file = f"{candidate(cohort, sam)}-project_plan-v2.pdf"
    zoe_file = f"{candidate(cohort, zoe)}-project_plan-v1.pdf"
    assert sorted(archive.namelist()) == sorted([sam_file, zoe_file, "manifest.csv"])
    assert archive.read(sam_file) == files["second"] and archive.read(zoe_file) == files["zoe"]
    # Marking is anonymous: no name in any file's name.
    for name in archive.namelist():
        assert not any(part in name for person in (sam, zoe, nia) for part in person.name.split())

    by_candidate = {r["candidate_number"]: r for r in rows}
    assert len(rows) == 3 and [r["candidate_number"] for r in rows] == sorted(by_candidate)
    for person, file in ((sam, sam_file), (zoe, zoe_file)):
        row = by_candidate[candidate(cohort, person)]
        data = archive.read(file)
        assert row["file"] == file and "student_name" not in row  # the cohort marks anonymously (the default)
        assert row["sha256"] == hashlib.sha256(data).hexdigest() and int(row["size_bytes"]) == len(data)
        assert row["problem"] == ""
    sam_row, zoe_row = by_candidate[candidate(cohort, sam)], by_candidate[candidate(cohort, zoe)]
    assert sam_row["version"] == "2" and sam_row["late_working_days"] == "0" and sam_row["late_hours"] == "0.00"
    assert sam_row["submitted_at (Europe/London)"] == "2027-02-16 10:00:00"  # 10:00 UTC is 10:00 GMT
    assert sam_row["extension_new_deadline (Europe/London)"] == "2027-03-10 16:00"
    assert zoe_row["version"] == "1" and zoe_row["late_working_days"] == "2" and zoe_row["late_hours"] == "73.00"
    assert zoe_row["submitted_at (Europe/London)"] == "2027-03-08 17:00:00"
    assert zoe_row["extension_new_deadline (Europe/London)"] == ""
    nia_row = by_candidate[candidate(cohort, nia)]
    assert nia_row["file"] == "" and nia_row["version"] == "" and nia_row["problem"] == "no submission"


def test_a_milestone_nobody_submitted_gives_a_manifest_only(client, login, coordinator, student, timeline):
    archive, rows = download(login(coordinator, role="coordinator"), timeline["final_report"])
    assert archive.namelist() == ["manifest.csv"]
    assert [r["problem"] for r in rows] == ["no submission"]


def test_a_file_missing_from_the_store_is_reported_not_fatal(client, login, cohort, coordinator, submitted):
    zoe = submitted["zoe"]
    stored = db.session.scalar(select(Submission).where(Submission.student_id == zoe.id))
    file_store().delete(stored.storage_key)
    archive, rows = download(login(coordinator, role="coordinator"), submitted["plan"])
    assert len(archive.namelist()) == 2  # Sam's file and the manifest
    row = next(r for r in rows if r["candidate_number"] == candidate(cohort, zoe))
    assert row["file"] == "" and row["problem"] == "file missing from the store" and row["sha256"] == stored.sha256


def test_a_damaged_file_is_flagged_in_the_manifest(client, login, cohort, coordinator, submitted):
    sam = submitted["sam"]
    latest = services.latest_submission(submitted["plan"], sam)
    path = file_store().path_of(latest.storage_key)
    path.write_bytes(path.read_bytes().replace(b"%%EOF", b"%%EOX"))
    archive, rows = download(login(coordinator, role="coordinator"), submitted["plan"])
    row = next(r for r in rows if r["candidate_number"] == candidate(cohort, sam))
    assert row["file"] in archive.namelist() and "do not use this copy" in row["problem"]


def test_only_the_cohorts_coordinators_download_it(app, client, login, make, cohort, coordinator, timeline):
    plan = timeline["project_plan"]
    published = build_round(make, cohort, coordinator)
    run = solve(cohort, coordinator)
    matching.publish_run(run, by=coordinator)
    db.session.commit()
    allocation = run.allocations[0]
    student, supervisor = allocation.student, db.session.get(type(coordinator), allocation.supervisor_id)
    with clock.frozen(FEBRUARY):
        submission = submit(plan, student, pdf_bytes())
    url = f"/milestones/{plan.id}/archive.zip"

    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    other_coordinator = make.cohort(code="OTH").staff[0].member
    for person in (student, supervisor, published.kim, other_coordinator):
        c = login(person)
        response = c.get(url)
        assert response.status_code == 403, person.name
        assert "coordinators" in main_text(response.get_data(as_text=True))
        c.post("/logout")
    # The supervisor may download their student's file, just not everyone's.
    assert login(supervisor).get(f"/submissions/{submission.id}/download").status_code == 200
    client.post("/logout")
    assert login(make.admin()).get(url).status_code == 200
    client.post("/logout")
    assert login(coordinator).get("/milestones/999999/archive.zip").status_code == 404



@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example","Click")', "+44 Plus", "-2+3", "@SUM(A1:A9)"])
def test_a_name_a_spreadsheet_would_read_as_a_formula_is_written_as_text(client, login, cohort, coordinator,
                                                                        timeline, name):
    # Found when the app was tried: names imported from CSV came out unchanged in manifest.csv.
    cohort.marks_anonymously = False  # (else the manifest names nobody)
    quoted = name.replace('"', '""')
    import_people(cohort, f'email,name,role\nform@example.ac.uk,"{quoted}",student\n'.encode(), by=coordinator)
    db.session.commit()
    assert db.session.scalar(select(User.name).where(User.email == "form@example.ac.uk")) == name

    _, [row] = download(login(coordinator, role="coordinator"), timeline["project_plan"])

    assert row["student_name"] == "'" + name


@pytest.mark.parametrize(("value", "written"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("Ada", "Ada"), ("", ""), ("1-2", "1-2"), (-3, -3), (2.5, 2.5), (None, None),
])
def test_only_text_that_starts_like_a_formula_is_changed(value, written):
    assert neutralise(value) == written
