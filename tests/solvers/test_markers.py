"""Second markers: hand-made instances with known answers, one behaviour each, and the validator
rejecting hand-corrupted results, naming what is wrong."""

from __future__ import annotations

from dataclasses import replace

import pytest

from projectflow.solvers import (MarkedProject, Marker, MarkerAssignment, MarkerPair, MarkerProblem, ProblemError,
                                 assign_markers, check_marker_problem, validate_markers)
from projectflow.solvers.markers import fair_share, marker_load_cost


def markers_problem(projects: dict[str, tuple[str, str]], staff: dict[str, tuple[int, str]], *,
                    conflicts: list[tuple[str, str]] | None = None,
                    fixed: dict[str, str] | None = None) -> MarkerProblem:
    """``projects={"a1": ("t1 t2", "nlp vision")}`` (space-separated supervisors, then keywords),
    ``staff={"t3": (2, "nlp")}`` (capacity, space-separated expertise), ``conflicts=[("a1", "t3")]``,
    ``fixed={"a2": "t3"}``."""
    return MarkerProblem(
        projects=tuple(MarkedProject(p, tuple(sups.split()), tuple(words.split()))
                       for p, (sups, words) in projects.items()),
        staff=tuple(Marker(m, cap, tuple(words.split())) for m, (cap, words) in staff.items()),
        conflicts=tuple(MarkerPair(p, m) for p, m in (conflicts or [])),
        fixed=tuple(MarkerPair(p, m) for p, m in (fixed or {}).items()),
    )


def chosen(result) -> dict[str, str]:
    return {a.project: a.marker for a in result.assignments}


def test_a_supervisor_or_co_supervisor_is_never_the_second_marker():
    # t1 and t2 know the topic best but supervise a1; t3 knows nothing of it.
    p = markers_problem({"a1": ("t1 t2", "nlp vision")},
                        {"t1": (5, "nlp vision"), "t2": (5, "nlp"), "t3": (5, "law")})

    result = assign_markers(p)

    assert result.status == "optimal"
    assert chosen(result) == {"a1": "t3"}
    assert result.assignments[0].overlap == 0
    assert result.verdict.ok


def test_a_declared_conflict_is_respected_even_against_expertise():
    p = markers_problem({"a1": ("t1", "nlp")}, {"t1": (5, ""), "t2": (5, "nlp"), "t3": (5, "")},
                        conflicts=[("a1", "t2")])

    assert chosen(assign_markers(p)) == {"a1": "t3"}


def test_the_total_overlap_is_maximised_not_each_project_greedily():
    # Greedy in project order would give a1 to t1 (overlap 1) and leave a2 with t2 (overlap 0);
    # the optimum gives a1 to t2 and a2 to t1: total 2.
    p = markers_problem({"a1": ("s", "x"), "a2": ("s", "y")},
                        {"t1": (1, "x y"), "t2": (1, "x"), "s": (0, "")})

    result = assign_markers(p)

    assert chosen(result) == {"a1": "t2", "a2": "t1"}
    assert result.overlap_total == 2


def test_overlap_counts_distinct_keywords_case_insensitively_after_stripping():
    p = markers_problem({"a1": ("s", "x")}, {"t1": (1, ""), "s": (0, "")})
    p = replace(p, projects=(MarkedProject("a1", ("s",), (" NLP", "nlp", "Vision ", "  ", "law")),),
                staff=(Marker("t1", 1, ("nlp ", "VISION", "  ")), Marker("s", 0, ())))

    result = assign_markers(p)

    assert result.assignments == (MarkerAssignment("a1", "t1", 2),)
    assert result.verdict.ok


def test_as_many_projects_as_possible_are_marked_before_any_overlap():
    # a1 alone with t1 would score 1; marking both needs a1 on t2 (overlap 0), since t2 supervises a2.
    p = markers_problem({"a1": ("s", "x"), "a2": ("t2", "")}, {"t1": (1, "x"), "t2": (1, ""), "s": (0, "")})

    result = assign_markers(p)

    assert chosen(result) == {"a1": "t2", "a2": "t1"}
    assert (result.unassigned, result.overlap_total) == ((), 0)


def test_loads_above_the_fair_share_are_spread_evenly():
    # Six projects, three staff: fair share 2. t3 supervises them all, so t1 and t2 mark the six:
    # 3 + 3 costs (3-2)^2 + (3-2)^2 = 2, whereas 4 + 2 would cost 4.
    p = markers_problem({f"a{i}": ("t3", "") for i in range(6)},
                        {"t1": (6, ""), "t2": (6, ""), "t3": (6, "")})

    result = assign_markers(p)

    assert result.fair_share == 2
    assert result.load_of() == {"t1": 3, "t2": 3, "t3": 0}
    assert result.load_cost == 2 == 2 * marker_load_cost(3, 2)


