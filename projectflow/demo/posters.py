"""The demo's poster days: this year's cohort presents its posters on two days in September of its
second year, a morning and an afternoon session each, with their rooms. The availability window is
open: a few members of staff have answered, and one student's declaration waits for the coordinator."""

from __future__ import annotations

import random
from datetime import date, time, timedelta

from ..cohorts.models import Cohort
from ..core.calendar import local_deadline
from ..people.models import User
from ..posters import services
from ..posters.services import RoomValues, SessionValues, StudentAnswer

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
    services.open_window(cohort, closes_at=local_deadline(date(year, 7, 30), time(17), cohort.zone), by=coordinator)
    staff = sorted((s.member for s in cohort.staff if not s.is_coordinator), key=lambda u: u.id)
    answered = 0
    for i, person in enumerate(staff[:8]):
        # The demo's own member of staff (the first) would rather not come on the last afternoon.
        answers = ({sessions[-1].id: "if_needed"} if i == 0 else
                   {rng.choice(sessions).id: rng.choice(["unavailable", "unavailable", "if_needed"])})
        answered += services.save_staff_availability(cohort, person, answers, by=person)
    student = min((e.student for e in cohort.enrolments), key=lambda u: u.id)
    services.save_student_declarations(cohort, student, {sessions[1].id: StudentAnswer(
        True, "I sit a resit exam of another module that afternoon (timetable attached to my e-mail).")}, by=student)
    return {"sessions": len(sessions), "staff_answers": answered, "declarations": 1}
