"""The allocation pages through the test client: who may see them, and what they say."""

from __future__ import annotations

import json

import pytest
from markupsafe import escape

from projectflow.core import jobs
from projectflow.extensions import db
from projectflow.matching import queries, services
from projectflow.matching.models import AllocationRun
from tests.forms import get_form
from tests.html import field_error, flashes, main_text, nav_links

from .conftest import solve


@pytest.fixture(autouse=True)
def _mail(smtp_server):
    """Publishing tells people by e-mail: a real (local) SMTP server takes it."""
    return smtp_server


@pytest.fixture
def as_(client, login):
    def sign_in(user, role=None):
        client.post("/logout")
        return login(user, role=role)

    return sign_in


def text(response) -> str:
    return response.get_data(as_text=True)


def test_a_coordinator_starts_a_run_watches_it_and_reviews_the_result(as_, round_):
    client = as_(round_.coordinator, "coordinator")
    page = client.get(f"/cohorts/{round_.cohort.id}/allocation/")
    assert page.status_code == 200 and "No run yet" in text(page)
    assert nav_links(text(page))["Allocation"].endswith(f"/cohorts/{round_.cohort.id}/allocation/")

    start = get_form(client, f"/cohorts/{round_.cohort.id}/allocation/", has_field="objective")
    response = start.select("objective", "greedy").set("note", "trial").submit(client, submit="Start the run")
    run = db.session.query(AllocationRun).one()
    assert response.status_code == 302 and response.location.endswith(f"/allocation/runs/{run.id}")
    waiting = client.get(response.location)
    assert "Waiting for the job runner" in text(waiting) and 'id="run-progress"' in text(waiting)
    progress = client.get(f"/cohorts/{round_.cohort.id}/allocation/runs/{run.id}/progress").get_json()
    assert progress["finished"] is False and progress["job"]["state"] == "queued"

    jobs.run_pending()
    progress = client.get(f"/cohorts/{round_.cohort.id}/allocation/runs/{run.id}/progress").get_json()
    assert progress["finished"] is True and progress["job"]["progress"] == 100
    page = text(client.get(f"/cohorts/{round_.cohort.id}/allocation/runs/{run.id}"))
    body = main_text(page)
    assert "Students placed 3 of 4" in body and "Optimal (proven)" in body
    assert "Without a project 1" in body and "competed for" in body  # the reason, not a bare failure
    assert "full supervisors: Dr" in body and "“Protein folding”" in body  # named, not keyed
    assert "Dr Lee" in body and "2 / 2" in body and "1 / 1" in body  # loads against limits
    assert "This is the first run with a result." in body


def test_the_second_run_is_compared_with_the_first(as_, round_):
    first = solve(round_.cohort, round_.coordinator, "min-cost")
    second = solve(round_.cohort, round_.coordinator, "generous")
    client = as_(round_.coordinator, "coordinator")
    body = main_text(text(client.get(f"/cohorts/{round_.cohort.id}/allocation/runs/{second.id}")))
    assert f"Compared with the previous run Figure {first.label} {second.label}" in body
    assert "Objective min-cost generous" in body and "Students placed 3 3" in body


def test_the_move_check_answers_in_json_and_the_move_is_made(as_, round_):
    run = solve(round_.cohort, round_.coordinator)
    dan = round_.students[3]
    client = as_(round_.coordinator, "coordinator")
    base = f"/cohorts/{round_.cohort.id}/allocation/runs/{run.id}"
    check = client.get(f"{base}/check?student={dan.id}&project=").get_json()
    assert check["ok"] and check["after"]["placed"] == 2 and check["before"]["placed"] == 3
    move = get_form(client, base, action=f"{base}/move")
    response = move.select("student", str(dan.id)).select("project", "").submit(client)
    assert response.status_code == 302
    page = text(client.get(response.location))
    assert "Moved Dan off their project." in flashes(page) and "Adjusted by hand" in main_text(page)
    assert "Taken off their project by hand." in main_text(page)


def test_a_refused_move_is_a_409_with_the_reason_and_changes_nothing(as_, round_):
    run = solve(round_.cohort, round_.coordinator)
    placed_before = {a.student_id: a.project_id for a in run.allocations}
    left_out = next(s for s in round_.students if s.id not in placed_before)
    client = as_(round_.coordinator, "coordinator")
    base = f"/cohorts/{round_.cohort.id}/allocation/runs/{run.id}"
    check = client.get(f"{base}/check?student={left_out.id}&project={round_.p3.id}").get_json()
    assert not check["ok"] and any("is full" in p for p in check["problems"])
    response = client.post(f"{base}/move", data={"student": left_out.id, "project": round_.p3.id})
    assert response.status_code == 409
    assert any("Not moved:" in f and "is full" in f for f in flashes(text(response)))
    db.session.expire_all()
    assert {a.student_id: a.project_id for a in run.allocations} == placed_before