def test_expertise_comes_before_evenness_and_evenness_breaks_its_ties():
    # Three projects about x: t1 knows x and takes all three (overlap 3, load cost 4); the fourth
    # project, about nothing, goes to whichever of t2 and t3 keeps the cost down.
    p = markers_problem({"a1": ("s", "x"), "a2": ("s", "x"), "a3": ("s", "x"), "a4": ("s", "")},
                        {"t1": (3, "x"), "t2": (3, ""), "t3": (3, ""), "s": (0, "")})

    result = assign_markers(p)

    assert result.fair_share == 2  # ceil(4 projects / 3 staff with capacity)
    assert [chosen(result)[a] for a in ("a1", "a2", "a3")] == ["t1"] * 3
    assert result.overlap_total == 3
    assert result.load_cost == marker_load_cost(3, 2) == 1


def test_below_the_fair_share_loads_are_free_and_overlap_alone_decides():
    # Fair share ceil(4 / 3) = 2: t1 and t2 (who know x) take two each, t3 none, at no load cost.
    p = markers_problem({f"a{i}": ("s", "x") for i in range(4)},
                        {"t1": (4, "x"), "t2": (4, "x"), "t3": (4, ""), "s": (0, "")})

    result = assign_markers(p)

    assert result.load_of() == {"t1": 2, "t2": 2, "t3": 0, "s": 0}
    assert (result.overlap_total, result.load_cost) == (4, 0)


def test_the_per_person_maximum_is_a_hard_limit():
    p = markers_problem({"a1": ("s", "x"), "a2": ("s", "x"), "a3": ("s", "x")},
                        {"t1": (1, "x"), "t2": (1, ""), "s": (0, "")})

    result = assign_markers(p)

    assert result.load_of() == {"t1": 1, "t2": 1, "s": 0}
    assert len(result.unassigned) == 1
    assert result.overlap_total == 1


def test_fixed_pairs_are_kept_and_take_their_place():
    # The coordinator put a1 with t2 (overlap 0) although t1 knows x; t2 is then full.
    p = markers_problem({"a1": ("s", "x"), "a2": ("s", "")}, {"t1": (2, "x"), "t2": (1, ""), "s": (0, "")},
                        fixed={"a1": "t2"})

    result = assign_markers(p)

    assert chosen(result) == {"a1": "t2", "a2": "t1"}
    assert result.assignments[0] == MarkerAssignment("a1", "t2", 0)
    assert result.load_of() == {"t1": 1, "t2": 1, "s": 0}


def test_fixed_pairs_that_overfill_a_capacity_make_the_problem_infeasible():
    p = markers_problem({"a1": ("s", ""), "a2": ("s", "")}, {"t1": (1, ""), "s": (0, "")},
                        fixed={"a1": "t1", "a2": "t1"})

    result = assign_markers(p)

    assert result.status == "infeasible"
    assert result.message == "Fixed pairs give marker 't1' 2 projects, more than their capacity of 1."
    assert result.unassigned == ("a1", "a2")
    assert result.verdict.ok


def test_the_diagnosis_groups_unmarked_projects_by_reason():
    p = markers_problem(
        {"own": ("t1 t2", ""), "banned": ("t1", ""), "late": ("t1", ""), "c1": ("t1", "x"), "c2": ("t1", "x"),
         "f": ("t1", "")},
        {"t1": (0, ""), "t2": (1, "x"), "t3": (1, ""), "t4": (0, "")},
        conflicts=[("own", "t3"), ("own", "t4"), ("banned", "t2"), ("banned", "t3"), ("banned", "t4"),
                   ("late", "t2"), ("c1", "t3"), ("c2", "t3")],
        fixed={"f": "t3"})

    result = assign_markers(p)

    by_reason = {d.reason: d for d in result.diagnosis}
    assert by_reason["no-eligible-marker"].students == ("own", "banned")
    assert by_reason["no-eligible-marker"].message == (
        "2 projects have no eligible marker: every member of staff supervises them or declared a conflict.")
    # late could go to t3 (taken by the fixed pair) or t4 (capacity 0): no room anywhere.
    assert by_reason["no-room"].students == ("late",)
    # c1 and c2 both have only t2 with room, who takes one of them.
    competition = by_reason["competition"]
    assert competition.students in (("c1",), ("c2",))
    assert competition.message == ("1 project could be marked only by staff who are full: 2 projects in all "
                                   "competed for the 1 place of t2, so no assignment can mark more of them.")
    assert sorted(result.unassigned) == sorted(["own", "banned", "late", *competition.students])
    assert result.verdict.ok


