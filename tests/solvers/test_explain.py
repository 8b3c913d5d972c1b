"""Explanations for one student: hand-made instances with known reasons for every objective and
every reason code, and on random instances the properties an optimal or stable result guarantees."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings

from bench.allocation import make_problem
from projectflow.solvers import allocate, explain_all, explain_student
from projectflow.solvers.explain import _ordinal
from tests.solvers.builders import placed, problem
from tests.solvers.strategies import problems

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ONE_PLACE_EACH = {"A": ("t1", 1), "B": ("t2", 1), "C": ("t3", 1)}
ONE_EACH = {"t1": 1, "t2": 1, "t3": 1}


def explained(p, objective, student, **kwargs):
    result = allocate(p, objective)
    assert result.verdict.ok
    return explain_student(p, placed(result), objective, student, **kwargs)


def codes(explanation):
    return [(r.rank, r.reason) for r in explanation.reasons]


def figures(reason, *keys):
    return tuple(reason.get(k) for k in keys)


# --- the flow objectives ------------------------------------------------------------------------

def test_min_cost_choices_filled_by_students_who_ranked_them_as_high_or_higher():
    # s1 and s3 each have one choice; s2 can only take what is left, C.
    p = problem({"s1": "A", "s2": "A B C", "s3": "B"}, ONE_PLACE_EACH, ONE_EACH)

    e = explained(p, "min-cost", "s2")

    assert (e.placed_rank, e.project, e.fixed) == (3, "C", False)
    assert codes(e) == [(1, "project-full"), (2, "project-full")]
    first, second = e.reasons
    keys = ("capacity", "taken", "higher", "same", "lower", "could_move_up")
    assert figures(first, *keys) == (1, 1, 0, 1, 0, 0)  # s1 ranked A 1st, as s2 did
    assert figures(second, *keys) == (1, 1, 1, 0, 0, 0)  # s3 ranked B 1st, s2 only 2nd
    assert e.summary.startswith("You got your 3rd choice: your 1st choice was filled by students who ranked "
                                "it as high as you did or higher and had no better choice with room left; "
                                "your 2nd choice was filled by students who ranked it higher than you did")
    assert "best total of choices (rank squared)" in e.summary
    assert e.summary.endswith("so moving you up would have moved someone else further down.")
    assert "A" not in e.summary.split() and "B" not in e.summary.split()


def test_choices_with_the_same_words_share_one_clause():
    # X is forbidden to s3; A and B went to s1 and s2, who ranked them 1st (s3 ranked them 2nd and 3rd).
    p = problem({"s1": "A", "s2": "B", "s3": "X A B C"}, {**ONE_PLACE_EACH, "X": ("t3", 1)},
                {"t1": 1, "t2": 1, "t3": 2}, forbidden=[("s3", "X")])

    e = explained(p, "min-cost", "s3")

    assert codes(e) == [(1, "forbidden"), (2, "project-full"), (3, "project-full")]
    assert ("your 1st choice was not open to you; your 2nd and 3rd choices were filled by students who "
            "ranked them higher than you did and had no better choice with room left.") in e.summary


# Three students, three places (from test_allocation): min-cost and generous give s1 its 2nd choice
# so that s3 gets its 1st; greedy keeps two 1st choices and gives s3 its 3rd.
GREEDY_DIFFERS = dict(
    students={"s1": "A B", "s2": "B C", "s3": "A X C"},
    projects={**ONE_PLACE_EACH, "X": ("t3", 0)},
    supervisors=ONE_EACH,
)


def test_min_cost_can_give_a_place_to_a_student_who_ranked_it_lower():
    e = explained(problem(**GREEDY_DIFFERS), "min-cost", "s2")

    assert codes(e) == [(1, "project-full")]
    # s1 ranked B 2nd (lower than s2's 1st), and s1's own 1st choice A was full.
    assert figures(e.reasons[0], "higher", "same", "lower", "could_move_up") == (0, 0, 1, 0)
    assert "your 1st choice was full, and no student on it had a better choice with room left." in e.summary
    assert "a place on a full project goes where it costs the cohort least" in e.summary


def test_greedy_explains_a_third_choice():
    e = explained(problem(**GREEDY_DIFFERS), "greedy", "s3")

    assert (e.placed_rank, e.project) == (3, "C")
    assert codes(e) == [(1, "project-full"), (2, "no-places")]
    assert figures(e.reasons[1], "capacity", "fixed") == (0, 0)
    assert "your 2nd choice offered no places" in e.summary
    assert "as many students as possible their 1st choice, then as many as possible their 2nd" in e.summary
    assert "moving you up would have moved someone else further down" in e.summary


def test_generous_explains_a_second_choice():
    p = problem({"s1": "A B", "s2": "B C", "s3": "X A C"}, {**ONE_PLACE_EACH, "X": ("t3", 0)}, ONE_EACH)

    everyone = explain_all(p, placed(allocate(p, "generous")), "generous")

    assert [everyone[s].placed_rank for s in ("s1", "s2", "s3")] == [2, 2, 2]
    assert codes(everyone["s1"]) == [(1, "project-full")]
    assert figures(everyone["s1"].reasons[0], "lower", "could_move_up") == (1, 0)  # s3 ranked A 2nd
    assert codes(everyone["s3"]) == [(1, "no-places")]
    assert "keeps the worst choice anyone gets as good as possible" in everyone["s1"].summary


def test_supervisor_full_when_the_project_had_room():
    # t1 takes one student in all; s1 has no other choice, so s2 goes to C.
    p = problem({"s1": "A", "s2": "B C"}, {"A": ("t1", 1), "B": ("t1", 1), "C": ("t2", 1)},
                {"t1": 1, "t2": 1})

    e = explained(p, "min-cost", "s2")

    assert codes(e) == [(1, "supervisor-full")]
    assert figures(e.reasons[0], "supervisor", "taken", "supervisor_load", "supervisor_capacity",
                   "could_move_up") == ("t1", 0, 1, 1, 0)
    assert "your 1st choice had room, but its supervisor had no places left" in e.summary


@pytest.mark.parametrize(("p", "words"), [
    (problem({"s1": "A B", "s9": ""}, {"A": ("t1", 1), "B": ("t2", 1)}, {"t1": 1, "t2": 1},
             fixed={"s9": "A"}),
     "your 1st choice had all its places taken by approved proposals"),
    (problem({"s1": "A B", "s9": ""}, {"A": ("t1", 2), "F": ("t1", 1), "B": ("t2", 1)}, {"t1": 1, "t2": 1},
             fixed={"s9": "F"}),
     "the supervisor of your 1st choice had all their places taken by approved proposals"),
    (problem({"s1": "A B"}, {"A": ("t1", 1), "B": ("t2", 1)}, {"t1": 0, "t2": 1}),
     "the supervisor of your 1st choice took no students"),
])
def test_no_places_left_for_the_allocation(p, words):
    e = explained(p, "min-cost", "s1")

    assert codes(e) == [(1, "no-places")]
    assert words in e.summary
    # Nobody else could have changed this, so no counterfactual about the cohort.
    assert "moving you up" not in e.summary and e.summary.endswith("(rank squared).")


def test_unassigned_student_hears_about_every_choice():
    p = problem({"s1": "A", "s2": "A"}, {"A": ("t1", 1)}, {"t1": 1})
    result = allocate(p, "min-cost")
    (left_out,) = result.unassigned

    e = explain_student(p, placed(result), "min-cost", left_out)

    assert (e.project, e.placed_rank) == (None, None)
    assert codes(e) == [(1, "project-full")]
    assert e.summary.startswith("You were not placed on a project: your 1st choice was filled by students "
                                "who ranked it as high as you did or higher")
    assert "placing you would have left someone else without a project" in e.summary


def test_first_choice_fixed_and_no_preferences_get_short_summaries():
    p = problem({"s1": "A", "s2": "", "s9": "B F"}, {"A": ("t1", 1), "B": ("t2", 1), "F": ("t2", 1)},
                {"t1": 1, "t2": 2}, fixed={"s9": "F"})
    everyone = explain_all(p, placed(allocate(p, "min-cost")), "min-cost")

    assert (everyone["s1"].summary, everyone["s1"].reasons) == ("You got your 1st choice.", ())
    assert everyone["s2"].summary == ("You did not rank any projects, so the allocation had nothing to place "
                                      "you on.")
    fixed = everyone["s9"]
    assert (fixed.fixed, fixed.placed_rank) == (True, 2)
    assert fixed.summary.startswith("You are on your own approved proposal (your 2nd choice)")
    assert codes(fixed) == [(1, "room-left")]  # B was free, but approved proposals are kept as they are


# --- stable ---------------------------------------------------------------------------------------

def test_stable_outranked_on_a_full_project():
    p = problem({"s1": "p1 p3", "s2": "p1 p2", "s3": "p1 p3"},
                {"p1": ("t1", 1), "p2": ("t1", 1), "p3": ("t2", 1)}, {"t1": 2, "t2": 1},
                rankings={"t1": "s3 s1 s2", "t2": "s1 s3"})

    e = explained(p, "stable", "s1")

    assert codes(e) == [(1, "outranked")]
    assert figures(e.reasons[0], "full", "your_position", "lowest_position") == ("project", 2, 1)
    assert "your 1st choice was full with students its supervisor ranks higher than you" in e.summary
    assert e.summary.endswith("Supervisors' rankings decide between students who want the same project, "
                              "and no stable allocation gives you a higher choice.")


def test_stable_outranked_by_a_full_supervisor_and_not_ranked():
    p = problem({"s1": "a c", "s2": "b", "s3": "a"}, {"a": ("t1", 1), "b": ("t1", 1), "c": ("t2", 1)},
                {"t1": 1, "t2": 1}, rankings={"t1": "s2 s1", "t2": "s1"})
    everyone = explain_all(p, placed(allocate(p, "stable")), "stable")

    s1 = everyone["s1"]
    assert codes(s1) == [(1, "outranked")]
    assert figures(s1.reasons[0], "full", "supervisor_load", "your_position", "lowest_position") == (
        "supervisor", 1, 2, 1)
    assert "1st choice had room, but its supervisor was full with students they rank higher" in s1.summary
    s3 = everyone["s3"]
    assert codes(s3) == [(1, "not-ranked")]
    assert s3.summary == ("You were not placed on a project: the supervisor of your 1st choice did not rank "
                          "you. Supervisors' rankings decide between students who want the same project.")


def test_stable_unassigned_student_is_told_no_stable_allocation_places_them():
    p = problem({"s1": "a", "s2": "a"}, {"a": ("t1", 1)}, {"t1": 1}, rankings={"t1": "s1 s2"})

    e = explained(p, "stable", "s2")

    assert codes(e) == [(1, "outranked")]
    assert e.summary.endswith("and no stable allocation gives you a place.")


# --- after hand changes, or a result that is not the engine's ----------------------------------

SWAPPABLE = problem({"s1": "a b", "s2": "a b"}, {"a": ("t1", 1), "b": ("t2", 1)}, {"t1": 1, "t2": 1},
                    rankings={"t1": "s1 s2", "t2": "s1 s2"})


@pytest.mark.parametrize(("adjusted", "ending"), [
    (frozenset({"s1", "s2"}), "Your place was set by hand after the allocation was computed."),
    (frozenset({"s2"}), "but places were changed by hand after it was computed."),
    (frozenset(), "ranks you above a student placed with them; please ask the coordinator."),
])
def test_stable_with_a_swap_by_hand_says_full_not_outranked(adjusted, ending):
    # Stable gives s1 `a`; the coordinator swapped them, so t1's ranking no longer explains it.
    e = explain_student(SWAPPABLE, {"s1": "b", "s2": "a"}, "stable", "s1", adjusted)

    assert codes(e) == [(1, "project-full")]
    assert figures(e.reasons[0], "same", "could_move_up") == (1, 0)
    assert "no stable allocation" not in e.summary
    assert e.summary.endswith(ending)


@pytest.mark.parametrize(("adjusted", "ending"), [
    (frozenset({"s1"}), "Your place was set by hand after the allocation was computed."),
    (frozenset({"s2"}), "but places were changed by hand after it was computed."),
    (frozenset(), "please ask the coordinator why you were not moved to a choice that still has room."),
])
def test_room_left_is_said_plainly(adjusted, ending):
    p = problem({"s1": "A B", "s2": "C"}, ONE_PLACE_EACH, ONE_EACH)

    e = explain_student(p, {"s1": "B", "s2": "C"}, "min-cost", "s1", adjusted)

    assert codes(e) == [(1, "room-left")]
    assert figures(e.reasons[0], "taken", "supervisor_load", "same_supervisor") == (0, 0, False)
    assert e.summary.startswith("You got your 2nd choice: your 1st choice still has room.")
    assert "moving you up" not in e.summary and e.summary.endswith(ending)


def test_a_full_supervisor_is_no_reason_when_the_student_is_already_theirs():
    # Moving s1 from B to A keeps t1's load as it is.
    p = problem({"s1": "A B"}, {"A": ("t1", 1), "B": ("t1", 1)}, {"t1": 1})

    e = explain_student(p, {"s1": "B"}, "min-cost", "s1", frozenset({"s1"}))

    assert codes(e) == [(1, "room-left")]
    assert e.reasons[0].get("same_supervisor") is True


def test_no_better_alternative_is_only_claimed_when_true():
    # x was put on B by hand; A, of the same full supervisor, still has room for x.
    p = problem({"x": "A B", "s": "B C"}, {"A": ("t1", 1), "B": ("t1", 1), "C": ("t2", 1)},
                {"t1": 1, "t2": 1})

    e = explain_student(p, {"x": "B", "s": "C"}, "min-cost", "s", frozenset({"x"}))

    assert codes(e) == [(1, "project-full")]
    assert figures(e.reasons[0], "lower", "could_move_up") == (1, 1)
    assert e.summary.startswith("You got your 2nd choice: your 1st choice was full. The allocation")
    assert "better choice" not in e.summary


def test_a_place_set_by_hand_on_an_unranked_project():
    p = problem({"s1": "A", "s2": "A"}, {"A": ("t1", 1), "Z": ("t2", 1)}, {"t1": 1, "t2": 1})

    e = explain_student(p, {"s1": "A", "s2": "Z"}, "greedy", "s2", frozenset({"s2"}))

    assert (e.project, e.placed_rank) == ("Z", None)
    assert codes(e) == [(1, "project-full")]
    assert e.summary.startswith("You are on a project you did not rank: your 1st choice was filled")
    assert e.summary.endswith("Your place was set by hand after the allocation was computed.")
    unexplained = explain_student(p, {"s1": "A", "s2": "Z"}, "greedy", "s2")
    assert unexplained.summary.endswith("please ask the coordinator about your place.")


def test_a_place_set_by_hand_for_a_student_who_ranked_nothing():
    p = problem({"s1": ""}, {"Z": ("t1", 1)}, {"t1": 1})

    e = explain_student(p, {"s1": "Z"}, "min-cost", "s1", frozenset({"s1"}))

    assert e.reasons == ()
    assert e.summary == ("You are on a project you did not rank. "
                         "Your place was set by hand after the allocation was computed.")


def test_bad_input_is_refused():
    p = problem({"s1": "A"}, {"A": ("t1", 1)}, {"t1": 1})
    with pytest.raises(ValueError, match="Unknown objective"):
        explain_student(p, {}, "fastest", "s1")
    with pytest.raises(ValueError, match="Unknown student"):
        explain_student(p, {}, "min-cost", "nobody")


def test_ordinals():
    assert [_ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th", "112th"]


# --- properties -----------------------------------------------------------------------------------

PROJECT_ID = re.compile(r"\bp\d+\b")


def check_shape(p, result, everyone):
    """One reason per higher choice (every choice when unplaced), in order, and no project id in words;
    explain_all agrees with explain_student."""
    where = placed(result)
    for s in p.students:
        e = everyone[s.id]
        assert e == explain_student(p, where, result.objective, s.id)
        higher = s.preferences[:e.placed_rank - 1] if e.placed_rank else s.preferences
        assert [(r.rank, r.project) for r in e.reasons] == list(enumerate(higher, start=1))
        assert not PROJECT_ID.search(e.summary), e.summary


@SETTINGS
@given(problems())
def test_an_optimal_flow_result_never_leaves_room_on_a_higher_choice(p):
    for objective in ("min-cost", "greedy", "generous"):
        result = allocate(p, objective)
        if result.status != "optimal":
            continue
        everyone = explain_all(p, placed(result), objective)
        check_shape(p, result, everyone)
        fixed = {pair.student for pair in p.fixed}
        for sid, e in everyone.items():
            if sid in fixed:
                continue
            assert "room-left" not in {r.reason for r in e.reasons}, e
            # The "no better alternative" certificate holds at every optimum.
            assert all(r.get("could_move_up") == 0 for r in e.reasons if "could_move_up" in r.details())


@SETTINGS
@given(problems(rankings=True))
def test_a_stable_result_is_explained_by_rankings_alone(p):
    result = allocate(p, "stable")
    if result.status != "stable":
        return
    everyone = explain_all(p, placed(result), "stable")
    check_shape(p, result, everyone)
    fixed = {pair.student for pair in p.fixed}
    for sid, e in everyone.items():
        if sid not in fixed:
            assert {r.reason for r in e.reasons} <= {"forbidden", "no-places", "not-ranked", "outranked"}, e


@pytest.mark.parametrize("objective", ["min-cost", "stable"])
def test_a_whole_faculty_is_explained_at_once(objective):
    # Speed is measured in bench/ (explain_all of 5,000 students), never asserted here.
    p = make_problem(5000, 1)
    where = placed(allocate(p, objective))
    everyone = explain_all(p, where, objective)
    assert len(everyone) == 5000
    assert everyone["s17"] == explain_student(p, where, objective, "s17")
