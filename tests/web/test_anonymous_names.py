"""Issue 11: "When the cohort marks anonymously, second and third markers see the candidate number, never
the name (the supervisor knows their student)." Every page a second marker reaches about a student they
mark but do not supervise (the progress grid and its export, My students, the receipt and the download)
shows the candidate number; the supervisor, a co-supervisor, the coordinator and an admin see the name;
a cohort that does not mark anonymously names its students to everyone who sees them."""

from __future__ import annotations

import csv
import io
import secrets

import pytest
from sqlalchemy import select

from projectflow.cohorts.models import Enrolment
from projectflow.core import clock
from projectflow.extensions import db
from projectflow.matching import anonymity, second_markers
from projectflow.matching import services as matching
from projectflow.submissions import services as submissions
from projectflow.submissions.models import Submission
from tests.html import main_text
from tests.matching.conftest import solve
from tests.milestones.conftest import FEBRUARY, pdf_bytes, timeline  # noqa: F401 (fixture)

NAME = "Sam Student"
OWN_FILE = "Sam-Student-project-plan.pdf"  # the file's own name carries the student's name


@pytest.fixture(autouse=True)
def _mail(smtp_server):
    return smtp_server


@pytest.fixture
def people(make, cohort, coordinator, timeline, student):  # noqa: F811
    """Sam supervised by Dr Grid with Dr Co, second-marked by Dr Second; Sam's plan is in."""
    supervisor = make.staff(cohort, name="Dr Grid", max_load=3)
    co_supervisor = make.staff(cohort, name="Dr Co", max_load=3)
    marker = make.staff(cohort, name="Dr Second", max_load=3)
    project = make.project(cohort, owner=supervisor, co_supervisors=[co_supervisor], title="Grid computing",
                           capacity=2)
    cohort.min_preferences = 1
    db.session.commit()
    make.preferences(cohort, student, [project])
    matching.publish_run(solve(cohort, coordinator), by=coordinator)
    second_markers.change_marker(matching.allocation_of(cohort, student), marker, by=coordinator)
    second_markers.publish_second_markers(cohort, by=coordinator)
    with clock.frozen(FEBRUARY):
        submissions.submit(timeline["project_plan"], student, io.BytesIO(pdf_bytes()), file_name=OWN_FILE,
                           declared=True, form_token=secrets.token_hex(8), by=student)
    db.session.commit()
    number = db.session.scalar(select(Enrolment.candidate_number).where(Enrolment.user_id == student.id))
    return {"supervisor": supervisor, "co_supervisor": co_supervisor, "marker": marker, "coordinator": coordinator,
            "admin": make.admin(name="Ada Min"), "number": number,
            "submission": db.session.scalar(select(Submission))}


def _pages(client, cohort, submission) -> dict[str, str]:
    return {
        "progress grid": main_text(client.get(f"/cohorts/{cohort.id}/progress").get_data(as_text=True)),
        "progress export": client.get(f"/cohorts/{cohort.id}/progress.csv").data.decode("utf-8-sig"),
        "receipt": main_text(client.get(f"/submissions/{submission.id}/receipt").get_data(as_text=True)),
    }


@pytest.fixture
def as_(client, login):
    def sign_in(user, role=None):
        client.post("/logout")
        return login(user, role=role)

    return sign_in


def test_a_second_marker_of_an_anonymous_cohort_sees_the_candidate_number_never_the_name(as_, cohort, people):
    assert cohort.marks_anonymously is True  # the default
    c = as_(people["marker"])
    candidate = f"Candidate {people['number']}"
    for page, text in _pages(c, cohort, people["submission"]).items():
        assert NAME not in text, page
        assert candidate in text, page
    receipt = main_text(c.get(f"/submissions/{people['submission'].id}/receipt").get_data(as_text=True))
    assert OWN_FILE not in receipt and f"{people['number']}-project_plan-v1.pdf" in receipt
    mine = c.get(f"/cohorts/{cohort.id}/allocation/my-students").get_data(as_text=True)
    assert NAME not in main_text(mine) and candidate in main_text(mine) and "Grid computing" in mine
    export = c.get(f"/cohorts/{cohort.id}/progress.csv").data.decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(export)))
    assert row["Candidate number"] == people["number"] and row["Student"] == candidate


