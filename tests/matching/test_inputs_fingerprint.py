"""A run keeps the fingerprint of the problem it solved: the run page (on every view) and publication
tell whether the cohort's inputs changed since by reading plain columns, not the cohort's objects."""

from __future__ import annotations

from projectflow.extensions import db
from projectflow.matching import services
from projectflow.matching.models import AllocationRun
from projectflow.matching.problem import cohort_problem, problem_hash
from projectflow.proposals.models import Bookmark
from projectflow.solvers.problem_io import problem_to_dict
from tests.matching.conftest import solve
from tests.page_tour import objects_loaded


def test_a_solved_run_keeps_the_fingerprint_of_its_problem(round_):
    run = solve(round_.cohort, round_.coordinator)
    assert run.problem == problem_to_dict(cohort_problem(round_.cohort))
    assert run.inputs_hash == problem_hash(cohort_problem(round_.cohort)) and len(run.inputs_hash) == 64


def test_checking_the_inputs_reads_no_project_preference_or_member_objects(round_):
    run_id = solve(round_.cohort, round_.coordinator).id
    db.session.remove()
    run = db.session.get(AllocationRun, run_id)
    run.cohort  # noqa: B018 - the page has its cohort already
    with objects_loaded() as loaded:
        assert services.inputs_changed(run) is False
    assert not loaded, f"loaded {dict(loaded)}"


def test_what_the_engine_sees_changes_the_fingerprint_and_nothing_else_does(make, round_):
    run = solve(round_.cohort, round_.coordinator)
    round_.p2.title = "Federated learning on the edge"  # not an input of the allocation
    db.session.add(Bookmark(student_id=round_.students[3].id, project_id=round_.p2.id, created_at=run.created_at))
    db.session.commit()
    assert services.inputs_changed(run) is False
    make.preferences(round_.cohort, round_.students[3], [round_.p2, round_.p3])
    assert services.inputs_changed(run) is True


def test_a_run_solved_before_fingerprints_were_kept_compares_its_whole_problem(make, round_):
    run = solve(round_.cohort, round_.coordinator)
    run.inputs_hash = None
    db.session.commit()
    assert services.inputs_changed(run) is False
    make.preferences(round_.cohort, round_.students[3], [round_.p2, round_.p3])
    assert services.inputs_changed(run) is True
