"""The day before a poster day: each assessor is sent their posters of that day, each student their
slot, from the published schedule only; once per person and day, from 08:00 the day before (the
cohort's zone) and never once the day has started; a poster moved after the reminder sends the day
again to those whose slots changed, and only to them; candidate numbers to assessors who do not
supervise the student in an anonymous cohort; the same queries for four posters and for sixteen."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from projectflow.core import clock, mail, outbox
from projectflow.extensions import db
from projectflow.posters import schedules
from projectflow.posters.models import PosterSlot
from projectflow.posters.schedules import Target
from projectflow.reminders import poster_day as poster_rules
from projectflow.reminders import rules
from tests.page_tour import statements_of
from tests.posters.conftest import allocated, june, poster_days  # noqa: F401 (fixtures)
from tests.posters.test_mine import made, publish, slot_of

# The poster day is Tue 14 Sep 2027 in London (BST, UTC+1): 08:00 the day before is 07:00 UTC.
EVE = datetime(2027, 9, 13, 7, tzinfo=timezone.utc)
DAY_STARTS = datetime(2027, 9, 13, 23, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _mail(smtp_server):
    """Building the cohort tells people by e-mail: the real SMTP server takes it."""
    return smtp_server


@pytest.fixture
def published(allocated, poster_days):  # noqa: F811
    return publish(made(allocated.cohort, allocated.coordinator), allocated.coordinator)


def run_at(moment) -> int:
    """One scheduler pass; how many poster-day messages it made."""
    def count():
        return db.session.scalar(select(db.func.count(outbox.OutboxMessage.id)).where(
            outbox.OutboxMessage.kind == "poster_day"))
    before = count()
    with clock.frozen(moment):
        assert rules.send_reminders()[2] == 0
    return count() - before


def mails_to(smtp_server, person):
    return [(m["Subject"], m.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n"))
            for m in smtp_server.messages if m["To"] == person.email and "poster" in m["Subject"]
            and "tomorrow" in m["Subject"]]


def assessors(schedule):
    return {uid for people in schedules.assessors_of(schedule).values() for uid in people}


def test_each_person_is_sent_their_day_once_from_eight_the_evening_before(allocated, published, smtp_server):
    c, schedule = allocated, published
    people = assessors(schedule)
    assert c.co.id not in people  # a co-supervisor who assesses nothing is sent nothing
    assert run_at(EVE - timedelta(minutes=1)) == 0  # 07:59 in London
    assert run_at(EVE) == len(c.students) + len(people)
    assert run_at(EVE + timedelta(minutes=1)) == 0
    assert run_at(EVE + timedelta(hours=12)) == 0
    assert run_at(DAY_STARTS + timedelta(hours=10)) == 0  # the day itself: nothing
    ann = c.students[0]
    slot = slot_of(schedule, ann)
    local = slot.starts_at.astimezone(c.cohort.zone)
    (subject, body), = mails_to(smtp_server, ann)
    assert subject == "projectflow: your poster slot tomorrow"
    assert f"Your poster tomorrow, Tue 14 Sep 2027 ({c.cohort.title}): {local:%H:%M}–" in body
    assert f"in {slot.room.name}, board {slot.board}, assessed by " in body
    assert f"/cohorts/{c.cohort.id}/posters/mine" in body
    # Each assessor: their posters of the day, as many as the schedule gives them, in London time.
    panels = schedules.assessors_of(schedule)
    for person in (c.lee, c.kim, c.poe):
        theirs = [s for s in schedules.slots_of(schedule) if person.id in panels.get(s.student_id, ())]
        (subject, body), = mails_to(smtp_server, person)
        count = f"{len(theirs)} poster{'s' if len(theirs) != 1 else ''}"
        assert subject == "projectflow: the posters you assess tomorrow"
        assert f"Tomorrow, Tue 14 Sep 2027 ({c.cohort.title}), you assess {count}: " in body
        for s in theirs:
            assert f"{s.starts_at.astimezone(c.cohort.zone):%H:%M}–" in body and f"board {s.board}:" in body


def test_nothing_once_the_day_has_started_even_after_a_scheduler_down_all_evening(allocated, published,
                                                                                   smtp_server):
    assert run_at(DAY_STARTS - timedelta(minutes=1)) > 0  # 23:59 in London: still the day before
    db.session.execute(outbox.OutboxMessage.__table__.delete())
    db.session.commit()
    assert run_at(DAY_STARTS) == 0  # midnight in London
    assert run_at(DAY_STARTS + timedelta(hours=9)) == 0


def test_a_schedule_not_published_sends_nothing(allocated, poster_days, smtp_server):  # noqa: F811
    made(allocated.cohort, allocated.coordinator)  # solved, under review
    assert run_at(EVE + timedelta(hours=1)) == 0


def test_assessors_who_do_not_supervise_read_candidate_numbers(allocated, published, smtp_server):
    c, schedule = allocated, published
    from projectflow.cohorts.models import Enrolment

    assert c.cohort.marks_anonymously
    run_at(EVE)
    panels = schedules.assessors_of(schedule)
    supervisor_of = {s.id: (c.lee if i < 2 else c.kim) for i, s in enumerate(c.students)}
    checked = 0
    for student in c.students:
        number = db.session.scalar(select(Enrolment.candidate_number).where(
            Enrolment.cohort_id == c.cohort.id, Enrolment.user_id == student.id))
        for uid in panels[student.id]:
            person = next(p for p in (c.lee, c.kim, c.poe) if p.id == uid)
            (_, body), = mails_to(smtp_server, person)
            if person.id == supervisor_of[student.id].id:
                assert student.name in body
            else:
                assert f"Candidate {number}" in body and student.name not in body
                checked += 1
    assert checked >= len(c.students)  # every poster has an assessor who is not its supervisor


def test_a_poster_moved_after_the_reminder_sends_the_day_again_to_those_it_changes(allocated, published,
                                                                                   smtp_server):
    c, schedule = allocated, published
    _, afternoon = poster_days_of(schedule)
    run_at(EVE)
    ann = c.students[0]
    before = slot_of(schedule, ann)
    step = timedelta(minutes=15)
    target = next(t for k in range(8) for room in afternoon.rooms
                  if (t := Target(afternoon.id, room.id, afternoon.starts_at + k * step)).starts_at != before.starts_at
                  and schedules.check_change(schedule, ann, t).ok)
    with clock.frozen(EVE + timedelta(hours=2)):
        schedules.change(schedule, ann, target, by=c.coordinator)
        db.session.commit()
        mail.discard_queued()
    moved_for = {ann.id, *schedules.assessors_of(schedule)[ann.id]}
    assert run_at(EVE + timedelta(hours=3)) == len(moved_for)
    assert run_at(EVE + timedelta(hours=4)) == 0
    again = db.session.scalars(select(outbox.OutboxMessage).where(outbox.OutboxMessage.kind == "poster_day")
                               .order_by(outbox.OutboxMessage.id)).all()[-len(moved_for):]
    assert {r.user_id for r in again} == moved_for
    assert all(r.subject.endswith("(changed)") for r in again)
    subject, body = mails_to(smtp_server, ann)[-1]
    moved = db.session.scalar(select(PosterSlot).where(PosterSlot.schedule_id == schedule.id,
                                                       PosterSlot.student_id == ann.id))
    assert body.startswith(f"Hello {ann.name},\n\nChanged since our last message. Your poster tomorrow")
    assert f"{moved.starts_at.astimezone(c.cohort.zone):%H:%M}–" in body


def poster_days_of(schedule):
    from projectflow.posters.models import PosterSession

    return db.session.scalars(select(PosterSession).where(PosterSession.cohort_id == schedule.cohort_id)
                              .order_by(PosterSession.starts_at)).all()


def test_the_same_queries_for_four_posters_as_for_sixteen(make, allocated, published, smtp_server):
    c, schedule = allocated, published
    small = statements_of(lambda: list(poster_rules.poster_day(EVE)))
    # Twelve more students, their posters on the morning's free boards, assessed by the three.
    morning, _ = poster_days_of(schedule)
    room = morning.rooms[0]
    taken = {s.board for s in schedules.slots_of(schedule) if s.room_id == room.id}
    boards = [b for b in range(1, room.boards + 1) if b not in taken][:12]
    problem = dict(schedule.problem)
    posters = list(problem["posters"])
    trio = (c.lee, c.kim, c.poe)
    with clock.frozen(datetime(2027, 6, 1, tzinfo=timezone.utc)):
        for i, board in enumerate(boards):
            student = make.student(c.cohort, name=f"Extra Student {i}")
            db.session.add(PosterSlot(schedule_id=schedule.id, student_id=student.id, session_id=morning.id,
                                      room_id=room.id, board=board, starts_at=morning.starts_at,
                                      ends_at=morning.starts_at + timedelta(minutes=15)))
            posters.append({**posters[0], "id": f"P{student.id}",
                            "assessors": [f"u{trio[i % 3].id}", f"u{trio[(i + 1) % 3].id}"]})
    problem["posters"] = posters
    schedule.problem = problem
    db.session.commit()
    assert len(schedules.slots_of(schedule)) == 16
    found = list(poster_rules.poster_day(EVE))
    assert len(found) == 16 + 3
    large = statements_of(lambda: list(poster_rules.poster_day(EVE)))
    assert large == small, (small, large)
    assert large <= 9


def _days(schedule) -> dict[int, set[tuple]]:
    """Person id -> what the schedule gives them on the poster day (their own poster, or those they assess)."""
    panels = schedules.assessors_of(schedule)
    found: dict[int, set[tuple]] = {}
    for s in schedules.slots_of(schedule):
        where = (s.student_id, s.starts_at, s.room.name, s.board, panels.get(s.student_id, ()))
        for uid in (s.student_id, *panels.get(s.student_id, ())):
            found.setdefault(uid, set()).add(where)
    return found


def test_another_schedule_published_after_the_reminder_tells_only_those_whose_day_it_changes(
        allocated, published, smtp_server):
    c = allocated
    run_at(EVE)
    first = _days(published)
    with clock.frozen(EVE + timedelta(hours=1)):
        second = made(c.cohort, c.coordinator)
        _, afternoon = poster_days_of(second)
        ann = c.students[0]
        before = slot_of(second, ann)
        step = timedelta(minutes=15)
        target = next(t for k in range(8) for room in afternoon.rooms
                      if (t := Target(afternoon.id, room.id, afternoon.starts_at + k * step)).starts_at
                      != before.starts_at and schedules.check_change(second, ann, t).ok)
        schedules.change(second, ann, target, by=c.coordinator)
        db.session.commit()
        publish(second, c.coordinator)
    changed = {uid for uid, day in _days(second).items() if first.get(uid) != day}
    assert ann.id in changed and len(changed) < len(first)  # some people's day is as it was
    run_at(EVE + timedelta(hours=2))
    again = db.session.scalars(select(outbox.OutboxMessage).where(
        outbox.OutboxMessage.kind == "poster_day", outbox.OutboxMessage.key.like("%:n2:%"))).all()
    assert {r.user_id for r in again} == changed
    assert all(r.subject.endswith("(changed)") for r in again)
