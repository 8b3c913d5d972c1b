"""Hand-made instances with known answers, one behaviour each, for every objective."""

from __future__ import annotations

import pytest

from projectflow.solvers import ProblemError, allocate
from projectflow.solvers.problem import load_cost
from tests.solvers.builders import placed, problem

# Three students, three places. Project X has no room, but it still takes s3's 2nd rank.
#   option 1: s1-A (1st), s2-B (1st), s3-C (3rd): profile (2, 0, 1), rank cost 11
#   option 2: s1-B (2nd), s2-C (2nd), s3-A (1st): profile (1, 2),    rank cost 9
GREEDY_DIFFERS = dict(
    students={"s1": "A B", "s2": "B C", "s3": "A X C"},
    projects={"A": ("t1", 1), "B": ("t2", 1), "C": ("t3", 1), "X": ("t3", 0)},
    supervisors={"t1": 1, "t2": 1, "t3": 1},
)
# option 1: s1-A, s2-B, s3-C: profile (2, 0, 1), rank cost 11
# option 2: s1-B, s2-C, s3-A: profile (0, 3),    rank cost 12
GENEROUS_DIFFERS = dict(
    students={"s1": "A B", "s2": "B C", "s3": "X A C"},
    projects={"A": ("t1", 1), "B": ("t2", 1), "C": ("t3", 1), "X": ("t3", 0)},
    supervisors={"t1": 1, "t2": 1, "t3": 1},
)


@pytest.mark.parametrize(("objective", "expected", "profile"), [
    ("min-cost", {"s1": "B", "s2": "C", "s3": "A"}, (1, 2)),
    ("greedy", {"s1": "A", "s2": "B", "s3": "C"}, (2, 0, 1)),
    ("generous", {"s1": "B", "s2": "C", "s3": "A"}, (1, 2)),
])
def test_greedy_takes_more_first_choices_at_the_price_of_a_third(objective, expected, profile):
    result = allocate(problem(**GREEDY_DIFFERS), objective)

    assert result.status == "optimal"
    assert placed(result) == expected
    assert result.profile == profile
    assert result.verdict.ok


@pytest.mark.parametrize(("objective", "expected", "worst_rank", "rank_cost"), [
    ("min-cost", {"s1": "A", "s2": "B", "s3": "C"}, 3, 11),
    ("greedy", {"s1": "A", "s2": "B", "s3": "C"}, 3, 11),
    ("generous", {"s1": "B", "s2": "C", "s3": "A"}, 2, 12),
])
def test_generous_avoids_the_worst_rank_even_at_a_higher_rank_cost(objective, expected, worst_rank, rank_cost):
    result = allocate(problem(**GENEROUS_DIFFERS), objective)

    assert placed(result) == expected
    assert (result.worst_rank, result.rank_cost) == (worst_rank, rank_cost)


@pytest.mark.parametrize("objective", ["min-cost", "greedy", "generous"])
def test_every_flow_objective_places_as_many_students_as_possible_first(objective):
    # s1 alone on A would be a 1st choice; placing both costs s1 its 2nd choice.
    p = problem({"s1": "A B", "s2": "A"}, {"A": ("t1", 1), "B": ("t1", 1)}, {"t1": 2})

    result = allocate(p, objective)

    assert placed(result) == {"s1": "B", "s2": "A"}
    assert result.unassigned == ()


def test_ties_in_rank_cost_go_to_the_more_even_loads():
    # Both options cost 1 + 4; the second leaves each supervisor one student instead of two on t1.
    p = problem({"a": "P Q", "b": "P R"}, {"P": ("t1", 1), "Q": ("t2", 1), "R": ("t1", 1)}, {"t1": 2, "t2": 2})

    result = allocate(p)

    assert placed(result) == {"a": "Q", "b": "P"}
    assert result.load_of() == {"t1": 1, "t2": 1}
    assert result.load_cost == 2 * load_cost(1, 2) < load_cost(2, 2)


def test_loads_are_even_relative_to_capacity_not_in_absolute_numbers():
    # a or b gets P (1st choice), the other their 2nd: X on `big` or Y on `small`. Fixed pairs already
    # give big 2 of 8 and small 1 of 2. Absolute loads would be evener with Y (2 and 2); relative to
    # capacity X is evener (3/8 and 1/2 against 2/8 and 2/2).
    p = problem({"a": "P X", "b": "P Y", "f1": "", "f2": "", "f3": ""},
                {"P": ("mid", 1), "X": ("big", 1), "Y": ("small", 1), "FB": ("big", 2), "FS": ("small", 1)},
                {"mid": 1, "big": 8, "small": 2}, fixed={"f1": "FB", "f2": "FB", "f3": "FS"})

    result = allocate(p)

    assert placed(result) == {"a": "X", "b": "P", "f1": "FB", "f2": "FB", "f3": "FS"}
    assert result.load_of() == {"mid": 1, "big": 3, "small": 1}


