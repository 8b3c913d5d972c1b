"""The demo's poster days: this year's cohort presents its posters on two days in September of its
second year, a morning and an afternoon session each, with their rooms. The availability window is
open: a few members of staff have answered, and one student's declaration waits for the coordinator."""

from __future__ import annotations

import random
from datetime import date, time, timedelta

from ..cohorts.models import Cohort
from ..core.calendar import local_deadline
from ..people.models import User
from ..posters import availability, services
from ..posters.availability import StudentAnswer
from ..posters.services import RoomValues, SessionValues

MORNING = (time(10), time(12, 30), (("Atrium", 24), ("Seminar room 2.14", 12)))
AFTERNOON = (time(14), time(16, 30), (("Atrium", 24),))


def add_poster_days(cohort: Cohort, coordinator: User, rng: random.Random) -> dict[str, int]:
    """Two poster days (the Tuesday and Wednesday after the poster deadline), the window open until the
    end of July, some staff answers and one student's declaration."""
    year = cohort.academic_year + 1
    tuesday = date(year, 9, 13) + timedelta(days=(1 - date(year, 9, 13).weekday()) % 7)
    sessions = []
    for day in (tuesday, tuesday + timedelta(days=1)):
        for starts, ends, rooms in (MORNING, AFTERNOON):
            sessions.append(services.add_session(
                cohort, SessionValues(day, starts, ends, tuple(RoomValues(None, n, b) for n, b in rooms)),
                by=coordinator))
    availability.open_window(cohort, closes_at=local_deadline(date(year, 7, 30), time(17), cohort.zone), by=coordinator)
    staff = sorted((s.member for s in cohort.staff if not s.is_coordinator), key=lambda u: u.id)
    answered = 0
    for i, person in enumerate(staff[:8]):
        # The demo's own member of staff (the first) would rather not come on the last afternoon.
        answers = ({sessions[-1].id: "if_needed"} if i == 0 else
                   {rng.choice(sessions).id: rng.choice(["unavailable", "unavailable", "if_needed"])})
        answered += availability.save_staff_availability(cohort, person, answers, by=person)
    student = min((e.student for e in cohort.enrolments), key=lambda u: u.id)
    availability.save_student_declarations(cohort, student, {sessions[1].id: StudentAnswer(
        True, "I sit a resit exam of another module that afternoon (timetable attached to my e-mail).")}, by=student)
    return {"sessions": len(sessions), "staff_answers": answered, "declarations": 1}


def add_past_poster_days(cohort: Cohort, coordinator: User, rng: random.Random) -> dict[str, int]:
    """Last year's poster days, in September past: the sessions set in June, the window open for a
    month, a few staff unable to come, three co-supervisors added to their students' poster panels, then
    the schedule made in the job runner and published in July, with one poster moved by hand as a
    coordinator would after a phone call."""
    from datetime import datetime, timezone

    from ..core import clock, jobs
    from ..extensions import db
    from ..posters import schedules

    year = cohort.academic_year + 1
    tuesday = date(year, 9, 13) + timedelta(days=(1 - date(year, 9, 13).weekday()) % 7)
    with clock.frozen(datetime(year, 6, 2, 9, tzinfo=timezone.utc)):
        sessions = [services.add_session(cohort, SessionValues(day, starts, ends, tuple(RoomValues(None, n, b)
                                                                                           for n, b in rooms)),
                                         by=coordinator)
                    for day in (tuesday, tuesday + timedelta(days=1)) for starts, ends, rooms in (MORNING, AFTERNOON)]
        availability.open_window(cohort, closes_at=local_deadline(date(year, 6, 30), time(17), cohort.zone),
                                 by=coordinator)
        staff = sorted((s.member for s in cohort.staff if not s.is_coordinator), key=lambda u: u.id)
        for person in rng.sample(staff, min(6, len(staff))):
            availability.save_staff_availability(cohort, person, {rng.choice(sessions).id: rng.choice(
                ["unavailable", "if_needed"])}, by=person)
        db.session.commit()
    with clock.frozen(datetime(year, 7, 1, 9, tzinfo=timezone.utc)):
        panels = _add_panel_members(cohort, coordinator)
        db.session.commit()
    with clock.frozen(datetime(year, 7, 6, 9, tzinfo=timezone.utc)):
        schedule = schedules.start_schedule(cohort, by=coordinator, seconds=5)
        db.session.commit()
        jobs.run_pending()
        db.session.refresh(schedule)
        review = schedules.review(schedule)
        moved = 0
        for entry in review.entries:  # the first poster that can go one slot later, as asked on the phone
            slot = entry.slot
            later = schedules.Target(slot.session_id, slot.room_id, slot.starts_at + schedules.step_of(schedule))
            if later.starts_at < slot.session.ends_at and schedules.check_change(schedule, slot.student, later).ok:
                schedules.change(schedule, slot.student, later, by=coordinator)
                moved = 1
                break
        schedules.publish_schedule(schedule, by=coordinator)
        db.session.commit()
    return {"sessions": len(sessions), "placed": len(schedules.slots_of(schedule)), "moved": moved,
            "panel_members": panels}


def _add_panel_members(cohort: Cohort, coordinator: User) -> int:
    """Co-supervisors the coordinator adds to their students' poster panels (not assessors by default),
    for the first three posters of a co-supervised project."""
    added = 0
    for poster in services.posters(cohort):
        project = _project_of(cohort, poster.student)
        others = [u for u in (project.co_supervisors if project else []) if u.id not in {a.id for a in poster.assessors}
                  and cohort.staff_member(u) is not None]
        if others:
            services.add_panel_member(cohort, poster.student, others[0], by=coordinator)
            added += 1
            if added == 3:
                break
    return added


def _project_of(cohort: Cohort, student: User):
    from ..matching.services import allocation_of

    allocation = allocation_of(cohort, student)
    return allocation.project if allocation is not None else None
