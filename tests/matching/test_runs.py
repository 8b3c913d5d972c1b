"""Allocation runs: started by a coordinator, solved by the job runner, kept with their inputs."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from projectflow.core import jobs
from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.extensions import db
from projectflow.matching import services
from projectflow.matching.models import FAILED, QUEUED, SOLVED
from projectflow.solvers import allocate
from projectflow.solvers.problem_io import problem_from_dict

from .conftest import solve


def test_a_run_is_solved_by_the_job_runner_and_keeps_its_inputs(round_):
    run = services.start_run(round_.cohort, objective="min-cost", note="first try", by=round_.coordinator)
    db.session.commit()
    assert run.state == QUEUED and run.job.state == jobs.QUEUED and run.problem is None

    assert jobs.run_pending() == 1
    db.session.refresh(run)
    assert run.state == SOLVED and run.job.state == jobs.DONE and run.job.progress == 100
    assert run.engine_status == "optimal" and run.is_valid
    # Four students, four places (Lee 2 of 3 places, Kim 1): Kim's one place limits it to three.
    assert run.assigned_count == 3 and run.unassigned_count == 1
    placed = {a.student.name: a.project.title for a in run.allocations}
    assert len(placed) == 3 and placed.get("Dan") == "Protein folding"
    # The kept inputs reproduce the result exactly.
    again = allocate(problem_from_dict(run.problem), "min-cost")
    assert [a.project for a in again.assignments] == [a["project"] for a in run.result["assignments"]]
    assert list(again.profile) == run.profile
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "allocation_runs")))
    assert actions == {"allocation.run_started", "allocation.run_finished"}


def test_the_unplaced_student_is_diagnosed(round_):
    run = solve(round_.cohort, round_.coordinator)
    diagnosis = run.result["diagnosis"]
    assert len(diagnosis) == 1 and diagnosis[0]["reason"] == "competition"
    assert len(diagnosis[0]["students"]) == 1


@pytest.mark.parametrize("objective", ["min-cost", "greedy", "generous"])
def test_each_objective_of_the_app_solves(round_, objective):
    run = solve(round_.cohort, round_.coordinator, objective)
    assert run.state == SOLVED and run.objective == objective and run.is_valid


def test_only_coordinators_start_runs(round_):
    with pytest.raises(NotAllowed):
        services.start_run(round_.cohort, objective="min-cost", by=round_.lee)


def test_an_unknown_objective_is_refused_by_name(round_):
    with pytest.raises(ValidationFailed) as caught:
        services.start_run(round_.cohort, objective="stable", by=round_.coordinator)
    assert caught.value.field == "objective"


def test_one_run_at_a_time(round_):
    services.start_run(round_.cohort, objective="min-cost", by=round_.coordinator)
    db.session.commit()
    with pytest.raises(InvalidState, match="Run 1 has not finished"):
        services.start_run(round_.cohort, objective="greedy", by=round_.coordinator)


def test_runs_are_numbered_per_cohort(round_, make):
    other = make.cohort()
    first = solve(round_.cohort, round_.coordinator)
    second = solve(round_.cohort, round_.coordinator, "greedy")
    elsewhere = services.start_run(other, objective="min-cost", by=next(s.member for s in other.staff))
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    assert services.previous_run(second).id == first.id and services.previous_run(first) is None


def test_a_run_whose_fixed_pairs_overfill_a_supervisor_fails_with_the_reason(round_, make):
    # Kim (limit 1) accepted two students' own proposals: no allocation can keep both.
    for name in ("Eve", "Fay"):
        make.proposal(round_.cohort, student=make.student(round_.cohort, name=name), supervisor=round_.kim,
                      state="approved")
    run = solve(round_.cohort, round_.coordinator)
    assert run.state == FAILED and "capacity" in run.error
    assert run.allocations == []


def test_a_job_that_crashes_fails_its_run_and_keeps_the_error(round_, monkeypatch):
    run = services.start_run(round_.cohort, objective="min-cost", by=round_.coordinator)
    db.session.commit()

    def broken(problem, objective):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(services, "allocate", broken)  # the engine fails; the runner is under test
    jobs.run_pending()
    db.session.refresh(run)
    assert run.state == FAILED and "solver exploded" in run.error
    assert run.job.state == jobs.FAILED and "solver exploded" in run.job.error


def test_a_job_whose_runner_died_is_failed_on_the_next_look(round_):
    from datetime import timedelta

    from projectflow.core import clock

    run = services.start_run(round_.cohort, objective="min-cost", by=round_.coordinator)
    db.session.commit()
    job = jobs.claim_next()
    assert job.id == run.job_id and job.state == jobs.RUNNING
    with clock.frozen(clock.now() + jobs.STALE_AFTER + timedelta(seconds=1)):
        assert jobs.fail_stale_jobs() == 1
    db.session.refresh(run)
    assert run.state == FAILED and "stopped" in run.error


def test_a_claimed_job_is_not_claimed_twice(round_):
    services.start_run(round_.cohort, objective="min-cost", by=round_.coordinator)
    db.session.commit()
    assert jobs.claim_next() is not None
    assert jobs.claim_next() is None


def test_the_problem_file_names_students_by_candidate_number_only(round_):
    run = solve(round_.cohort, round_.coordinator)
    text = json.dumps(run.problem)
    assert all(s.name not in text and s.email not in text for s in round_.students)
