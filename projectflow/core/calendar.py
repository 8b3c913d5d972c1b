"""The working-day calendar: weekends, England & Wales bank holidays and a cohort's closures.

Extensions ("up to 10 working days"), late submissions ("how late, in working days and hours") and
feedback turnaround ("10 working days after the deadline") all count in working days. This module is
pure (no Flask, no database): a service builds a ``WorkingCalendar`` from the cohort's closures and
passes it in together with the cohort's time zone.

Definitions, used by every function here so that the figures agree with each other:

- A working day is a Monday to Friday that is neither an England & Wales bank holiday (the list
  shipped in the ``holidays`` package, substitute days included) nor one of the calendar's closures.
- ``working_days_between(start, end)`` counts the working days *after* ``start`` up to and including
  ``end``; ``add_working_days(d, n)`` is its inverse: the n-th working day after ``d``.
- Deadlines are local wall-clock times in the cohort's zone (16:00 London); they are stored and
  compared as aware UTC datetimes. Moving a deadline by working days keeps the wall-clock time, so
  across the March and October clock changes its UTC offset changes.
- Lengths of time (``Lateness.hours``) are real elapsed time, computed in UTC: from 16:00 Friday
  23 October 2026 to 16:00 Monday 26 October 2026 London is 73 hours, because the clocks went back.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

UNIVERSITY_CLOSURE = "University closure"
_WEEKEND = {5: "Saturday", 6: "Sunday"}
_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=256)
def _bank_holidays(year: int) -> Mapping[date, str]:
    # England and Wales share one list of bank holidays; the package's "ENG" subdivision is it. The
    # data ships inside the package (no network), and a read-only copy per year is safe to share.
    return MappingProxyType(dict(holidays.UK(subdiv="ENG", years=year, language="en_GB")))


def _check_date(d: date, name: str = "day") -> date:
    # A datetime is a date subclass but never equals a date, so it would silently miss every holiday.
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"{name} must be a date, not {type(d).__name__}")
    return d


def _check_aware(dt: datetime, name: str) -> datetime:
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} is naive ({dt!r}): pass a timezone-aware datetime")
    return dt.astimezone(timezone.utc)


def _days_after(start: date, end: date) -> Iterator[date]:
    """The days after ``start`` up to and including ``end`` (none if ``end <= start``)."""
    day = start + _ONE_DAY
    while day <= end:
        yield day
        day += _ONE_DAY


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days: not a weekend, not a bank holiday, not a closure.

    ``closures`` are the cohort's own non-working days on top of the bank holidays, such as the
    university's Christmas closure; ``with_closure(first, last)`` adds a run of them.
    """

    closures: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        closures = frozenset(self.closures)
        for d in closures:
            _check_date(d, "a closure")
        object.__setattr__(self, "closures", closures)

    def with_closure(self, first: date, last: date) -> WorkingCalendar:
        """This calendar with every day from ``first`` to ``last`` (both included) closed as well."""
        _check_date(first, "first"), _check_date(last, "last")
        if last < first:
            raise ValueError(f"a closure cannot end ({last}) before it starts ({first})")
        return WorkingCalendar(self.closures | {first, *_days_after(first, last)})

    def bank_holiday(self, d: date) -> str | None:
        """The name of the England & Wales bank holiday on ``d`` ("Good Friday", "Boxing Day
        (observed)" for a substitute day), or None."""
        _check_date(d)
        return _bank_holidays(d.year).get(d)

    def non_working_reason(self, d: date) -> str | None:
        """Why ``d`` is not a working day, or None when it is one.

        One reason per day, the most telling first: a bank holiday's name (so Saturday 25 December
        2027 reads "Christmas Day"), then "Saturday"/"Sunday", then "University closure" (a closure
        is named only on the days it takes away that would otherwise have been worked).
        """
        name = self.bank_holiday(d)
        if name is not None:
            return name
        if d.weekday() in _WEEKEND:
            return _WEEKEND[d.weekday()]
        if d in self.closures:
            return UNIVERSITY_CLOSURE
        return None

    def is_working_day(self, d: date) -> bool:
        return self.non_working_reason(d) is None

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after ``d``.

        For n >= 1 the answer is always a working day, whatever ``d`` is: from Friday 24 December
        2027, 1 working day later is Wednesday 29 December (the weekend and the two substitute bank
        holidays are skipped). For n = 0 the answer is ``d`` itself, even when ``d`` is not a
        working day, so that ``working_days_between(d, add_working_days(d, n)) == n`` for every n.
        A negative n is refused (ValueError).
        """
        _check_date(d)
        if n < 0:
            raise ValueError(f"cannot add a negative number of working days ({n})")
        day = d
        while n > 0:
            day += _ONE_DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days come after ``start`` up to and including ``end``; 0 if
        ``end <= start``. From a Friday to the next Monday is 1 (the Monday)."""
        _check_date(start, "start"), _check_date(end, "end")
        return sum(1 for day in _days_after(start, end) if self.is_working_day(day))

    def non_working_days(self, start: date, end: date) -> list[tuple[date, str]]:
        """The days after ``start`` up to and including ``end`` that are not working days, each with
        its reason (see ``non_working_reason``), in date order: the calendar to show beside a
        ``working_days_between(start, end)`` figure. Together the two account for every day:
        ``working_days_between(s, e) + len(non_working_days(s, e)) == (e - s).days`` when e > s."""
        _check_date(start, "start"), _check_date(end, "end")
        found = []
        for day in _days_after(start, end):
            reason = self.non_working_reason(day)
            if reason is not None:
                found.append((day, reason))
        return found


