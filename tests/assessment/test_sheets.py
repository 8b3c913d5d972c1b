"""Setting a cohort up for marking, opening marking, and a marker's sheet from draft to submitted."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from projectflow.assessment import services
from projectflow.assessment.models import (
    DRAFT, FIRST, NOT_STARTED, SECOND, SUBMITTED, Component, MarkingRules, MarkSheet, band_index,
)
from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.extensions import db
from projectflow.matching.models import Allocation, MarkerAssignment


def entries(sheet, marks, comment="Clear and well argued."):
    criteria = sheet.rubric.criteria_for(sheet.role)
    return [services.CriterionEntry(c.id, None, None if m is None else Decimal(str(m)), comment)
            for c, m in zip(criteria, marks)]


def test_set_up_gives_design_defaults_and_is_idempotent(marking, coordinator):
    c = marking.components
    assert {k: v.weight for k, v in c.items()} == {"report": 75, "poster": 15, "independence": 10}
    assert c["report"].milestone.kind == "final_report" and c["poster"].milestone.kind == "poster"
    assert c["independence"].milestone is None and c["independence"].roles == (FIRST,)
    report = c["report"].current_rubric
    assert [(x.title, x.weight) for x in report.criteria] == [
        ("Aims, context and literature", 20), ("Technical contribution and originality", 35),
        ("Results, evaluation and critical analysis", 25), ("Communication and report quality", 10),
        ("Independence and project management", 10)]
    assert [x.title for x in report.criteria_for(SECOND)][-1] == "Communication and report quality"
    assert all(len(x.descriptors) == 7 for x in report.criteria)
    rules = db.session.get(MarkingRules, marking.cohort.id)
    assert (rules.agree_within, rules.third_marker_above, rules.penalty_preset) == (Decimal("5.00"), Decimal("10.00"), "per-day")
    services.set_up_marking(marking.cohort, by=coordinator)
    db.session.commit()
    assert db.session.scalar(select(db.func.count(Component.id))) == 3


def test_only_a_coordinator_sets_up_or_opens_marking(marking):
    with pytest.raises(NotAllowed):
        services.set_up_marking(marking.cohort, by=marking.lee)
    with pytest.raises(NotAllowed):
        services.open_marking(marking.components["report"], by=marking.lee)


def test_opening_marking_gives_each_marker_a_sheet_once(marking, coordinator):
    report = marking.components["report"]
    opened = services.open_marking(report, by=coordinator)
    db.session.commit()
    allocations = db.session.scalars(select(Allocation).where(Allocation.run_id == marking.run.id)).all()
    assert opened.sheets == 2 * len(allocations) and not opened.without_marker
    sheets = db.session.scalars(select(MarkSheet)).all()
    second = {a.allocation.student_id: a.marker_id for a in db.session.scalars(select(MarkerAssignment))}
    for s in sheets:
        allocation = next(a for a in allocations if a.student_id == s.student_id)
        assert s.marker_id == (allocation.supervisor_id if s.role == FIRST else second[s.student_id])
        assert s.state == NOT_STARTED
        # 30 working days after the final report's deadline (early September).
        assert s.due_at > marking.timeline["final_report"].due_at
    assert services.open_marking(report, by=coordinator).sheets == 0
    independence = services.open_marking(marking.components["independence"], by=coordinator)
    assert independence.sheets == len(allocations)  # the supervisor alone


def test_a_sheet_saves_as_a_draft_then_submits_with_the_weighted_mark(marking, coordinator):
    services.open_marking(marking.components["report"], by=coordinator)
    db.session.commit()
    sheet = db.session.scalars(select(MarkSheet).where(MarkSheet.role == FIRST)).first()
    marker = sheet.marker
    services.save_sheet(sheet, entries(sheet, [70, None, None, None, None]), overall_comment="",
                        private_note="", by=marker)
    db.session.commit()
    assert sheet.state == DRAFT and sheet.rubric.is_frozen and sheet.marks[0].band == band_index(Decimal(70))
    with pytest.raises(ValidationFailed, match="Technical contribution and originality: give a mark"):
        services.submit_sheet(sheet, by=marker)
    services.save_sheet(sheet, entries(sheet, [72, 65.5, 68, 59.99, 80]), overall_comment="Well done.",
                        private_note="Strong viva.", by=marker)
    services.submit_sheet(sheet, by=marker)
    db.session.commit()
    # (20*72 + 35*65.5 + 25*68 + 10*59.99 + 10*80) / 100 = 68.324 -> 68.32
    assert sheet.state == SUBMITTED and sheet.mark == Decimal("68.32")
    with pytest.raises(InvalidState, match="only the coordinator can reopen"):
        services.save_sheet(sheet, [], overall_comment="x", private_note="", by=marker)
    assert db.session.scalar(select(AuditEvent.summary).where(AuditEvent.action == "assessment.sheet_submitted"))


@pytest.mark.parametrize("text, message", [
    ("99.999", "more than two decimals"), ("100.001", "not a mark from 0 to 100"), ("-1", "not a mark from 0 to 100"), ("101", "not a mark"),
    ("abc", "not a mark"), ("NaN", "not a mark"), ("Infinity", "not a mark"),
])
def test_a_mark_is_0_to_100_with_two_decimals(text, message):
    with pytest.raises(ValidationFailed, match=message):
        services.parse_mark(text)


@pytest.mark.parametrize("text, value", [("0", "0.00"), ("100", "100.00"), ("69.99", "69.99"), (" 7.5 ", "7.50"),
                                         ("", None)])
def test_marks_as_markers_type_them(text, value):
    assert services.parse_mark(text) == (None if value is None else Decimal(value))


def test_a_band_and_a_mark_that_disagree_are_refused(marking, coordinator):
    services.open_marking(marking.components["report"], by=coordinator)
    sheet = db.session.scalars(select(MarkSheet).where(MarkSheet.role == FIRST)).first()
    criterion = sheet.rubric.criteria_for(FIRST)[0]
    with pytest.raises(ValidationFailed, match="69.99 is not in the Distinction band"):
        services.save_sheet(sheet, [services.CriterionEntry(criterion.id, 2, Decimal("69.99"), "")],
                            overall_comment="", private_note="", by=sheet.marker)


def test_nobody_but_its_marker_saves_a_sheet_and_the_second_is_blind_until_both_submit(marking, coordinator):
    services.open_marking(marking.components["report"], by=coordinator)
    db.session.commit()
    student = db.session.scalars(select(MarkSheet).where(MarkSheet.role == SECOND)).first().student
    first, second = (db.session.scalars(select(MarkSheet).where(MarkSheet.student_id == student.id,
                                                                MarkSheet.role == role)).one()
                     for role in (FIRST, SECOND))
    with pytest.raises(NotAllowed):
        services.save_sheet(first, [], overall_comment="", private_note="", by=second.marker)
    assert not services.can_view(first, second.marker) and not services.can_view(second, first.marker)
    services.save_sheet(first, entries(first, [70, 70, 70, 70, 70]), overall_comment="Good.", private_note="",
                        by=first.marker)
    services.submit_sheet(first, by=first.marker)
    db.session.commit()
    assert not services.can_view(first, second.marker)  # the second marker has not submitted yet
    services.save_sheet(second, entries(second, [68, 68, 68, 68]), overall_comment="Good.", private_note="",
                        by=second.marker)
    services.submit_sheet(second, by=second.marker)
    db.session.commit()
    assert services.can_view(first, second.marker) and services.can_view(second, first.marker)
    outsider = next(u for u in (marking.lee, marking.kim, marking.nlp, coordinator)
                    if u.id not in {first.marker_id, second.marker_id})
    assert services.can_view(first, outsider) == (outsider is coordinator)


def test_the_coordinator_reopens_a_submitted_sheet_with_a_reason(marking, coordinator):
    services.open_marking(marking.components["independence"], by=coordinator)
    sheet = db.session.scalars(select(MarkSheet)).first()
    services.save_sheet(sheet, entries(sheet, [75, 72]), overall_comment="Independent.", private_note="",
                        by=sheet.marker)
    services.submit_sheet(sheet, by=sheet.marker)
    with pytest.raises(NotAllowed):
        services.reopen_sheet(sheet, reason="typo", by=sheet.marker)
    with pytest.raises(ValidationFailed, match="Say why"):
        services.reopen_sheet(sheet, reason="  ", by=coordinator)
    services.reopen_sheet(sheet, reason="A mark was typed in the wrong row.", by=coordinator)
    db.session.commit()
    assert sheet.state == DRAFT and sheet.mark is None and sheet.submitted_at is None
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assessment.sheet_reopened")).one()
    assert "wrong row" in event.summary and event.before["mark"] == "73.80"


def submit(sheet, marks, comment="Fine."):
    services.save_sheet(sheet, entries(sheet, marks), overall_comment=comment, private_note="", by=sheet.marker)
    services.submit_sheet(sheet, by=sheet.marker)


def pair(marking, coordinator, key="report"):
    services.open_marking(marking.components[key], by=coordinator)
    student = db.session.scalars(select(MarkSheet).where(MarkSheet.role == SECOND)).first().student
    return student, [db.session.scalars(select(MarkSheet).where(MarkSheet.student_id == student.id,
                                                                MarkSheet.role == role,
                                                                MarkSheet.component_id == marking.components[key].id)).one()
                     for role in (FIRST, SECOND)]


@pytest.mark.parametrize("first, second, state, route, agreed", [
    (71, 75, "agreed", "automatic", "73.00"),          # gap 4, same band: the mean
    (66, 69, "agreed", "automatic", "67.50"),
    (68, 73, "in_reconciliation", None, None),       # gap 5 but a band straddle (Merit / Distinction)
    (60, 67, "in_reconciliation", None, None),       # gap 7: reconcile
    (55, 66, "third_marking", None, None),           # gap 11: a third marker
])
def test_submitting_both_sheets_asks_the_engine_for_the_agreement(marking, coordinator, first, second, state,
                                                                  route, agreed):
    from projectflow.assessment.models import Agreement

    student, (one, two) = pair(marking, coordinator)
    submit(one, [first] * 5)
    db.session.commit()
    agreement = db.session.scalars(select(Agreement)).one()
    assert agreement.state == "awaiting_marks"  # one of a pair never counts alone
    submit(two, [second] * 4)
    db.session.commit()
    db.session.refresh(agreement)
    assert (agreement.state, agreement.route) == (state, route)
    assert agreement.agreed_mark == (None if agreed is None else Decimal(agreed))
    # Reopening a sheet takes the agreement back to waiting for marks.
    services.reopen_sheet(two, reason="Wrong student's marks.", by=coordinator)
    db.session.commit()
    db.session.refresh(agreement)
    assert agreement.state == "awaiting_marks" and agreement.agreed_mark is None


def test_a_result_appears_once_every_component_is_agreed(marking, coordinator):
    from projectflow.assessment.models import Result

    student, (one, two) = pair(marking, coordinator, "report")
    submit(one, [68] * 5)
    submit(two, [69] * 4)
    _, (p1, p2) = pair(marking, coordinator, "poster")
    submit(p1, [65] * 4)
    submit(p2, [66] * 4)
    db.session.commit()
    result = db.session.scalars(select(Result).where(Result.student_id == student.id)).one()
    assert result.final is None  # independence is not marked yet
    services.open_marking(marking.components["independence"], by=coordinator)
    sheet = db.session.scalars(select(MarkSheet).where(MarkSheet.student_id == student.id,
                                                       MarkSheet.component_id == marking.components["independence"].id)).one()
    submit(sheet, [70, 70])
    db.session.commit()
    db.session.refresh(result)
    # The worked example: (75*68.50 + 15*65.50 + 10*70) / 100 = 68.2 -> Merit, within 2.5 of 70.
    assert (result.final, result.classification) == (Decimal("68.20"), "Merit")
    assert result.flags == ["board_discretion", "moderation_near_boundary"]
