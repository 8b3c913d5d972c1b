"""A cohort whose allocation and second markers are published, ready for its poster days: three
members of staff, four students, each student's poster assessed by a supervisor and a second marker.

Built in November of the cohort's year; the tests run in June, before the poster days of September.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

import pytest

from projectflow.core import clock, jobs, mail
from projectflow.extensions import db
from projectflow.matching import second_markers
from projectflow.matching import services as matching
from projectflow.posters import availability, services
from projectflow.posters.services import RoomValues, SessionValues

JUNE = datetime(2027, 6, 1, 10, tzinfo=timezone.utc)
POSTER_DAY = date(2027, 9, 14)  # a Tuesday, in British Summer Time (UTC+1)


@dataclass
class Poster:
    cohort: object
    coordinator: object
    lee: object
    kim: object
    poe: object
    co: object  # co-supervises Lee's project: not an assessor by default
    students: list

    def poster_of(self, student):
        return next(p for p in services.posters(self.cohort) if p.student.id == student.id)


@pytest.fixture(autouse=True)
def _mail(smtp_server):
    """Opening the window tells the cohort by e-mail: a real SMTP server takes it."""
    return smtp_server


@pytest.fixture
def allocated(make, cohort, coordinator) -> Poster:
    return build_allocated(make, cohort, coordinator)


def build_allocated(make, cohort, coordinator) -> Poster:
    """The cohort of this module's docstring (the browser tests build it too)."""
    with clock.frozen(datetime(2026, 11, 20, 9, tzinfo=timezone.utc)):
        cohort.min_preferences = 1
        db.session.commit()
        lee = make.staff(cohort, name="Dr Lee", max_load=3, expertise=("graphs",))
        kim = make.staff(cohort, name="Dr Kim", max_load=3, expertise=("graphs",))
        poe = make.staff(cohort, name="Dr Poe", max_load=3, expertise=("graphs",))
        co = make.staff(cohort, name="Dr Co", max_load=0, expertise=("graphs",))
        first = make.project(cohort, owner=lee, title="Graph transformers", capacity=2, keywords=["graphs"],
                             co_supervisors=[co])
        second = make.project(cohort, owner=kim, title="Protein folding", capacity=2, keywords=["graphs"])
        students = [make.student(cohort, name=n) for n in ("Ann Student", "Ben Student", "Cat Student", "Dan Student")]
        for i, s in enumerate(students):
            make.preferences(cohort, s, [first, second] if i < 2 else [second, first])
        run = matching.start_run(cohort, objective="min-cost", by=coordinator)
        db.session.commit()
        assert jobs.run_pending() >= 1
        db.session.refresh(run)
        matching.publish_run(run, by=coordinator)
        second_markers.assign_second_markers(cohort, by=coordinator)
        second_markers.publish_second_markers(cohort, by=coordinator)
        mail.discard_queued()
        db.session.commit()
    return Poster(cohort, coordinator, lee, kim, poe, co, students)


@pytest.fixture
def june():
    with clock.frozen(JUNE):
        yield JUNE


def session_values(day: date = POSTER_DAY, starts: time = time(10), ends: time = time(12),
                   rooms=(("Atrium", 20),)) -> SessionValues:
    return SessionValues(day, starts, ends, tuple(RoomValues(None, name, boards) for name, boards in rooms))


@pytest.fixture
def poster_days(allocated, june):
    """Two sessions on the first poster day (morning: two rooms; afternoon: one), the window open."""
    c = allocated
    morning = services.add_session(c.cohort, session_values(rooms=(("Atrium", 20), ("Room 2.14", 10))),
                                   by=c.coordinator)
    afternoon = services.add_session(c.cohort, session_values(starts=time(14), ends=time(16)), by=c.coordinator)
    availability.open_window(c.cohort, closes_at=datetime(2027, 7, 30, 16, tzinfo=timezone.utc), by=c.coordinator)
    mail.discard_queued()
    db.session.commit()
    return morning, afternoon
