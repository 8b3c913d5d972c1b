"""Cohorts: creating and editing them, and who takes part."""

from __future__ import annotations

import random
from datetime import date, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from ..core import audit, clock, once
from ..core.errors import ValidationFailed
from ..extensions import db
from ..people.models import User
from .models import Cohort, CohortStaff, Enrolment

COHORT_FIELDS = ["programme_name", "programme_code", "academic_year", "timezone",
                 "part_time_start", "part_time_end", "full_time_start", "full_time_end", "marks_anonymously",
                 "reminder_days"]
DEFAULT_REMINDER_DAYS = [14, 7, 2, 1]
MAX_REMINDER_DAYS, MAX_REMINDERS = 60, 6

# Candidate numbers are six digits, drawn at random so they reveal nothing about the student.
CANDIDATE_RANGE = range(100000, 1000000)
_random = random.SystemRandom()


def _weekday_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def default_phase_dates(academic_year: int) -> dict[str, date]:
    """The typical year of DESIGN.md: part-time from the second week of January to late May,
    full-time from the last Monday of May to mid-September (of the calendar year after the start)."""
    y = academic_year + 1
    last_monday_of_may = _weekday_on_or_after(date(y, 5, 25), 0)
    return {
        "part_time_start": _weekday_on_or_after(date(y, 1, 8), 0),
        "part_time_end": last_monday_of_may - timedelta(days=3),
        "full_time_start": last_monday_of_may,
        "full_time_end": _weekday_on_or_after(date(y, 9, 8), 4),
    }


def reminder_days_problem(days: list[int]) -> str | None:
    """What is wrong with a cohort's reminder days (before each deadline), or None."""
    if not days:
        return "Give at least one day: students are always reminded before a deadline, e.g. 14, 7, 2, 1."
    if len(days) > MAX_REMINDERS:
        return f"At most {MAX_REMINDERS} reminders before a deadline."
    if any(not isinstance(d, int) or not 1 <= d <= MAX_REMINDER_DAYS for d in days):
        return f"Each reminder is between 1 and {MAX_REMINDER_DAYS} days before the deadline."
    return None


def check_cohort_values(values: dict, *, cohort: Cohort | None = None) -> None:
    """Raise ValidationFailed(field: message) for values a cohort cannot have."""
    problem = reminder_days_problem(values["reminder_days"])
    if problem:
        raise ValidationFailed(problem)
    values["reminder_days"] = sorted(set(values["reminder_days"]), reverse=True)
    try:
        ZoneInfo(values["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"Unknown timezone {values['timezone']!r}; use a name such as Europe/London.")
    if not values["part_time_start"] < values["part_time_end"]:
        raise ValidationFailed("The part-time phase must end after it starts.")
    if not values["part_time_end"] <= values["full_time_start"]:
        raise ValidationFailed("The full-time phase starts once the part-time phase has ended.")
    if not values["full_time_start"] < values["full_time_end"]:
        raise ValidationFailed("The full-time phase must end after it starts.")
    clash = db.session.scalar(select(Cohort).where(
        Cohort.programme_code == values["programme_code"],
        Cohort.academic_year == values["academic_year"],
    ))
    if clash is not None and clash is not cohort:
        raise ValidationFailed(f"{clash.title} already exists.")


def create_cohort(values: dict, *, by: User) -> Cohort:
    """A new cohort; whoever creates it coordinates it. It marks anonymously unless told otherwise."""
    values = {"marks_anonymously": True, "reminder_days": DEFAULT_REMINDER_DAYS, **values,
              "programme_code": values["programme_code"].strip().upper()}
    check_cohort_values(values)
    cohort = Cohort(**{k: values[k] for k in COHORT_FIELDS}, created_at=clock.now())
    cohort.staff.append(CohortStaff(user_id=by.id, is_coordinator=True))
    db.session.add(cohort)
    audit.record("cohort.created", cohort, actor=by, cohort=cohort, summary=f"Created cohort {cohort.title}",
                 after=audit.snapshot(cohort, COHORT_FIELDS))
    return cohort


def update_cohort(cohort: Cohort, values: dict, *, by: User) -> Cohort:
    """The cohort's name, year, phases and settings, audited with what changed (a setting left out of
    ``values`` keeps its value)."""
    values = {"marks_anonymously": cohort.marks_anonymously, "reminder_days": cohort.reminder_days, **values,
              "programme_code": values["programme_code"].strip().upper()}
    once.lock(cohort)  # the same form sent twice at once: the second finds nothing to change
    check_cohort_values(values, cohort=cohort)
    before = audit.snapshot(cohort, COHORT_FIELDS)
    for k in COHORT_FIELDS:
        setattr(cohort, k, values[k])
    after = audit.snapshot(cohort, COHORT_FIELDS)
    if after != before:
        marking = ""
        if after["marks_anonymously"] != before["marks_anonymously"]:
            marking = "; anonymous marking " + ("on" if cohort.marks_anonymously else "off")
        if after["reminder_days"] != before["reminder_days"]:
            marking += "; reminders " + ", ".join(map(str, cohort.reminder_days)) + " days before each deadline"
        audit.record("cohort.updated", cohort, actor=by, cohort=cohort,
                     summary=f"Edited cohort {cohort.title}{marking}", before=before, after=after)
    return cohort


def new_candidate_numbers(cohort: Cohort, how_many: int, rng: random.Random | None = None) -> list[str]:
    """``how_many`` unused random candidate numbers for the cohort."""
    rng = rng or _random
    taken = set(db.session.scalars(
        select(Enrolment.candidate_number).where(Enrolment.cohort_id == cohort.id)))
    free = len(CANDIDATE_RANGE) - len(taken)
    if how_many > free:
        raise ValidationFailed(f"Only {free} candidate numbers are left in this cohort.")
    numbers: list[str] = []
    while len(numbers) < how_many:
        for n in rng.sample(CANDIDATE_RANGE, min(len(CANDIDATE_RANGE), how_many - len(numbers) + 16)):
            s = str(n)
            if s not in taken:
                taken.add(s)
                numbers.append(s)
                if len(numbers) == how_many:
                    break
    return numbers


def cohorts_managed_by(user: User) -> list[Cohort]:
    query = select(Cohort).order_by(Cohort.academic_year.desc(), Cohort.programme_code)
    if not user.has_role("admin"):
        query = query.join(CohortStaff).where(CohortStaff.user_id == user.id,
                                              CohortStaff.is_coordinator.is_(True))
    return list(db.session.scalars(query))


def people_of(cohort: Cohort):
    """A SELECT of the ids of the cohort's students and staff (to use inside another query)."""
    return (select(Enrolment.user_id).where(Enrolment.cohort_id == cohort.id)
            .union(select(CohortStaff.user_id).where(CohortStaff.cohort_id == cohort.id)))


def person_in_cohort(cohort: Cohort, user_id: int) -> User | None:
    """The student or member of staff of the cohort with this id (None for anyone else)."""
    return db.session.scalar(select(User).where(User.id == user_id, User.id.in_(people_of(cohort))))
