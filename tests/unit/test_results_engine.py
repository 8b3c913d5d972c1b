"""The results engine (projectflow/results/engine.py): every rule of issue 11 at its boundaries, and
properties that hold for any marks."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projectflow.results import (ClassBand, ComponentMarks, ComponentRule, Penalty, Rules, StudentMarks,
                                 agree_component, apply_penalty, band_of, check_rules, check_student, classify,
                                 compute, default_rules, final_mark, flags_for, result_for, round_mark)

# The rules of the issue's example file.
RULES = Rules(
    components=(ComponentRule("report", D(75)), ComponentRule("poster", D(15)), ComponentRule("independence", D(10))),
    agree_within=D(5), third_marker_above=D(10), boundaries=(D(70), D(60), D(50), D(40)),
    classes=(ClassBand("Distinction", D(70)), ClassBand("Merit", D(60)), ClassBand("Pass", D(50))),
    fail_name="Fail", discretion_below=D("2.5"), moderation_near_below=D(2),
    penalty=Penalty("per-day", points=D(5), days=5))


def marks(*values, **kw) -> ComponentMarks:
    return ComponentMarks(tuple(D(str(v)) for v in values),
                          **{k: D(str(v)) if k in ("reconciled", "third") else v for k, v in kw.items()})


def agree(*values, **kw):
    o = agree_component(RULES, marks(*values, **kw), "report")
    return o.state, o.route, o.agreed


def test_the_issues_worked_example():
    # report (67+69)/2 = 68, poster (65+66)/2 = 65.5, independence 70:
    # (75 x 68 + 15 x 65.5 + 10 x 70) / 100 = 67.825 -> 67.83 (half up), a Merit within 2.5 of 70.
    student = StudentMarks("s1", {"report": marks(67, 69), "poster": marks(65, 66), "independence": marks(70)})
    result = result_for(RULES, student)
    assert [(o.component, o.state, o.route, o.agreed, o.penalty, o.mark) for o in result.components] == [
        ("report", "agreed", "automatic", D("68.00"), D(0), D("68.00")),
        ("poster", "agreed", "automatic", D("65.50"), D(0), D("65.50")),
        ("independence", "agreed", "single", D(70), D(0), D(70)),
    ]
    assert (result.final, result.classification, result.flags) == (D("67.83"), "Merit", ("board_discretion",))


# --- Bands and agreement ----------------------------------------------------------------------------


@pytest.mark.parametrize(("mark", "band"), [
    ("100", D(70)), ("70.00", D(70)), ("69.99", D(60)), ("60", D(60)), ("50", D(50)), ("49.99", D(40)),
    ("40", D(40)), ("39.99", None), ("0", None)])
def test_the_band_is_the_highest_boundary_reached(mark, band):
    assert band_of(D(mark), RULES.boundaries) == band


@pytest.mark.parametrize(("pair", "expected"), [
    ((62, 67), ("agreed", "automatic", D("64.50"))),          # gap 5, same band: the mean
    ((62, "67.01"), ("in_reconciliation", None, None)),        # gap 5.01
    ((61, 71), ("in_reconciliation", None, None)),             # gap 10, straddling: reconcile
    ((60, 70), ("in_reconciliation", None, None)),             # gap 10
    ((60, "70.01"), ("third_marking", None, None)),           # gap 10.01
    (("69.99", 70), ("in_reconciliation", None, None)),        # gap 0.01 across 70: a straddle
    ((68, 70), ("in_reconciliation", None, None)),
    (("39.99", 40), ("in_reconciliation", None, None)),        # below the lowest boundary is a band
    ((35, 39), ("agreed", "automatic", D(37))),
    ((70, 70), ("agreed", "automatic", D(70))),
    ((75, 70), ("agreed", "automatic", D("72.50"))),          # order does not matter
])
def test_two_marks_agree_automatically_only_within_5_in_one_band(pair, expected):
    assert agree(*pair) == expected


def test_one_mark_is_the_agreed_mark():
    assert agree("58.25") == ("agreed", "single", D("58.25"))


def test_no_marks_yet_is_awaiting_marks():
    assert agree() == ("awaiting_marks", None, None)
    # A component left out of a student is awaiting marks too, and there is then no final.
    result = result_for(RULES, StudentMarks("s1", {"report": marks(67, 69), "poster": marks(65, 66)}))
    assert result.component("independence").state == "awaiting_marks"
    assert (result.final, result.classification, result.flags) == (None, None, ())


@pytest.mark.parametrize(("kw", "expected"), [
    ({}, ("in_reconciliation", None, None)),
    ({"reconciled": 63}, ("agreed", "reconciled", D(63))),
    ({"third": 64}, ("agreed", "third_marker", D(64))),                 # reconciliation failed
    ({"reconciled": 63, "third": 64}, ("agreed", "reconciled", D(63))),  # the reconciled mark wins
])
def test_a_gap_of_5_01_to_10_is_reconciled_or_sent_to_a_third_marker(kw, expected):
    assert agree(58, 66, **kw) == expected  # gap 8, and a straddle of 60


@pytest.mark.parametrize(("kw", "expected"), [
    ({}, ("third_marking", None, None)),
    ({"third": "55.5"}, ("agreed", "third_marker", D("55.5"))),
    ({"reconciled": 56}, ("third_marking", None, None)),  # above 10 nobody reconciles
])
def test_a_gap_above_10_goes_to_a_third_marker(kw, expected):
    assert agree(50, 62, **kw) == expected


def test_a_department_that_sends_gaps_above_15_to_a_third_marker():
    rules = replace(RULES, third_marker_above=D(15))
    assert agree_component(rules, marks(50, 65)).state == "in_reconciliation"
    assert agree_component(rules, marks(50, "65.01")).state == "third_marking"


@pytest.mark.parametrize(("pair", "mean"), [
    (("67.00", "67.01"), D("67.01")),   # 67.005: half up (half even, or a binary float, would give 67.00)
    (("67.01", "67.02"), D("67.02")),   # 67.015: half up even where half even rounds up too
    (("0.01", "0"), D("0.01")),
    (("64.99", "65.00"), D("65.00")),
])
def test_means_are_rounded_half_up_to_two_decimals(pair, mean):
    assert agree(*pair)[2] == mean


# --- Late penalties ------------------------------------------------------------------------------


def penalised(preset: Penalty, agreed, days, extension=False):
    return apply_penalty(replace(RULES, penalty=preset), D(str(agreed)), days, extension=extension)


PER_DAY = Penalty("per-day", points=D(5), days=5)
UCL = Penalty("ucl")
CAP = Penalty("cap", days=3)


@pytest.mark.parametrize(("days", "mark"), [(0, 68), (1, 63), (2, 58), (3, 53), (4, 48), (5, 43), (6, 0)])
def test_per_day_takes_5_a_working_day_up_to_5_days_then_0(days, mark):
    assert penalised(PER_DAY, 68, days) == D(mark)


@pytest.mark.parametrize(("days", "mark"), [(0, 12), (1, 7), (2, 2), (3, 0), (4, 0), (5, 0), (6, 0)])
def test_per_day_never_goes_below_0(days, mark):
    assert penalised(PER_DAY, 12, days) == D(mark)


@pytest.mark.parametrize(("days", "high", "near_pass", "failing"), [
    (0, 68, 55, 45), (1, 58, 50, 35), (2, 58, 50, 35), (3, 50, 50, 45), (4, 50, 50, 45), (5, 50, 50, 45),
    (6, 0, 0, 0)])
def test_ucl_minus_10_not_below_the_pass_mark_then_capped_then_0(days, high, near_pass, failing):
    # Work at or above the pass mark (50: the lowest class) is not pushed below it by the first
    # two days' 10 points; work already below it loses them; the cap never raises a mark.
    assert (penalised(UCL, 68, days), penalised(UCL, 55, days), penalised(UCL, 45, days)) == (
        D(high), D(near_pass), D(failing))


def test_ucl_takes_its_pass_mark_from_the_penalty_when_given():
    assert penalised(Penalty("ucl", pass_mark=D(40)), 45, 1) == D(40)
    assert penalised(Penalty("ucl", pass_mark=D(40)), 68, 3) == D(40)
    assert replace(RULES, penalty=Penalty("ucl", pass_mark=D(40))).pass_mark == D(40)
    assert replace(RULES, penalty=UCL).pass_mark == D(50)


@pytest.mark.parametrize(("days", "high", "failing"), [
    (0, 68, 45), (1, 50, 45), (2, 50, 45), (3, 50, 45), (4, 0, 0), (5, 0, 0), (6, 0, 0)])
def test_cap_caps_at_the_pass_mark_for_n_days_then_0(days, high, failing):
    assert (penalised(CAP, 68, days), penalised(CAP, 45, days)) == (D(high), D(failing))


@pytest.mark.parametrize("days", range(7))
def test_no_penalty_with_preset_none_or_an_extension(days):
    assert penalised(Penalty("none"), 68, days) == D(68)
    for preset in (PER_DAY, UCL, CAP):
        assert penalised(preset, 68, days, extension=True) == D(68)


def test_the_penalty_is_taken_from_the_agreed_mark_and_both_are_kept():
    o = agree_component(RULES, marks(67, 69, late_working_days=2), "report")
    assert (o.state, o.route, o.agreed, o.penalty, o.mark) == ("agreed", "automatic", D(68), D(10), D(58))
    o = agree_component(RULES, marks(58, 66, third=64, late_working_days=9), "report")
    assert (o.route, o.agreed, o.penalty, o.mark) == ("third_marker", D(64), D(64), D(0))
    o = agree_component(RULES, marks(67, 69, late_working_days=3, extension=True), "report")
    assert (o.agreed, o.penalty, o.mark) == (D(68), D(0), D(68))
    # Not agreed: nothing to penalise yet.
    o = agree_component(RULES, marks(50, 62, late_working_days=3), "report")
    assert (o.state, o.agreed, o.penalty, o.mark) == ("third_marking", None, None, None)


# --- Final, classification, flags ----------------------------------------------------------------


@pytest.mark.parametrize(("final", "name"), [
    ("100", "Distinction"), ("70.00", "Distinction"), ("69.99", "Merit"), ("60.00", "Merit"),
    ("59.99", "Pass"), ("50.00", "Pass"), ("49.99", "Fail"), ("0", "Fail")])
def test_classes_are_decided_on_the_two_decimal_final(final, name):
    assert classify(RULES, D(final)) == name


def test_the_final_is_the_weighted_mean_rounded_half_up():
    # 67.825 exactly: half up gives 67.83 where half even, or binary floats (67.8249999...), give 67.82.
    assert final_mark(RULES, {"report": D(68), "poster": D("65.5"), "independence": D(70)}) == D("67.83")
    # 69.994 is kept a Merit: it rounds to 69.99, never to a whole 70.
    assert final_mark(RULES, {"report": D("69.99"), "poster": D("69.99"), "independence": D("70.00")}) == D("69.99")
    # (75 x 69.98 + 15 x 70.05 + 10 x 70) / 100 = 69.9925 -> 69.99, a Merit; 69.995 -> 70.00, a Distinction.
    assert final_mark(RULES, {"report": D("69.98"), "poster": D("70.05"), "independence": D("70.00")}) == D("69.99")
    assert final_mark(RULES, {"report": D("69.99"), "poster": D("70.01"), "independence": D("70.01")}) == D("70.00")
    three = replace(RULES, components=(ComponentRule("a", D(1)), ComponentRule("b", D(1)), ComponentRule("c", D(1))))
    assert final_mark(three, {"a": D(60), "b": D(60), "c": D("60.01")}) == D("60.00")  # 60.00333...
    assert final_mark(three, {"a": D(60), "b": D("60.01"), "c": D("60.01")}) == D("60.01")  # 60.00666...


def test_a_late_component_counts_with_its_penalised_mark():
    student = StudentMarks("s2", {"report": marks(67, 69, late_working_days=1), "poster": marks(65, 66),
                                  "independence": marks(70)})
    result = result_for(RULES, student)
    # (75 x 63 + 15 x 65.5 + 10 x 70) / 100 = 64.075 -> 64.08
    assert (result.final, result.classification, result.flags) == (D("64.08"), "Merit", ())


@pytest.mark.parametrize(("final", "flags"), [
    ("67.50", ("board_discretion",)),
    ("67.49", ()),
    ("67.99", ("board_discretion",)),
    ("68.00", ("board_discretion", "moderation_near_boundary")),
    ("69.99", ("board_discretion", "moderation_near_boundary")),
    ("70.00", ("moderation_distinction",)),
    ("57.50", ("board_discretion",)),
    ("57.49", ()),
    ("58.00", ("board_discretion", "moderation_near_boundary")),
    ("59.99", ("board_discretion", "moderation_near_boundary")),
    ("60.00", ()),
    # The lowest class: board discretion, but moderation near a boundary only for Merit and Distinction.
    ("47.50", ("board_discretion", "moderation_fail")),
    ("49.99", ("board_discretion", "moderation_fail")),
    ("48.00", ("board_discretion", "moderation_fail")),
    ("47.49", ("moderation_fail",)),
    ("50.00", ()),
    ("0", ("moderation_fail",)),
    ("100", ("moderation_distinction",)),
])
def test_flags_for_the_board_and_moderation(final, flags):
    assert flags_for(RULES, D(final)) == flags


def test_compute_keeps_the_students_order():
    students = [StudentMarks(f"s{i}", {"report": marks(40 + i), "poster": marks(50), "independence": marks(60)})
                for i in range(5, 0, -1)]
    assert [r.id for r in compute(RULES, students)] == ["s5", "s4", "s3", "s2", "s1"]


def test_the_default_rules_are_those_of_the_design_and_are_valid():
    rules = default_rules()
    assert check_rules(rules) == []
    assert [(c.id, c.weight) for c in rules.components] == [("report", 75), ("poster", 15), ("independence", 10)]
    assert rules.pass_mark == D(50) and rules.boundaries[0] == D(90)


# --- Validators ---------------------------------------------------------------------------------


def test_check_student_names_every_fault_with_student_and_component():
    student = StudentMarks("s9", {
        "report": marks(60, 65, 70),
        "poster": marks("100.01", "-1"),
        "independence": marks("67.005"),
        "viva": marks(60),
    })
    assert check_student(RULES, student) == [
        "student 's9', component 'report': 3 marks; a component has one or two.",
        "student 's9', component 'poster': mark 100.01 is not a mark from 0 to 100 with at most two decimals.",
        "student 's9', component 'poster': mark -1 is not a mark from 0 to 100 with at most two decimals.",
        "student 's9', component 'independence': mark 67.005 is not a mark from 0 to 100 with at most two decimals.",
        "student 's9', component 'viva': unknown component (the rules list 'report', 'poster', 'independence').",
    ]


@pytest.mark.parametrize(("kw", "fault"), [
    ({"reconciled": "57.99"}, "reconciled mark 57.99 is outside the markers' range 58-66."),
    ({"reconciled": "66.01"}, "reconciled mark 66.01 is outside the markers' range 58-66."),
    ({"third": 70}, "third mark 70 is outside the markers' range 58-66."),
    ({"third": "60.001"}, "third mark 60.001 is not a mark from 0 to 100 with at most two decimals."),
    ({"late_working_days": -1}, "'late_working_days' must not be negative (-1)."),
])
def test_a_reconciled_or_third_mark_outside_the_range_is_refused(kw, fault):
    assert check_student(RULES, StudentMarks("s1", {"report": marks(58, 66, **kw)})) == [
        f"student 's1', component 'report': {fault}"]


@pytest.mark.parametrize("kw", [{"reconciled": 58}, {"reconciled": 66}, {"third": "62.25"}])
def test_a_reconciled_or_third_mark_at_the_ends_of_the_range_is_fine(kw):
    assert check_student(RULES, StudentMarks("s1", {"report": marks(58, 66, **kw)})) == []


def test_check_rules_names_what_cannot_be_used():
    bad = replace(RULES, components=(ComponentRule("a", D(0)), ComponentRule("a", D(1))),
                  agree_within=D(12), boundaries=(D(70), D(70), D("100.5")),
                  classes=(ClassBand("Pass", D(50)), ClassBand("Fail", D(40))),
                  penalty=Penalty("per-day", days=0, pass_mark=D(40)))
    assert check_rules(bad) == [
        "rules: component 'a' is listed 2 times.",
        "rules: component 'a' must have a weight above 0, not 0.",
        "rules: 'agree_within' (12) must not be above 'third_marker_above' (10).",
        "rules: a boundary is listed twice.",
        "rules: boundary 100.5 is not a mark (0 to 100, two decimals at most).",
        "rules: the class name 'Fail' is used 2 times.",
        "rules: the per-day penalty needs 'points'.",
        "rules: the per-day penalty does not use 'pass_mark'.",
        "rules: penalty 'days' must be at least 1, not 0.",
    ]
    assert check_rules(replace(RULES, penalty=Penalty("weekly"))) == [
        "rules: penalty preset 'weekly' is unknown (use per-day, ucl, cap, none)."]


# --- Properties ----------------------------------------------------------------------------------

# Marks in hundredths, so that every value is a legal mark.
MARKS = st.integers(0, 10_000).map(lambda n: D(n) / 100)
SETTINGS = settings(max_examples=300, deadline=None)


@st.composite
def two_marks_with_extras(draw):
    a, b = draw(MARKS), draw(MARKS)
    low, high = min(a, b), max(a, b)
    within = st.integers(int(low * 100), int(high * 100)).map(lambda n: D(n) / 100)
    return ComponentMarks((a, b), reconciled=draw(st.none() | within), third=draw(st.none() | within))


@SETTINGS
@given(two_marks_with_extras())
def test_the_agreed_mark_always_lies_between_the_two_marks(given_marks):
    outcome = agree_component(RULES, given_marks)
    low, high = min(given_marks.marks), max(given_marks.marks)
    if outcome.state == "agreed":
        assert low <= outcome.agreed <= high
        assert outcome.agreed == round_mark(outcome.agreed)
    else:
        assert outcome.agreed is None


@SETTINGS
@given(st.lists(st.tuples(st.text("abcdef", min_size=1, max_size=3), st.integers(1, 100), MARKS),
                min_size=1, max_size=6, unique_by=lambda t: t[0]))
def test_the_final_lies_between_the_lowest_and_highest_component_mark(components):
    rules = replace(RULES, components=tuple(ComponentRule(cid, D(w)) for cid, w, _ in components))
    final = final_mark(rules, {cid: mark for cid, _, mark in components})
    assert min(m for *_, m in components) <= final <= max(m for *_, m in components)
    assert final == round_mark(final)


ORDER = ["Fail", "Pass", "Merit", "Distinction"]


@SETTINGS
@given(MARKS, MARKS)
def test_the_classification_never_falls_as_the_final_rises(a, b):
    low, high = min(a, b), max(a, b)
    assert ORDER.index(classify(RULES, low)) <= ORDER.index(classify(RULES, high))


@SETTINGS
@given(MARKS, st.integers(0, 8), st.sampled_from([PER_DAY, UCL, CAP, Penalty("none")]), st.booleans())
def test_a_penalty_never_raises_a_mark_nor_takes_it_below_0(agreed, days, preset, extension):
    mark = penalised(preset, agreed, days, extension)
    assert D(0) <= mark <= agreed
    assert mark == round_mark(mark)


def test_the_results_package_imports_no_flask_no_orm_and_no_other_domain():
    import ast
    from pathlib import Path

    import projectflow.results

    allowed = {"__future__", "collections", "dataclasses", "decimal", "json", "typing"}
    for path in Path(projectflow.results.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [] if node.level else [node.module]
            else:
                continue
            assert {n.split(".")[0] for n in names} <= allowed, f"{path.name} imports {names}"
