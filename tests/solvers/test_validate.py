"""The validator rejects corrupted results, naming what is wrong."""

from __future__ import annotations

from dataclasses import replace

import pytest

from projectflow.solvers import Assignment, allocate, validate
from tests.solvers.builders import problem

PROBLEM = problem(
    {"s1": "A B", "s2": "A B", "s3": "B C", "s4": "C", "s9": ""},
    {"A": ("t1", 1), "B": ("t1", 1), "C": ("t2", 2), "Z": ("t2", 1)},
    {"t1": 2, "t2": 3},
    rankings={"t1": "s2 s1 s3", "t2": "s3 s4"},
    fixed={"s9": "Z"}, forbidden=[("s3", "B")])


@pytest.fixture
def good():
    result = allocate(PROBLEM, "min-cost")
    assert result.verdict.ok and result.status == "optimal"
    return result


def corrupt(result, student, project, supervisor, rank):
    """The result with ``student`` moved to ``project`` (all claimed totals left as they were)."""
    moved = tuple(Assignment(student, project, supervisor, rank) if a.student == student else a
                  for a in result.assignments)
    return replace(result, assignments=moved)


def test_a_correct_result_passes(good):
    assert validate(PROBLEM, good).ok


def test_over_capacity_is_rejected(good):
    # s1 and s2 both on A, which has room for one.
    bad = corrupt(corrupt(good, "s1", "A", "t1", 1), "s2", "A", "t1", 1)

    verdict = validate(PROBLEM, bad)

    assert not verdict.ok
    assert "Project 'A' has 2 students but room for 1." in verdict.problems


def test_a_supervisor_over_capacity_is_rejected():
    p = problem({"s1": "A", "s2": "B"}, {"A": ("t1", 1), "B": ("t1", 1)}, {"t1": 1})
    result = allocate(p)
    bad = replace(result, assignments=(Assignment("s1", "A", "t1", 1), Assignment("s2", "B", "t1", 1)),
                  unassigned=())

    assert "Supervisor 't1' has 2 students but a capacity of 1." in validate(p, bad).problems


def test_a_forbidden_pair_is_rejected(good):
    bad = corrupt(good, "s3", "B", "t1", 1)

    assert "The forbidden pair 's3' - 'B' is used." in validate(PROBLEM, bad).problems


def test_a_wrong_profile_is_rejected(good):
    bad = replace(good, profile=(good.profile[0] + 1,) + good.profile[1:])

    problems = validate(PROBLEM, bad).problems

    assert problems == (f"The profile is {list(good.profile)}, not {list(bad.profile)}.",)


def test_a_wrong_rank_cost_worst_rank_or_loads_are_rejected(good):
    bad = replace(good, rank_cost=good.rank_cost - 1, worst_rank=1, loads=(("t1", 0), ("t2", 0)))

    problems = " ".join(validate(PROBLEM, bad).problems)

    assert "The rank cost is" in problems and "The worst rank is" in problems and "loads of" in problems


def test_a_misreported_rank_is_rejected(good):
    a = next(a for a in good.assignments if a.student == "s4")
    bad = corrupt(good, "s4", a.project, a.supervisor, 2)

    assert "Student 's4' is said to have rank 2 for 'C', but it is 1." in validate(PROBLEM, bad).problems


def test_a_project_the_student_did_not_rank_is_rejected(good):
    bad = corrupt(good, "s4", "Z", "t2", None)

    assert "Student 's4' got 'Z', which they did not rank." in validate(PROBLEM, bad).problems


def test_a_dropped_fixed_pair_or_a_lost_student_is_rejected(good):
    bad = replace(good, assignments=tuple(a for a in good.assignments if a.student != "s9"))

    problems = validate(PROBLEM, bad).problems

    assert "The fixed pair 's9' - 'Z' is not kept." in problems
    assert "Student 's9' is neither assigned nor unassigned." in problems


def test_a_wrong_supervisor_is_rejected(good):
    bad = corrupt(good, "s4", "C", "t1", 1)

    assert "Project 'C' is supervised by 't2', not 't1'." in validate(PROBLEM, bad).problems


def test_a_blocking_pair_in_a_stable_result_is_rejected():
    result = allocate(PROBLEM, "stable")
    assert result.verdict.ok
    # Swap s1 and s2: t1 ranks s2 above s1, and s2 ranked A first: (s2, A) blocks.
    bad = replace(result, assignments=tuple(
        replace(a, project={"A": "B", "B": "A"}[a.project], rank={1: 2, 2: 1}[a.rank])
        if a.student in ("s1", "s2") else a for a in result.assignments))

    problems = validate(PROBLEM, bad).problems

    assert any("blocking pair" in p and "'s2' - 'A'" in p for p in problems)


def test_a_false_claim_of_infeasibility_is_rejected(good):
    bad = replace(good, status="infeasible", assignments=(), unassigned=tuple(s.id for s in PROBLEM.students))

    assert "The result says infeasible, but the fixed pairs fit every capacity." in validate(PROBLEM, bad).problems


def test_an_engine_result_the_validator_rejects_is_not_reported_as_optimal(monkeypatch):
    from projectflow.solvers import allocation

    monkeypatch.setattr(allocation, "validate", lambda problem, result: validate(
        problem, replace(result, rank_cost=result.rank_cost + 1)))

    result = allocation.allocate(PROBLEM)

    assert result.status == "error"
    assert result.message.startswith("The validator rejected the engine's result: The rank cost is")