def test_a_move_to_a_project_not_in_the_list_is_a_422(as_, round_):
    run = solve(round_.cohort, round_.coordinator)
    client = as_(round_.coordinator, "coordinator")
    response = client.post(f"/cohorts/{round_.cohort.id}/allocation/runs/{run.id}/move",
                           data={"student": round_.students[0].id, "project": "999999"})
    assert response.status_code == 422 and field_error(text(response), "project")


def test_the_check_of_a_published_run_is_a_json_409(as_, round_):
    run = solve(round_.cohort, round_.coordinator)
    services.publish_run(run, by=round_.coordinator)
    db.session.commit()
    client = as_(round_.coordinator, "coordinator")
    response = client.get(f"/cohorts/{round_.cohort.id}/allocation/runs/{run.id}/check"
                          f"?student={round_.students[0].id}&project=")
    assert response.status_code == 409 and "only a run under review" in response.get_json()["message"]


def test_publishing_from_the_page_then_each_student_sees_their_project_and_why(as_, round_):
    run = solve(round_.cohort, round_.coordinator)
    client = as_(round_.coordinator, "coordinator")
    base = f"/cohorts/{round_.cohort.id}/allocation/runs/{run.id}"
    response = get_form(client, base, action=f"{base}/publish").submit(client)
    assert response.status_code == 302
    assert "is published" in " ".join(flashes(text(client.get(response.location))))

    assert any(services.allocation_of(round_.cohort, s) is None for s in round_.students)  # one is unplaced
    for student in round_.students:
        mine = services.allocation_of(round_.cohort, student)
        page = as_(student).get(f"/cohorts/{round_.cohort.id}/allocation/mine")
        body = main_text(text(page))
        assert page.status_code == 200
        if mine is None:
            assert "could not give you a project yet" in body and "You were not placed" in body
            # (found when the app was tried: the heading said "Why this project" to a student without one)
            assert "Why you have no project yet" in body and "Why this project" not in body
        else:
            assert mine.project.title in body and mine.supervisor.name in body and "Why this project" in body
            if mine.rank == 1:
                assert "You got your 1st choice." in body
            else:
                assert f"You got your {mine.rank}" in body and "Your choice" in body

    lee_page = main_text(text(as_(round_.lee).get(f"/cohorts/{round_.cohort.id}/allocation/my-students")))
    for a in services.students_of(round_.cohort, round_.lee):
        assert a.student.name in lee_page and a.project.title in lee_page


def test_before_publication_students_and_supervisors_are_told_it_is_coming(as_, round_):
    solve(round_.cohort, round_.coordinator)
    assert "has not been published yet" in text(as_(round_.students[0]).get(
        f"/cohorts/{round_.cohort.id}/allocation/mine"))
    assert "has not been published yet" in text(as_(round_.lee).get(
        f"/cohorts/{round_.cohort.id}/allocation/my-students"))


def test_the_run_files_reproduce_the_result(as_, round_):
    run = solve(round_.cohort, round_.coordinator)
    client = as_(round_.coordinator, "coordinator")
    base = f"/cohorts/{round_.cohort.id}/allocation/runs/{run.id}"
    problem = client.get(f"{base}/problem.json")
    result = client.get(f"{base}/result.json")
    assert problem.headers["Content-Disposition"].startswith("attachment;")
    assert json.loads(problem.data) == run.problem and json.loads(result.data)["status"] == "optimal"


def test_who_may_not_see_the_runs(as_, round_, make):
    run = solve(round_.cohort, round_.coordinator)
    base = f"/cohorts/{round_.cohort.id}/allocation"
    outsider = make.coordinator()
    make.cohort(coordinator=outsider)
    for person in (round_.students[0], round_.lee, outsider):
        client = as_(person)
        for path in ("/", f"/runs/{run.id}", f"/runs/{run.id}/progress", f"/runs/{run.id}/problem.json",
                     f"/runs/{run.id}/check?student={round_.students[0].id}&project="):
            assert client.get(base + path).status_code == 403, (person.name, path)
        assert client.post(f"{base}/runs/{run.id}/publish").status_code == 403
        assert client.post(f"{base}/runs/{run.id}/move",
                           data={"student": round_.students[0].id, "project": ""}).status_code == 403
    # A student's page is the student's own; staff have no allocation of their own.
    assert as_(round_.lee).get(f"{base}/mine").status_code == 403
    assert as_(outsider).get(f"{base}/my-students").status_code == 403