def local_deadline(d: date, t: time, zone: ZoneInfo) -> datetime:
    """The instant (aware, in UTC) at which the wall clocks in ``zone`` read ``t`` on ``d``.

    Two local times need a rule, both only in the early hours of a clock-change Sunday:
    - a time that does not exist (the clocks jump from 01:00 to 02:00 London on 29 March 2026, so
      01:30 never happens) moves forward to the first instant that does: 02:00 BST (01:00 UTC);
    - a time that happens twice (01:30 London on 25 October 2026) is its first occurrence, in
      summer time: 01:30 BST (00:30 UTC).
    ``t`` must be a naive wall-clock time.
    """
    _check_date(d)
    if t.tzinfo is not None:
        raise ValueError(f"{t!r} has a time zone: pass the local wall-clock time and the zone apart")
    wall = datetime.combine(d, t).replace(fold=0)
    # fold=0 is the earlier of two readings, i.e. summer time in autumn (PEP 495).
    instant = wall.replace(tzinfo=zone).astimezone(timezone.utc)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    return _end_of_gap(wall, zone)


def _end_of_gap(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant after the clock change that skipped the wall-clock time ``wall``."""
    # For a skipped time, fold=1 applies the offset in force after the change and fold=0 the one
    # before it, which brackets the change: search between them to the second (tz data changes
    # offsets on whole seconds).
    before = math.floor(wall.replace(tzinfo=zone, fold=1).timestamp())
    after = math.ceil(wall.replace(tzinfo=zone, fold=0).timestamp())
    new_offset = datetime.fromtimestamp(after, zone).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == new_offset:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, timezone.utc)


def extend_deadline(deadline: datetime, working_days: int, zone: ZoneInfo,
                    calendar: WorkingCalendar) -> datetime:
    """The deadline moved ``working_days`` working days later, at the same local wall-clock time.

    16:00 London on Friday 23 October 2026 (15:00 UTC) extended by 1 working day is 16:00 London on
    Monday 26 October (16:00 UTC: the clocks went back in between). The new day is
    ``calendar.add_working_days`` of the deadline's local date, so it is always a working day when
    ``working_days >= 1``; 0 returns the deadline unchanged (in UTC); a negative number is refused.
    How many days a coordinator may grant is the milestone's rule, not the calendar's.
    """
    deadline_utc = _check_aware(deadline, "deadline")
    if working_days < 0:
        raise ValueError(f"cannot extend a deadline by a negative number of working days ({working_days})")
    if working_days == 0:
        return deadline_utc
    local = deadline_utc.astimezone(zone)
    day = calendar.add_working_days(local.date(), working_days)
    return local_deadline(day, local.time(), zone)


@dataclass(frozen=True)
class Lateness:
    """How late a submission is. On time: ``late`` False and every figure 0.

    ``working_days`` is the figure penalties use (see ``lateness``); ``hours`` is the real elapsed
    time after the deadline; ``seconds`` is the same in whole seconds, at least 1 when late.
    """

    late: bool
    working_days: int
    hours: float
    seconds: int


ON_TIME = Lateness(late=False, working_days=0, hours=0.0, seconds=0)


def lateness(deadline: datetime, submitted: datetime, zone: ZoneInfo, calendar: WorkingCalendar) -> Lateness:
    """How late ``submitted`` is against ``deadline``, counted the way UK universities count it.

    A submission exactly at the deadline is on time. One that is late by any amount, up to and
    including the same local wall-clock time on the next working day, is 1 working day late; each
    further working day (to the same wall-clock time) adds 1. Weekends, bank holidays and closures
    add nothing: the k-th limit is ``extend_deadline(deadline, k, zone, calendar)``.

    With a deadline of 16:00 London on Friday 23 October 2026:
    - submitted 16:00:00 Friday: on time;
    - 16:00:01 Friday, or 15:00 Monday 26 October: 1 working day late;
    - 16:00 Monday: still 1 working day, and 73 hours (the clocks went back on Sunday);
    - 16:00:01 Monday: 2 working days.
    With a deadline of 16:00 on Friday 18 December 2026 and a closure from 21 December 2026 to
    1 January 2027, 10:00 on Monday 4 January 2027 is 1 working day late (and 402 hours).

    A deadline on a non-working day counts from the next working day: 1 working day late runs to
    that day's same wall-clock time.
    """
    deadline_utc = _check_aware(deadline, "deadline")
    submitted_utc = _check_aware(submitted, "submitted")
    # Compared and subtracted in UTC: two datetimes in the same ZoneInfo compare by wall clock and
    # would lose (or gain) the clock-change hour.
    if submitted_utc <= deadline_utc:
        return ON_TIME
    elapsed = submitted_utc - deadline_utc
    local = deadline_utc.astimezone(zone)
    day, wall_time = local.date(), local.time()
    working_days, limit = 0, deadline_utc
    while submitted_utc > limit:
        day = calendar.add_working_days(day, 1)
        limit = local_deadline(day, wall_time, zone)
        working_days += 1
    return Lateness(late=True, working_days=working_days, hours=elapsed / timedelta(hours=1),
                    seconds=max(1, elapsed // timedelta(seconds=1)))