def test_competition_groups_merge_when_they_share_a_marker():
    p = markers_problem({"a1": ("s", ""), "a2": ("s", ""), "a3": ("s", "")}, {"t1": (1, ""), "s": (0, "")})

    result = assign_markers(p)

    assert len(result.diagnosis) == 1
    assert result.diagnosis[0].message.startswith("2 projects could be marked only by staff who are full: "
                                                  "3 projects in all competed for the 1 place of t1")


def test_nobody_to_mark_is_still_optimal():
    result = assign_markers(MarkerProblem(projects=(), staff=()))

    assert (result.status, result.assignments, result.fair_share, result.load_cost) == ("optimal", (), 0, 0)
    assert result.verdict.ok


def test_the_fair_share_counts_only_staff_with_capacity():
    p = markers_problem({f"a{i}": ("s", "") for i in range(5)}, {"t1": (9, ""), "t2": (9, ""), "s": (0, "")})

    assert fair_share(p) == 3  # ceil(5 / 2): s has no capacity


def test_results_carry_the_solver_account_of_their_proof():
    p = markers_problem({"a1": ("s", "x")}, {"t1": (1, "x"), "s": (0, "")})

    result = assign_markers(p)

    assert result.solver.rounds >= 1
    assert "certified" in result.solver.proof
    assert result.solve_seconds >= result.solver.solver_seconds > 0


def test_a_malformed_problem_is_refused_with_every_fault_named():
    p = markers_problem({"a1": ("t1 t1 t9", ""), "a2": ("t1", ""), "a3": ("t1", "")},
                        {"t1": (1, ""), "t2": (-1, ""), "t3": (1, "")},
                        conflicts=[("a2", "t3"), ("a7", "t8")], fixed={"a1": "t1", "a2": "t3"})
    p = replace(p, projects=p.projects + (MarkedProject("a3", ("t1",)),),
                fixed=p.fixed + (MarkerPair("a3", "t2"), MarkerPair("a3", "t3")))

    with pytest.raises(ProblemError) as caught:
        assign_markers(p)

    assert set(caught.value.problems) == {
        "The project id 'a3' appears 2 times.",
        "Project 'a1' names an unknown supervisor 't9' (list every supervisor as staff, with capacity 0 if "
        "they do not mark).",
        "Project 'a1' lists supervisor 't1' 2 times.",
        "Staff member 't2' has a negative capacity (-1).",
        "A conflict names an unknown project 'a7'.",
        "A conflict names an unknown marker 't8'.",
        "Project 'a3' is fixed to 2 markers.",
        "The fixed pair 'a1' - 't1' makes a supervisor the second marker of their own project.",
        "The pair 'a2' - 't3' is both fixed and a conflict.",
    }
    assert check_marker_problem(p) == list(caught.value.problems)


# --- The validator --------------------------------------------------------------------------------

PROBLEM = markers_problem(
    {"a1": ("t1", "x y"), "a2": ("t2", "x"), "a3": ("t1", ""), "a4": ("t1 t2", ""), "a5": ("t3", "z")},
    {"t1": (2, "x"), "t2": (2, "x y"), "t3": (1, ""), "t4": (0, "z")},
    conflicts=[("a3", "t3"), ("a4", "t3"), ("a4", "t4")], fixed={"a5": "t2"})


@pytest.fixture
def good():
    result = assign_markers(PROBLEM)
    assert result.status == "optimal" and result.verdict.ok
    # a4 has no eligible marker (supervisors t1, t2; conflicts t3, t4).
    assert result.unassigned == ("a4",)
    return result


def move(result, project, marker, overlap=None):
    """The result with ``project`` marked by ``marker`` (claimed totals left as they were)."""
    moved = tuple(MarkerAssignment(project, marker, a.overlap if overlap is None else overlap)
                  if a.project == project else a for a in result.assignments)
    return replace(result, assignments=moved)


def test_a_correct_result_passes(good):
    assert validate_markers(PROBLEM, good).ok


def test_a_supervisor_as_marker_is_rejected(good):
    bad = move(good, "a1", "t1")

    assert "Project 'a1' is marked by its own supervisor 't1'." in validate_markers(PROBLEM, bad).problems