def test_fixed_pairs_are_kept_and_take_their_place():
    p = problem({"s1": "A B", "s9": "B"}, {"A": ("t1", 1), "B": ("t1", 1), "Z": ("t2", 1)}, {"t1": 2, "t2": 1},
                fixed={"s1": "Z"})

    result = allocate(p)

    assert placed(result) == {"s1": "Z", "s9": "B"}
    assert [a.rank for a in result.assignments] == [None, 1]
    assert result.profile == (1,)  # the fixed, unranked pair has no rank
    assert result.load_of() == {"t1": 1, "t2": 1}


def test_a_fixed_pair_reserves_capacity_that_others_then_cannot_use():
    p = problem({"s1": "A", "s2": "A B"}, {"A": ("t1", 1), "B": ("t1", 1)}, {"t1": 1}, fixed={"s1": "A"})

    result = allocate(p)

    assert placed(result) == {"s1": "A"}
    assert result.unassigned == ("s2",)
    assert result.diagnosis[0].reason == "no-places"


def test_forbidden_pairs_are_never_used():
    p = problem({"s1": "A B"}, {"A": ("t1", 1), "B": ("t1", 1)}, {"t1": 1}, forbidden=[("s1", "A")])

    result = allocate(p, "greedy")

    assert placed(result) == {"s1": "B"}
    assert result.assignments[0].rank == 2  # the rank is where the student put it


def test_fixed_pairs_that_overfill_a_project_make_the_problem_infeasible():
    p = problem({"s1": "", "s2": ""}, {"A": ("t1", 1)}, {"t1": 5}, fixed={"s1": "A", "s2": "A"})

    result = allocate(p)

    assert result.status == "infeasible"
    assert "project 'A'" in result.message
    assert result.verdict.ok


def test_the_diagnosis_groups_unassigned_students_by_reason():
    p = problem(
        {"lazy": "", "banned": "A", "late": "F", "c1": "A B", "c2": "A B", "c3": "B A", "ok": "C", "f": ""},
        {"A": ("t1", 1), "B": ("t2", 5), "C": ("t3", 1), "F": ("t3", 1)},
        {"t1": 1, "t2": 1, "t3": 2},
        fixed={"f": "F"}, forbidden=[("banned", "A")])

    result = allocate(p)

    by_reason = {d.reason: d for d in result.diagnosis}
    assert by_reason["no-preferences"].students == ("lazy",)
    assert by_reason["no-preferences"].message == "1 student has no preferences."
    assert by_reason["only-forbidden"].students == ("banned",)
    assert by_reason["no-places"].students == ("late",)
    # c1 and c2 both want A first and c3 wants B: one of c1, c2 is left out (equal cost either way).
    competition = by_reason["competition"]
    assert competition.students in (("c1",), ("c2",))
    assert competition.message == (
        "1 student ranked only projects that are full or whose supervisors are full: 3 students in all "
        "competed for the 2 places there, so no allocation can place more of them "
        "(full projects: A; full supervisors: t2).")
    assert placed(result)["ok"] == "C"
    assert result.verdict.ok


def test_the_diagnosis_counts_in_plain_words():
    p = problem({"a": "", "b": ""}, {"A": ("t1", 1)}, {"t1": 1})

    result = allocate(p)

    assert [d.message for d in result.diagnosis] == ["2 students have no preferences."]


def test_nobody_to_allocate_is_still_optimal():
    result = allocate(problem({}, {}, {}))

    assert (result.status, result.assignments, result.profile, result.worst_rank) == ("optimal", (), (), None)
    assert result.verdict.ok


def test_a_malformed_problem_is_refused_with_every_fault_named():
    p = problem({"s1": "A A Z"}, {"A": ("t9", -1)}, {"t1": 1})

    with pytest.raises(ProblemError) as caught:
        allocate(p)

    assert set(caught.value.problems) == {
        "Project 'A' names an unknown supervisor 't9'.",
        "Project 'A' has a negative capacity (-1).",
        "Student 's1' ranks project 'A' 2 times.",
        "Student 's1' ranks an unknown project 'Z'.",
    }


def test_stable_needs_the_supervisors_rankings():
    p = problem({"s1": "A"}, {"A": ("t1", 1)}, {"t1": 1})

    with pytest.raises(ProblemError, match="supervisor 't1' has none"):
        allocate(p, "stable")


def test_results_carry_the_solver_account_of_their_proof():
    result = allocate(problem(**GREEDY_DIFFERS), "greedy")

    assert result.solver.rounds >= 1
    assert "certified" in result.solver.proof
    assert result.solve_seconds >= result.solver.solver_seconds > 0