@pytest.mark.parametrize("who", ["supervisor", "co_supervisor", "coordinator", "admin"])
def test_the_supervisors_and_the_coordinators_see_the_name(as_, cohort, people, who):
    role = {"coordinator": "coordinator", "admin": "admin"}.get(who)
    c = as_(people[who], role=role)
    receipt = main_text(c.get(f"/submissions/{people['submission'].id}/receipt").get_data(as_text=True))
    assert NAME in receipt and OWN_FILE in receipt and "Candidate" not in receipt
    if who != "co_supervisor":  # the grid lists the supervisor's students, not a co-supervisor's
        assert NAME in main_text(c.get(f"/cohorts/{cohort.id}/progress").get_data(as_text=True))


def test_a_cohort_that_does_not_mark_anonymously_names_the_student_to_the_second_marker(as_, cohort, people):
    cohort.marks_anonymously = False
    db.session.commit()
    c = as_(people["marker"])
    for page, text in _pages(c, cohort, people["submission"]).items():
        assert NAME in text and f"Candidate {people['number']}" not in text, page
    assert NAME in main_text(c.get(f"/cohorts/{cohort.id}/allocation/my-students").get_data(as_text=True))


def test_the_download_is_named_by_candidate_number(as_, cohort, people):
    for who in ("marker", "supervisor"):
        response = as_(people[who]).get(f"/submissions/{people['submission'].id}/download")
        disposition = response.headers["Content-Disposition"]
        assert response.status_code == 200 and f"{people['number']}-project_plan-v1.pdf" in disposition
        assert "Sam" not in disposition and f"-{people['submission'].student_id}-" not in disposition


def test_a_second_marker_is_not_sent_to_a_student_proposal_they_may_not_open(as_, make, cohort, coordinator,
                                                                           timeline):  # noqa: F811
    """A student's own proposal (its page names the proposer) stays open to its supervisors and the
    coordinators only: My students gives its second marker the title, not a link to a 403."""
    supervisor = make.staff(cohort, name="Dr Grid", max_load=3)
    marker = make.staff(cohort, name="Dr Second", max_load=3)
    zoe = make.student(cohort, name="Zoe Proposer")
    own = make.proposal(cohort, student=zoe, supervisor=supervisor, state="approved", title="My own idea")
    db.session.commit()
    matching.publish_run(solve(cohort, coordinator), by=coordinator)
    second_markers.change_marker(matching.allocation_of(cohort, zoe), marker, by=coordinator)
    second_markers.publish_second_markers(cohort, by=coordinator)
    db.session.commit()
    c = as_(marker)
    page = c.get(f"/cohorts/{cohort.id}/allocation/my-students").get_data(as_text=True)
    assert "My own idea" in page and f"/projects/{own.id}" not in page and "Zoe Proposer" not in page
    assert c.get(f"/projects/{own.id}").status_code == 403
    assert f"/projects/{own.id}" in as_(supervisor).get(f"/cohorts/{cohort.id}/allocation/my-students").get_data(
        as_text=True)


def test_one_rule_for_every_viewer(make, cohort, coordinator, people, student):
    """``matching.anonymity``: the student, supervisors, coordinators and admins know the name."""
    def seen_by(user):
        return anonymity.student_label(cohort, student, user)

    for who in ("supervisor", "co_supervisor", "coordinator", "admin"):
        assert seen_by(people[who]) == NAME, who
    assert seen_by(student) == NAME
    assert seen_by(people["marker"]) == f"Candidate {people['number']}"
    assert seen_by(make.staff(cohort, name="Dr Else")) == f"Candidate {people['number']}"
    names = anonymity.names_for(cohort, people["marker"])
    assert names.label(student, with_number=True) == f"Candidate {people['number']}"
    assert anonymity.names_for(cohort, people["supervisor"]).label(student, with_number=True) == (
        f"{NAME} ({people['number']})")