def test_a_run_of_another_cohort_is_not_found_here(as_, round_, make):
    run = solve(round_.cohort, round_.coordinator)
    other = make.cohort(coordinator=round_.coordinator)
    assert as_(round_.coordinator, "coordinator").get(
        f"/cohorts/{other.id}/allocation/runs/{run.id}").status_code == 404


def test_a_bad_objective_is_a_422_next_to_the_field(as_, round_):
    client = as_(round_.coordinator, "coordinator")
    response = client.post(f"/cohorts/{round_.cohort.id}/allocation/", data={"objective": "fastest"})
    assert response.status_code == 422 and field_error(text(response), "objective")
    assert db.session.query(AllocationRun).count() == 0


def test_an_out_of_date_run_says_so_where_it_matters_and_takes_no_hand_moves(as_, round_, make):
    # Found when the app was tried: a stale run still said "Ready to review", still took hand moves, and
    # its disabled Publish button had its reason far away.
    run = solve(round_.cohort, round_.coordinator)
    client = as_(round_.coordinator, "coordinator")
    base = f"/cohorts/{round_.cohort.id}/allocation/runs/{run.id}"
    move = get_form(client, base, action=f"{base}/move")  # the page as it was before the change
    make.preferences(round_.cohort, round_.students[3], [round_.p1, round_.p3])

    page = text(client.get(base))
    assert "Out of date" in main_text(page.split("</h1>")[0]) and "Ready to review" not in page.split("</h1>")[0]
    assert 'id="move-form"' not in page and "Place by hand" not in page
    assert 'disabled aria-describedby="publish-blocked"' in page
    assert "Publishing is off: the cohort's projects, load limits or preferences have changed" in main_text(page)
    runs_page = main_text(text(client.get(f"/cohorts/{round_.cohort.id}/allocation/")))
    assert "Out of date" in runs_page and "Ready to review" not in runs_page

    student = round_.students[0]
    refused = move.select("student", str(student.id)).select("project", str(round_.p3.id)).submit(client)
    assert refused.status_code == 409
    assert "Start a new run rather than changing this one by hand" in text(refused)
    check = client.get(f"{base}/check?student={student.id}&project={round_.p3.id}")
    assert check.status_code == 409 and "Start a new run" in check.get_json()["message"]


def test_publishing_before_the_preferences_deadline_needs_confirming_and_pages_say_why_lists_closed(
        as_, round_, make):
    # Found when the app was tried: an allocation could be published before the deadline without a
    # word, and student pages then claimed "the deadline has passed".
    from datetime import timedelta

    from projectflow.core import clock

    cohort = round_.cohort
    cohort.preferences_deadline_at = clock.now() + timedelta(days=3)
    db.session.commit()
    make.proposal(cohort, supervisor=round_.kim, state="submitted")  # one student proposal still waits
    run = solve(cohort, round_.coordinator)
    client = as_(round_.coordinator, "coordinator")
    base = f"/cohorts/{cohort.id}/allocation/runs/{run.id}"
    page = main_text(text(client.get(base)))
    assert "is still ahead: 5 students could still change their list" in page
    assert "1 student proposal still waits for a decision" in page

    refused = get_form(client, base, action=f"{base}/publish").submit(client)
    assert refused.status_code == 422
    assert any("5 students could still change their list" in f for f in flashes(text(refused)))
    assert db.session.get(AllocationRun, run.id).state == "solved"

    confirmed = get_form(client, base, action=f"{base}/publish").check("early").submit(client)
    assert confirmed.status_code == 302
    assert db.session.get(AllocationRun, run.id).state == "published"

    student_page = main_text(text(as_(round_.students[0]).get(f"/cohorts/{cohort.id}/preferences")))
    assert "The allocation was published on" in student_page and "deadline" not in student_page.split(
        "The list below is final")[0].split("The allocation was published")[1]


def test_a_reason_shared_by_several_unplaced_students_is_said_once(as_, round_, make):
    # Found when the app was tried: "13 students have no preferences." was repeated on each of the 13 rows.
    late = [make.student(round_.cohort, name=f"Late {n}") for n in range(3)]  # no preference list
    run = solve(round_.cohort, round_.coordinator)
    page = text(as_(round_.coordinator, "coordinator").get(
        f"/cohorts/{round_.cohort.id}/allocation/runs/{run.id}"))
    unplaced = page.split('id="unplaced-h"')[1].split("</section>")[0]
    reasons = {u.reason for u in queries.review(run).unplaced}
    assert any("3 students" in r or "students" in r for r in reasons)
    for reason in reasons:
        assert unplaced.count(str(escape(reason))) == 1, reason
    assert all(s.name in unplaced for s in late)
