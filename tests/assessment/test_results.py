"""Results after agreement: the moderation sample, moderation and its rule, release and its refusals,
and what a student reads (nothing before release, never a private note)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from projectflow.assessment import results, services
from projectflow.assessment.models import FIRST, MarkingRules, MarkSheet, Result
from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.core.notifications import Notification
from projectflow.extensions import db

# The report's first marker says to the other markers only: never shown to the student.
PRIVATE = "Between us: the viva was weak."


def mark_everyone(marking, coordinator, targets: tuple[int, ...] = (65, 65, 65)):
    """Open every component and have every marker submit: the allocated students' marks (by name) around
    ``targets`` (the second marker one point above), with a criterion comment, an overall comment and a
    private note. The round places three of its four students; their results by name."""
    for component in marking.components.values():
        services.open_marking(component, by=coordinator)
    db.session.commit()
    sheets = db.session.scalars(select(MarkSheet).order_by(MarkSheet.student_id, MarkSheet.component_id,
                                                           MarkSheet.role)).all()
    names = sorted({s.student.name for s in sheets})
    assert len(names) == len(targets) == 3
    for sheet in sheets:
        target = Decimal(targets[names.index(sheet.student.name)]) + (0 if sheet.role == FIRST else 1)
        criteria = sheet.rubric.criteria_for(sheet.role)
        entries = [services.CriterionEntry(c.id, None, target, f"{c.title}: {sheet.role} marker's comment.")
                   for c in criteria]
        services.save_sheet(sheet, entries, overall_comment=f"Overall, from the {sheet.role} marker.",
                            private_note=PRIVATE, by=sheet.marker)
        services.submit_sheet(sheet, by=sheet.marker)
    db.session.commit()
    by_name = {r.student.name: r for r in db.session.scalars(select(Result))}
    return [by_name[n] for n in names]


def set_rules(cohort, **values):
    rules = db.session.get(MarkingRules, cohort.id)
    for k, v in values.items():
        setattr(rules, k, v)
    db.session.commit()
    return rules


def marker_of(student, role=FIRST):
    return db.session.scalars(select(MarkSheet).where(MarkSheet.student_id == student.id,
                                                      MarkSheet.role == role)).first().marker


def test_every_student_gets_a_final_mark_class_and_flags(marking, coordinator):
    failing, near, best = mark_everyone(marking, coordinator, (45, 58, 75))
    # (75 * 45.5 + 15 * 45.5 + 10 * 45) / 100 = 45.45: a fail, listed for moderation.
    assert (failing.final, failing.classification) == (Decimal("45.45"), "Fail")
    assert failing.flags == ["moderation_fail"]
    assert best.classification == "Distinction" and "moderation_distinction" in best.flags
    assert near.flags == ["board_discretion", "moderation_near_boundary"]  # 58.45
    page = results.results_page(marking.cohort, page=1, per_page=50)
    assert [r.student.id for r in page.rows] == [failing.student_id, near.student_id, best.student_id]
    assert all(len(r.agreements) == 3 for r in page.rows)
    assert [r.student.id for r in results.results_page(marking.cohort, page=1, per_page=50,
                                                       flag="moderation_fail").rows] == [failing.student_id]
    assert [r.student.id for r in results.results_page(marking.cohort, page=1, per_page=50,
                                                       klass="Pass").rows] == [near.student_id]
    assert [r.student.name for r in results.results_page(marking.cohort, page=1, per_page=50,
                                                         state="awaiting").rows] == []


@pytest.mark.parametrize("population, percent, minimum, size", [
    (4, 10, 10, 4),      # fewer students than the minimum: all of them
    (200, 10, 10, 20),   # 10% of 200
    (50, 10, 10, 10),    # 10% is 5: the minimum
    (101, 10, 10, 11),   # 10.1 rounds up
    (30, 0, 0, 0),
])
def test_the_sample_size_is_a_percentage_with_a_minimum(population, percent, minimum, size):
    rules = MarkingRules(moderation_sample_percent=percent, moderation_sample_min=minimum)
    assert results.sample_size(rules, population) == size


def test_the_sample_order_is_reproducible_and_a_later_student_reshuffles_nobody(cohort):
    ids = list(range(1, 301))
    order = results.sample_order(cohort, ids)
    assert order == results.sample_order(cohort, list(reversed(ids)))
    assert sorted(order) == ids and order != ids
    # One student more keeps the others in their order.
    assert [s for s in results.sample_order(cohort, ids + [301]) if s != 301] == order


def test_drawing_the_sample_again_gives_the_same_students(marking, coordinator):
    mark_everyone(marking, coordinator)
    set_rules(marking.cohort, moderation_sample_percent=25, moderation_sample_min=2)
    first = results.draw_sample(marking.cohort, by=coordinator)
    db.session.commit()
    assert len(first) == 2
    assert sorted(db.session.scalars(select(Result.student_id).where(Result.in_sample.is_(True)))) == first
    assert results.draw_sample(marking.cohort, by=coordinator) == first
    db.session.commit()
    assert db.session.scalar(select(db.func.count(AuditEvent.id)).where(
        AuditEvent.action == "assessment.sample_drawn")) == 1  # the same sample again changed nothing
    with pytest.raises(NotAllowed):
        results.draw_sample(marking.cohort, by=marking.lee)


def test_no_sample_before_any_final_mark(marking, coordinator):
    with pytest.raises(InvalidState, match="No student has a final mark yet"):
        results.draw_sample(marking.cohort, by=coordinator)


def test_a_moderator_never_moderates_a_student_they_marked(marking, coordinator):
    everyone = mark_everyone(marking, coordinator)
    cohort = marking.cohort
    # A member of staff who marked some of the students but not all of them.
    moderator = next(u for u in (marking.kim, marking.lee, marking.nlp)
                     if 0 < len(results.marked_students(cohort, u)) < len(everyone))
    marked = results.marked_students(cohort, moderator)
    results.set_moderators(cohort, {moderator.id}, by=coordinator)
    db.session.commit()
    theirs = next(r for r in everyone if r.student_id in marked)
    with pytest.raises(NotAllowed, match="You marked this student's work"):
        results.moderate(theirs, decision=results.CONFIRM, mark=None, reason="Looks right.", by=moderator)
    other = next(r for r in everyone if r.student_id not in marked)
    results.moderate(other, decision=results.CONFIRM, mark=None, reason="Consistent with the sheets.", by=moderator)
    db.session.commit()
    assert other.moderated_by_id == moderator.id and other.moderated_final is None
    assert results.moderation_of(other) == "confirmed"


def test_staff_not_named_do_not_moderate(marking, coordinator):
    everyone = mark_everyone(marking, coordinator)
    staff = next(u for u in (marking.nlp, marking.kim, marking.lee)
                 if len(results.marked_students(marking.cohort, u)) < len(everyone))
    student = next(r for r in everyone if r.student_id not in results.marked_students(marking.cohort, staff))
    with pytest.raises(NotAllowed, match="moderators they named"):
        results.moderate(student, decision=results.CONFIRM, mark=None, reason="Fine.", by=staff)
    results.set_moderators(marking.cohort, {staff.id}, by=coordinator)
    db.session.commit()
    results.moderate(student, decision=results.CONFIRM, mark=None, reason="Fine.", by=staff)
    with pytest.raises(NotAllowed):
        results.set_moderators(marking.cohort, set(), by=staff)


def test_an_adjusted_mark_takes_the_class_of_its_own_mark_and_is_audited(marking, coordinator):
    cat = mark_everyone(marking, coordinator, (68, 68, 68))[0]
    rules = results.engine_rules(marking.cohort, results.components_of(marking.cohort), results.rules_of(marking.cohort))
    assert cat.classification == "Merit"
    with pytest.raises(ValidationFailed, match="Give the reason"):
        results.moderate(cat, decision=results.ADJUST, mark=Decimal("70"), reason="  ", by=coordinator)
    with pytest.raises(ValidationFailed, match="Give the adjusted final mark"):
        results.moderate(cat, decision=results.ADJUST, mark=None, reason="Under-credited.", by=coordinator)
    results.moderate(cat, decision=results.ADJUST, mark=Decimal("70.00"), reason="The evaluation was under-credited.",
                     by=coordinator)
    db.session.commit()
    assert cat.final != Decimal("70.00") and cat.moderated_final == Decimal("70.00")
    assert results.final_of(cat) == Decimal("70.00") and results.class_of(cat, rules) == "Distinction"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assessment.moderated")).one()
    assert "to 70.00 (Distinction)" in event.summary and "under-credited" in event.summary
    # Confirming instead takes the adjustment back: the engine's mark counts again.
    results.moderate(cat, decision=results.CONFIRM, mark=None, reason="On reflection, as marked.", by=coordinator)
    db.session.commit()
    assert results.final_of(cat) == cat.final and results.class_of(cat, rules) == "Merit"


def test_no_moderation_without_a_final_mark(marking, coordinator):
    services.open_marking(marking.components["independence"], by=coordinator)
    sheet = db.session.scalars(select(MarkSheet)).first()
    services.save_sheet(sheet, [services.CriterionEntry(c.id, None, Decimal(60), "") for c in
                                sheet.rubric.criteria_for(FIRST)], overall_comment="Fine.", private_note="",
                        by=sheet.marker)
    services.submit_sheet(sheet, by=sheet.marker)
    db.session.commit()
    result = db.session.scalars(select(Result)).one()
    with pytest.raises(InvalidState, match="no final mark yet"):
        results.moderate(result, decision=results.CONFIRM, mark=None, reason="Fine.", by=coordinator)


def test_release_is_refused_without_an_exam_board_date_and_before_it(marking, coordinator):
    mark_everyone(marking, coordinator)
    with pytest.raises(InvalidState, match="exam-board date is not set"):
        results.release(marking.cohort, by=coordinator)
    set_rules(marking.cohort, exam_board_on=date(2027, 10, 20))
    with pytest.raises(InvalidState, match="on or after the exam board of 20 October 2027"):
        results.release(marking.cohort, by=coordinator)
    with clock.frozen(datetime(2027, 10, 19, 22, 59, tzinfo=timezone.utc)):  # 23:59 in London: the day before
        assert results.release_refused_because(marking.cohort)
    with clock.frozen(datetime(2027, 10, 19, 23, 0, tzinfo=timezone.utc)):  # midnight in London
        assert results.release_refused_because(marking.cohort) is None
    with clock.frozen(datetime(2027, 10, 20, 9, tzinfo=timezone.utc)):
        with pytest.raises(NotAllowed):
            results.release(marking.cohort, by=marking.lee)
    assert db.session.scalar(select(db.func.count(Result.id)).where(Result.state == "released")) == 0


def test_release_tells_each_student_and_only_final_marks_are_released(marking, coordinator):
    ann, cat, dan = mark_everyone(marking, coordinator)
    # Ann's report sheet is reopened: she has no final mark now.
    sheet = db.session.scalars(select(MarkSheet).where(MarkSheet.student_id == ann.student_id,
                                                       MarkSheet.component_id == marking.components["report"].id,
                                                       MarkSheet.role == FIRST)).one()
    services.reopen_sheet(sheet, reason="Checking a mark.", by=coordinator)
    set_rules(marking.cohort, exam_board_on=date(2027, 10, 20))
    with clock.frozen(datetime(2027, 10, 20, 9, tzinfo=timezone.utc)):
        with pytest.raises(InvalidState, match=f"{ann.student.name} has no final mark yet"):
            results.release(marking.cohort, by=coordinator, student=ann.student)
        assert results.release(marking.cohort, by=coordinator, student=cat.student) == 1
        assert results.release(marking.cohort, by=coordinator) == 1  # Dan; Cat's is out already
        assert results.release(marking.cohort, by=coordinator) == 0
        db.session.commit()
    assert [r.state for r in (ann, cat, dan)] == ["provisional", "released", "released"]
    told = db.session.scalars(select(Notification.user_id).where(Notification.message.like("%results%released%"))).all()
    assert sorted(told) == sorted([cat.student_id, dan.student_id])
    assert db.session.scalar(select(db.func.count(AuditEvent.id)).where(
        AuditEvent.action == "assessment.result_released")) == 2
    # A released result is moderated no more.
    with pytest.raises(InvalidState, match="released"):
        results.moderate(cat, decision=results.CONFIRM, mark=None, reason="Late check.", by=coordinator)


def test_a_student_reads_nothing_before_release_and_never_a_private_note(marking, coordinator):
    cat = mark_everyone(marking, coordinator)[1]
    before = results.released_results(marking.cohort, cat.student)
    assert not before.released and before.final is None and before.components == []
    set_rules(marking.cohort, exam_board_on=date(2027, 10, 20))
    with clock.frozen(datetime(2027, 10, 21, 9, tzinfo=timezone.utc)):
        results.release(marking.cohort, by=coordinator, student=cat.student)
        db.session.commit()
    mine = results.released_results(marking.cohort, cat.student)
    assert mine.released and mine.final == cat.final and mine.classification == cat.classification
    assert [p.component.key for p in mine.components] == ["report", "poster", "independence"]
    report = mine.components[0]
    assert [f.role for f in report.feedback] == ["first", "second"]
    assert report.feedback[0].overall == "Overall, from the first marker."
    assert report.feedback[0].criteria[0] == ("Aims, context and literature",
                                              "Aims, context and literature: first marker's comment.")
    assert PRIVATE not in repr(mine)


def test_a_moderation_that_no_longer_stands_is_cleared_and_released_marks_never_change(marking, coordinator):
    ann, cat, dan = mark_everyone(marking, coordinator)
    results.moderate(cat, decision=results.CONFIRM, mark=None, reason="As marked.", by=coordinator)
    db.session.commit()
    sheet = db.session.scalars(select(MarkSheet).where(MarkSheet.student_id == cat.student_id,
                                                       MarkSheet.component_id == marking.components["report"].id,
                                                       MarkSheet.role == FIRST)).one()
    # A sheet reopened after moderation: the result changes, so the moderation is cleared, said in the log.
    services.reopen_sheet(sheet, reason="A criterion mark was mistyped.", by=coordinator)
    db.session.commit()
    db.session.refresh(cat)
    assert cat.final is None and cat.moderated_at is None
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assessment.result_changed")
                               .order_by(AuditEvent.id.desc())).first()
    assert "moderation no longer stands" in event.summary
    # After release, no sheet of the student reopens.
    set_rules(marking.cohort, exam_board_on=date(2027, 10, 20))
    with clock.frozen(datetime(2027, 10, 20, 9, tzinfo=timezone.utc)):
        results.release(marking.cohort, by=coordinator, student=dan.student)
        db.session.commit()
        dans = db.session.scalars(select(MarkSheet).where(MarkSheet.student_id == dan.student_id,
                                                          MarkSheet.role == FIRST)).first()
        with pytest.raises(InvalidState, match="results were released on 20 Oct 2027"):
            services.reopen_sheet(dans, reason="Too late.", by=coordinator)
