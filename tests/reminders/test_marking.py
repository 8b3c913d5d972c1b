"""Markers' reminders: a sheet assigned, due in 3 days and in 1, overdue; a reconciliation, a proposed
mark to confirm and a third marking; each once, stopped by a submission, never after a week overdue,
students named by candidate number to second and third markers of an anonymous cohort; queries
independent of the number of sheets."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from projectflow.assessment import reconciliation, services
from projectflow.assessment.models import FIRST, SECOND, Agreement, Component, MarkSheet
from projectflow.cohorts.models import Enrolment
from projectflow.core import clock, outbox
from projectflow.extensions import db
from projectflow.reminders import marking as marking_rules
from projectflow.reminders import rules
from tests.assessment.conftest import SEPTEMBER, marking  # noqa: F401 (fixture)
from tests.assessment.test_sheets import entries
from tests.milestones.conftest import timeline  # noqa: F401 (fixture)
from tests.page_tour import statements_of


def run_at(moment):
    with clock.frozen(moment):
        return rules.send_reminders()


def markers_run_at(moment) -> int:
    """One scheduler pass; how many markers' messages it made (students' deadlines go on around them)."""
    def count():
        return db.session.scalar(select(db.func.count(outbox.OutboxMessage.id)).where(
            outbox.OutboxMessage.kind.in_(("marking", "marking_needed"))))
    before = count()
    failed = run_at(moment)[2]
    assert failed == 0
    return count() - before


def keys_of(sheet_or_agreement, prefix=""):
    """The outbox keys about one sheet (s<id>) or agreement (a<id>), in order."""
    tag = f":{'s' if isinstance(sheet_or_agreement, MarkSheet) else 'a'}{sheet_or_agreement.id}"
    return [k.split(":")[0] for k in db.session.scalars(select(outbox.OutboxMessage.key).where(
        outbox.OutboxMessage.kind.in_(("marking", "marking_needed"))).order_by(outbox.OutboxMessage.id))
        if (tag + ":" in k or k.endswith(tag)) and k.startswith(prefix)]


def mails_to(smtp_server, person):
    return [(m["Subject"], m.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n"))
            for m in smtp_server.messages if m["To"] == person.email]


def open_report(marking, coordinator):
    services.open_marking(marking.components["report"], by=coordinator)
    db.session.commit()
    return db.session.scalars(select(MarkSheet).order_by(MarkSheet.id)).all()


def submit(sheet, mark):
    services.save_sheet(sheet, entries(sheet, [mark] * 5), overall_comment="Overall.", private_note="",
                        by=sheet.marker)
    services.submit_sheet(sheet, by=sheet.marker)
    db.session.commit()


def number_of(cohort, student):
    return db.session.scalar(select(Enrolment.candidate_number).where(Enrolment.cohort_id == cohort.id,
                                                                      Enrolment.user_id == student.id))


def test_a_sheet_is_told_once_when_assigned_then_3_and_1_days_before_then_overdue(marking, coordinator, smtp_server):
    sheets = open_report(marking, coordinator)
    due = sheets[0].due_at
    assert due is not None and all(s.due_at == due for s in sheets)  # nobody has an extension
    assert markers_run_at(SEPTEMBER + timedelta(minutes=1)) == len(sheets)  # one "assigned" per sheet
    assert markers_run_at(SEPTEMBER + timedelta(minutes=2)) == 0
    assert markers_run_at(SEPTEMBER + timedelta(days=3)) == 0
    assert markers_run_at(due - timedelta(days=3, minutes=1)) == 0  # the last minute before the 3-day moment
    assert markers_run_at(due - timedelta(days=3)) == len(sheets)
    assert markers_run_at(due - timedelta(days=2)) == 0
    assert markers_run_at(due - timedelta(hours=23)) == len(sheets)
    assert markers_run_at(due - timedelta(minutes=1)) == 0
    assert markers_run_at(due) == len(sheets)  # overdue from the due moment
    assert markers_run_at(due + timedelta(days=3)) == 0
    assert markers_run_at(due + timedelta(days=8)) == 0
    for sheet in sheets:
        assert keys_of(sheet) == ["marking-assigned", "marking-3d", "marking-1d", "marking-overdue"]
    # What the marker reads: the role, the work, the due moment in the cohort's zone, the link.
    sheet = sheets[0]
    got = mails_to(smtp_server, sheet.marker)
    when = f"{due.astimezone(marking.cohort.zone):%a %d %b %Y %H:%M}"
    assert any(subject.startswith("projectflow: marking due " + when) for subject, _ in got)
    assert any(f"/marking/sheets/{sheet.id}" in body for _, body in got)
    about = [body for _, body in got if f"/marking/sheets/{sheet.id}\n" in body]
    assert len(about) == 4
    assert f"is due {when}: 3 days from now." in about[1] and f"is due {when}: less than a day from now." in about[2]
    assert f"was due {when} and is not submitted" in about[3]


def test_a_submitted_sheet_stops_its_reminders_and_others_go_on(marking, coordinator, smtp_server):
    sheets = open_report(marking, coordinator)
    due = sheets[0].due_at
    run_at(SEPTEMBER + timedelta(minutes=1))
    done, other = sheets[0], sheets[1]
    with clock.frozen(due - timedelta(days=5)):
        submit(done, 65)
    for moment in (due - timedelta(days=3), due - timedelta(hours=20), due + timedelta(hours=2)):
        run_at(moment)
    assert keys_of(done) == ["marking-assigned"]
    assert keys_of(other) == ["marking-assigned", "marking-3d", "marking-1d", "marking-overdue"]


def test_submitted_before_it_was_ever_told_nothing_at_all(marking, coordinator, smtp_server):
    sheets = open_report(marking, coordinator)
    submit(sheets[0], 65)
    run_at(SEPTEMBER + timedelta(minutes=1))
    assert keys_of(sheets[0]) == []
    assert keys_of(sheets[1]) == ["marking-assigned"]


def test_a_scheduler_down_sends_the_latest_moment_only_and_nothing_after_a_week(marking, coordinator, smtp_server):
    sheets = open_report(marking, coordinator)
    due = sheets[0].due_at
    # Down from the day marking opened until half a day before the due moment: the 1-day reminder only
    # (the assignment's week passed; the 3-day moment is replaced by the later one).
    run_at(due - timedelta(hours=12))
    assert keys_of(sheets[0]) == ["marking-1d"]
    # Down again until eight days after: no overdue notice any more.
    run_at(due + timedelta(days=8))
    assert keys_of(sheets[0]) == ["marking-1d"]


def test_second_markers_of_an_anonymous_cohort_read_candidate_numbers(marking, coordinator, smtp_server):
    assert marking.cohort.marks_anonymously
    sheets = open_report(marking, coordinator)
    run_at(SEPTEMBER + timedelta(minutes=1))
    for sheet in sheets:
        number = number_of(marking.cohort, sheet.student)
        mine = [(s, b) for s, b in mails_to(smtp_server, sheet.marker) if f"/marking/sheets/{sheet.id}\n" in b]
        assert len(mine) == 1
        subject, body = mine[0]
        if sheet.role == FIRST:  # the supervisor knows their student
            assert sheet.student.name in subject and sheet.student.name in body
        else:
            assert f"Candidate {number}" in subject and f"Candidate {number}" in body
            assert sheet.student.name not in subject + body
    # A cohort that names its students names them to everyone.
    marking.cohort.marks_anonymously = False
    db.session.commit()
    second = next(s for s in sheets if s.role == SECOND)
    run_at(second.due_at - timedelta(days=3))
    subject, body = [(s, b) for s, b in mails_to(smtp_server, second.marker)
                     if f"/marking/sheets/{second.id}\n" in b][-1]
    assert "due" in subject and second.student.name in subject and "Candidate" not in body


def _disagree(marking, coordinator, student_index=0, marks=(60, 67)):
    sheets = [s for s in open_report(marking, coordinator)]
    student_id = sorted({s.student_id for s in sheets if s.role == SECOND})[student_index]
    one = next(s for s in sheets if s.student_id == student_id and s.role == FIRST)
    two = next(s for s in sheets if s.student_id == student_id and s.role == SECOND)
    submit(one, marks[0])
    submit(two, marks[1])
    agreement = db.session.scalars(select(Agreement).where(Agreement.student_id == student_id)).one()
    return one, two, agreement


def test_a_reconciliation_a_proposal_and_a_third_marking_each_tell_who_they_wait_for_once(
        marking, coordinator, smtp_server):
    one, two, agreement = _disagree(marking, coordinator)
    assert agreement.state == "in_reconciliation"
    run_at(SEPTEMBER + timedelta(minutes=1))
    run_at(SEPTEMBER + timedelta(hours=1))
    assert keys_of(agreement) == ["marking-reconcile", "marking-reconcile"]
    users = {r.user_id for r in db.session.scalars(select(outbox.OutboxMessage).where(
        outbox.OutboxMessage.key.like("marking-reconcile:%"))) if r.key.startswith("marking-reconcile")}
    assert users == {one.marker_id, two.marker_id}
    subject, body = [m for m in mails_to(smtp_server, two.marker) if "reconcile" in m[0]][0]
    number = number_of(marking.cohort, one.student)
    assert f"Candidate {number}" in subject and one.student.name not in body
    assert f"/marking/agreements/{agreement.id}" in body
    # The first marker proposes: only the second has something to do now.
    with clock.frozen(SEPTEMBER + timedelta(hours=2)):
        reconciliation.propose(agreement, Decimal(63), "Strong method, thin evaluation.", by=one.marker)
        db.session.commit()
    run_at(SEPTEMBER + timedelta(hours=3))
    run_at(SEPTEMBER + timedelta(hours=4))
    confirm = [r for r in db.session.scalars(select(outbox.OutboxMessage).where(
        outbox.OutboxMessage.key.like("marking-confirm:%")))]
    assert [r.user_id for r in confirm] == [two.marker_id]
    assert "63.00" in outbox.text_of(confirm[0])
    # The second cannot agree: the coordinator appoints a third marker, who is told once, by number.
    with clock.frozen(SEPTEMBER + timedelta(hours=5)):
        reconciliation.cannot_agree(agreement, "We read the contribution differently.", by=two.marker)
        db.session.commit()
    run_at(SEPTEMBER + timedelta(hours=6))
    assert keys_of(agreement) == ["marking-reconcile", "marking-reconcile", "marking-confirm"]
    db.session.refresh(agreement)
    third_marker = db.session.get(type(one.marker), agreement.third_marker_proposed_id)
    with clock.frozen(SEPTEMBER + timedelta(hours=7)):
        third = reconciliation.appoint_third_marker(agreement, third_marker, by=coordinator)
        db.session.commit()
    run_at(SEPTEMBER + timedelta(hours=8))
    run_at(SEPTEMBER + timedelta(hours=9))
    assert keys_of(third) == ["marking-third"]  # a need, not also an assignment
    subject, body = [m for m in mails_to(smtp_server, third_marker) if "third marking" in m[0]][0]
    assert f"Candidate {number}" in subject + body and one.student.name not in subject + body
    # Submitted: no more about it, not even its due reminders.
    with clock.frozen(SEPTEMBER + timedelta(hours=10)):
        services.save_sheet(third, entries(third, [62] * 4), overall_comment="Third view.", private_note="",
                            by=third_marker)
        services.submit_sheet(third, by=third_marker)
        db.session.commit()
    run_at(third.due_at - timedelta(hours=12))
    run_at(third.due_at + timedelta(hours=1))
    assert keys_of(third) == ["marking-third"]


def test_a_need_that_is_over_before_the_scheduler_looks_is_not_sent(marking, coordinator, smtp_server):
    one, two, agreement = _disagree(marking, coordinator)
    with clock.frozen(SEPTEMBER + timedelta(hours=1)):
        reconciliation.propose(agreement, Decimal(63), "Strong method.", by=one.marker)
        reconciliation.confirm(agreement, by=two.marker)
        db.session.commit()
    run_at(SEPTEMBER + timedelta(hours=2))
    assert keys_of(agreement) == []


def test_the_rules_take_as_many_queries_for_many_sheets_as_for_few(marking, coordinator, smtp_server):
    now = SEPTEMBER + timedelta(minutes=1)
    _disagree(marking, coordinator, 0)
    few = db.session.scalar(select(db.func.count(MarkSheet.id)))
    components = {key: c.id for key, c in marking.components.items()}
    db.session.remove()  # a cold session, as the scheduler's pass has
    small = (statements_of(lambda: list(marking_rules.marking_sheets(now))),
             statements_of(lambda: list(marking_rules.marking_needed(now))))
    coordinator = db.session.merge(coordinator)
    marking.components = {key: db.session.get(Component, cid) for key, cid in components.items()}
    for key in ("poster", "independence"):
        services.open_marking(marking.components[key], by=coordinator)
    db.session.commit()
    one, two, _ = _disagree(marking, coordinator, 1, marks=(55, 66))  # straight to a third marker
    reconciliation.appoint_third_marker(db.session.scalars(select(Agreement).where(
        Agreement.student_id == one.student_id, Agreement.component_id == one.component_id)).one(),
        db.session.get(type(one.marker), db.session.scalars(select(Agreement.third_marker_proposed_id).where(
            Agreement.student_id == one.student_id, Agreement.component_id == one.component_id)).one()),
        by=coordinator)
    db.session.commit()
    many = db.session.scalar(select(db.func.count(MarkSheet.id)))
    assert many >= 2 * few
    db.session.remove()
    large = (statements_of(lambda: list(marking_rules.marking_sheets(now))),
             statements_of(lambda: list(marking_rules.marking_needed(now))))
    assert large == small, (small, large)
    assert max(large) <= 5


def test_a_sheet_reassigned_once_overdue_is_told_to_its_new_marker_once_and_the_old_one_stops(
        marking, coordinator, smtp_server):
    sheets = open_report(marking, coordinator)
    due = sheets[0].due_at
    run_at(due + timedelta(hours=1))
    late = next(s for s in sheets if s.role == SECOND)
    assert keys_of(late) == ["marking-overdue"]
    markers = {s.marker_id for s in sheets if s.student_id == late.student_id}
    newcomer = next(u for u in (marking.lee, marking.kim, marking.nlp) if u.id not in markers)
    with clock.frozen(due + timedelta(days=1)):
        fresh = services.reassign_sheet(late, newcomer, reason="Dr away", by=coordinator)
        db.session.commit()
    for moment in (due + timedelta(days=1, minutes=1), due + timedelta(days=2), due + timedelta(days=9)):
        run_at(moment)
    assert keys_of(fresh) == ["marking-assigned"]  # the assignment says it is late: no overdue notice too
    assert keys_of(late) == ["marking-overdue"]
    subject, body = [m for m in mails_to(smtp_server, newcomer) if f"/marking/sheets/{fresh.id}\n" in m[1]][0]
    assert "it is late already, so as soon as you can" in body