def test_a_conflict_is_rejected(good):
    bad = move(good, "a3", "t3")

    assert "Project 'a3' is marked by 't3', who declared a conflict." in validate_markers(PROBLEM, bad).problems


def test_a_marker_over_capacity_is_rejected(good):
    bad = move(move(good, "a1", "t2"), "a3", "t2")

    assert "Marker 't2' has 3 projects but a capacity of 2." in validate_markers(PROBLEM, bad).problems


def test_a_dropped_fixed_pair_or_a_lost_project_is_rejected(good):
    bad = replace(good, assignments=tuple(a for a in good.assignments if a.project != "a5"))

    problems = validate_markers(PROBLEM, bad).problems

    assert "The fixed pair 'a5' - 't2' is not kept." in problems
    assert "Project 'a5' is neither marked nor unassigned." in problems


def test_a_project_twice_or_an_unknown_one_is_rejected(good):
    bad = replace(good, assignments=good.assignments + (MarkerAssignment("a1", "t3", 0),),
                  unassigned=good.unassigned + ("zz",))

    problems = validate_markers(PROBLEM, bad).problems

    assert "Project 'a1' appears 2 times in the result." in problems
    assert "Unknown project 'zz' in the result." in problems


def test_an_unknown_marker_is_rejected(good):
    bad = move(good, "a1", "t9")

    assert "Assignment 'a1' -> 't9' names an unknown project or marker." in validate_markers(PROBLEM, bad).problems


def test_a_wrong_overlap_or_total_is_rejected(good):
    a1 = next(a for a in good.assignments if a.project == "a1")
    bad = replace(move(good, "a1", a1.marker, a1.overlap + 1), overlap_total=good.overlap_total + 5)

    problems = validate_markers(PROBLEM, bad).problems

    assert f"Project 'a1' is said to overlap {a1.overlap + 1} with {a1.marker!r}, but it is {a1.overlap}." in problems
    assert f"The total overlap is {good.overlap_total}, not {good.overlap_total + 5}." in problems


def test_wrong_loads_fair_share_or_load_cost_are_rejected(good):
    bad = replace(good, loads=tuple((m, n + 1) for m, n in good.loads), fair_share=good.fair_share + 1,
                  load_cost=good.load_cost + 1)

    problems = " ".join(validate_markers(PROBLEM, bad).problems)

    assert "The loads of 't1', 't2', 't3', 't4' are wrong." in problems
    assert f"The fair share is {good.fair_share}, not {good.fair_share + 1}." in problems
    assert f"The load cost is {good.load_cost}, not {good.load_cost + 1}." in problems


def test_an_unassigned_project_that_someone_could_still_mark_is_rejected(good):
    bad = replace(good, assignments=tuple(a for a in good.assignments if a.project != "a3"),
                  unassigned=good.unassigned + ("a3",),
                  diagnosis=good.diagnosis + (replace(good.diagnosis[0], students=("a3",)),))
    bad = replace(bad, loads=tuple((m, sum(1 for a in bad.assignments if a.marker == m)) for m, _ in good.loads),
                  overlap_total=sum(a.overlap for a in bad.assignments))

    problems = validate_markers(PROBLEM, bad).problems

    assert any(p.startswith("Project 'a3' is unassigned, but ") and p.endswith("could still mark it.")
               for p in problems)


def test_a_diagnosis_that_misses_or_repeats_a_project_is_rejected(good):
    missing = replace(good, diagnosis=())
    repeated = replace(good, diagnosis=good.diagnosis * 2)

    message = "The diagnosis does not explain each unassigned project exactly once."
    assert message in validate_markers(PROBLEM, missing).problems
    assert message in validate_markers(PROBLEM, repeated).problems


def test_a_false_claim_of_infeasibility_is_rejected(good):
    bad = replace(good, status="infeasible", assignments=(), unassigned=tuple(p.id for p in PROBLEM.projects))

    assert ("The result says infeasible, but the fixed pairs fit every capacity."
            in validate_markers(PROBLEM, bad).problems)


def test_an_unknown_status_is_rejected(good):
    assert "Unknown status 'stable'." in validate_markers(PROBLEM, replace(good, status="stable")).problems


def test_an_engine_result_the_validator_rejects_is_not_reported_as_optimal(monkeypatch):
    from projectflow.solvers import markers

    real = markers.validate_markers
    monkeypatch.setattr(markers, "validate_markers", lambda problem, result: real(
        problem, replace(result, overlap_total=result.overlap_total + 1)))

    result = markers.assign_markers(PROBLEM)

    assert result.status == "error"
    assert result.message.startswith("The validator rejected the engine's result: The total overlap is")
