"""The cohort's allocation problem, read from the database for the solvers and `export-problem`."""

from __future__ import annotations

import json

from projectflow.cli import cli
from projectflow.extensions import db
from projectflow.matching.problem import cohort_problem, project_key, supervisor_key
from projectflow.proposals import services
from projectflow.solvers import allocate
from projectflow.solvers.problem_io import parse_problem


def candidate(cohort, user) -> str:
    return next(e.candidate_number for e in cohort.enrolments if e.user_id == user.id)


def test_the_problem_holds_ranked_approved_projects_load_limits_and_fixed_pairs(
        make, cohort, coordinator, student, smtp_server):
    cohort.min_preferences = 1
    db.session.commit()
    ada = make.staff(cohort, name="Ada", max_load=3)
    bob = make.staff(cohort, name="Bob", max_load=5)
    bob_member = next(s for s in cohort.staff if s.user_id == bob.id)
    services.set_load_limit(bob_member, 2, by=coordinator)  # the cohort's override wins
    first = make.project(cohort, owner=ada, capacity=2)
    second = make.project(cohort, owner=bob)
    withdrawn_later = make.project(cohort, owner=bob)
    make.project(cohort, owner=ada, state="submitted")  # not approved: not in the problem
    make.preferences(cohort, student, [withdrawn_later, second, first])
    services.withdraw_project(withdrawn_later, by=bob, reason="No lab space.")
    proposer = make.student(cohort)
    own = make.proposal(cohort, student=proposer, supervisor=ada, state="approved")
    silent = make.student(cohort)
    db.session.commit()

    problem = cohort_problem(cohort)

    by_student = {s.id: s.preferences for s in problem.students}
    # The withdrawn project drops out; the others keep their order.
    assert by_student[candidate(cohort, student)] == (project_key(second.id), project_key(first.id))
    assert by_student[candidate(cohort, silent)] == ()
    assert by_student[candidate(cohort, proposer)] == ()
    assert {(p.id, p.supervisor, p.capacity) for p in problem.projects} == {
        (project_key(first.id), supervisor_key(ada.id), 2),
        (project_key(second.id), supervisor_key(bob.id), 1),
        (project_key(own.id), supervisor_key(ada.id), 1),
    }
    assert {(s.id, s.capacity) for s in problem.supervisors} == {(supervisor_key(ada.id), 3),
                                                                 (supervisor_key(bob.id), 2)}
    assert [(p.student, p.project) for p in problem.fixed] == [(candidate(cohort, proposer), project_key(own.id))]

    # Students appear by candidate number only: nothing in the file names them.
    text = json.dumps({"students": [s.id for s in problem.students]})
    assert student.email not in text and student.name not in text

    result = allocate(problem)
    assert result.status == "optimal" and result.verdict.ok
    placed = {a.student: a.project for a in result.assignments}
    assert placed[candidate(cohort, proposer)] == project_key(own.id)
    assert placed[candidate(cohort, student)] == project_key(second.id)
    assert candidate(cohort, silent) in result.unassigned


def test_export_problem_writes_a_file_that_projectflow_allocate_reads(app, make, cohort, student, tmp_path):
    cohort.min_preferences = 1
    db.session.commit()
    project = make.project(cohort)
    make.preferences(cohort, student, [project])
    out = tmp_path / "problem.json"
    result = app.test_cli_runner().invoke(cli, ["export-problem", str(cohort.id), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 students (1 with preferences, 0 fixed pairs), 1 projects" in result.output
    problem = parse_problem(out.read_text(encoding="utf-8"))
    assert problem.students[0].preferences == (project_key(project.id),)

    missing = app.test_cli_runner().invoke(cli, ["export-problem", "999999", "--output", str(out)])
    assert missing.exit_code != 0 and "no cohort with id 999999" in missing.output
