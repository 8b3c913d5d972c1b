"""The working-day calendar: bank holidays, closures, working-day arithmetic, lateness and extensions
across weekends, bank holidays and the March and October clock changes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projectflow.core.calendar import (ON_TIME, UNIVERSITY_CLOSURE, Lateness, WorkingCalendar, extend_deadline,
                                       lateness, local_deadline)

LONDON = ZoneInfo("Europe/London")
UTC = timezone.utc
PLAIN = WorkingCalendar()
# The university closed from Monday 21 December 2026 to Friday 1 January 2027 (both included).
CHRISTMAS_CLOSURE = WorkingCalendar().with_closure(date(2026, 12, 21), date(2027, 1, 1))


def london(*args, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=LONDON, fold=fold)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- bank holidays -------------------------------------------------------------------------------------

@pytest.mark.parametrize("day, name", [
    (date(2027, 1, 1), "New Year's Day"),
    (date(2027, 3, 26), "Good Friday"),
    (date(2027, 3, 29), "Easter Monday"),
    (date(2026, 4, 3), "Good Friday"),
    (date(2026, 4, 6), "Easter Monday"),
    (date(2027, 5, 3), "May Day"),                    # the early May bank holiday
    (date(2027, 5, 31), "Spring Bank Holiday"),
    (date(2027, 8, 30), "Late Summer Bank Holiday"),
    (date(2026, 5, 25), "Spring Bank Holiday"),
    (date(2026, 8, 31), "Late Summer Bank Holiday"),
    (date(2026, 12, 25), "Christmas Day"),
    # 26 December 2026 is a Saturday: its substitute is Monday 28th.
    (date(2026, 12, 26), "Boxing Day"),
    (date(2026, 12, 28), "Boxing Day (observed)"),
    # 25 and 26 December 2027 are a weekend: the substitutes are Monday 27th and Tuesday 28th.
    (date(2027, 12, 25), "Christmas Day"),
    (date(2027, 12, 27), "Christmas Day (observed)"),
    (date(2027, 12, 28), "Boxing Day (observed)"),
    (date(2028, 1, 3), "New Year's Day (observed)"),
])
def test_bank_holidays_of_england_and_wales(day, name):
    assert PLAIN.bank_holiday(day) == name
    assert not PLAIN.is_working_day(day)


@pytest.mark.parametrize("day", [
    date(2027, 3, 25),   # the Thursday before Good Friday
    date(2027, 3, 30),   # the Tuesday after Easter Monday
    date(2027, 12, 24),  # Christmas Eve is worked
    date(2027, 12, 29),
    date(2027, 1, 4),    # Scotland's substitute for 2 January, not England's
    date(2027, 8, 2),    # Scotland's summer bank holiday (first Monday of August)
    date(2026, 11, 30),  # St Andrew's Day (Scotland)
    date(2027, 3, 17),   # St Patrick's Day (Northern Ireland)
    date(2027, 7, 12),   # Battle of the Boyne (Northern Ireland)
])
def test_working_days_that_are_holidays_elsewhere(day):
    assert PLAIN.bank_holiday(day) is None
    assert PLAIN.is_working_day(day)


@pytest.mark.parametrize("day, reason", [
    (date(2027, 3, 27), "Saturday"),
    (date(2027, 3, 28), "Sunday"),
    (date(2027, 3, 26), "Good Friday"),
    (date(2027, 12, 25), "Christmas Day"),       # a Saturday, named for the holiday
    (date(2027, 3, 24), None),
])
def test_the_reason_a_day_is_not_worked(day, reason):
    assert PLAIN.non_working_reason(day) == reason
    assert PLAIN.is_working_day(day) is (reason is None)


# --- closures ------------------------------------------------------------------------------------------

def test_a_closure_spanning_christmas():
    assert CHRISTMAS_CLOSURE.closures == frozenset(date(2026, 12, 21) + timedelta(days=i) for i in range(12))
    assert [CHRISTMAS_CLOSURE.is_working_day(date(2026, 12, d)) for d in (18, 21, 22, 23, 24, 29, 30, 31)] == \
        [True, False, False, False, False, False, False, False]
    assert CHRISTMAS_CLOSURE.is_working_day(date(2027, 1, 4))
    assert CHRISTMAS_CLOSURE.non_working_days(date(2026, 12, 18), date(2027, 1, 4)) == [
        (date(2026, 12, 19), "Saturday"),
        (date(2026, 12, 20), "Sunday"),
        (date(2026, 12, 21), UNIVERSITY_CLOSURE),
        (date(2026, 12, 22), UNIVERSITY_CLOSURE),
        (date(2026, 12, 23), UNIVERSITY_CLOSURE),
        (date(2026, 12, 24), UNIVERSITY_CLOSURE),
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 26), "Boxing Day"),
        (date(2026, 12, 27), "Sunday"),
        (date(2026, 12, 28), "Boxing Day (observed)"),
        (date(2026, 12, 29), UNIVERSITY_CLOSURE),
        (date(2026, 12, 30), UNIVERSITY_CLOSURE),
        (date(2026, 12, 31), UNIVERSITY_CLOSURE),
        (date(2027, 1, 1), "New Year's Day"),
        (date(2027, 1, 2), "Saturday"),
        (date(2027, 1, 3), "Sunday"),
    ]
    assert CHRISTMAS_CLOSURE.working_days_between(date(2026, 12, 18), date(2027, 1, 4)) == 1
    assert CHRISTMAS_CLOSURE.add_working_days(date(2026, 12, 18), 1) == date(2027, 1, 4)
    # Without the closure the same span has 8: 21-24 and 29-31 December, and 4 January.
    assert PLAIN.working_days_between(date(2026, 12, 18), date(2027, 1, 4)) == 8


def test_closures_are_a_frozen_set_of_dates_and_calendars_compare_by_them():
    calendar = WorkingCalendar({date(2027, 4, 1)})
    assert isinstance(calendar.closures, frozenset)
    assert calendar == WorkingCalendar(frozenset({date(2027, 4, 1)}))
    assert hash(calendar) == hash(WorkingCalendar(frozenset({date(2027, 4, 1)})))
    assert calendar.with_closure(date(2027, 4, 1), date(2027, 4, 1)) == calendar
    assert PLAIN.closures == frozenset()


@pytest.mark.parametrize("call", [
    lambda: WorkingCalendar(frozenset({datetime(2027, 4, 1, 0, 0)})),
    lambda: WorkingCalendar(frozenset({"2027-04-01"})),
    lambda: PLAIN.is_working_day(datetime(2027, 4, 1, 12, 0)),
    lambda: PLAIN.add_working_days(datetime(2027, 4, 1, 12, 0), 1),
])
def test_a_datetime_is_not_a_day(call):
    with pytest.raises(TypeError):
        call()


def test_a_closure_cannot_end_before_it_starts():
    with pytest.raises(ValueError, match="before it starts"):
        PLAIN.with_closure(date(2027, 1, 2), date(2027, 1, 1))


# --- working-day arithmetic ----------------------------------------------------------------------------

@pytest.mark.parametrize("start, n, expected", [
    (date(2027, 3, 22), 1, date(2027, 3, 23)),    # Monday -> Tuesday
    (date(2027, 3, 19), 1, date(2027, 3, 22)),    # Friday -> Monday
    (date(2027, 3, 20), 1, date(2027, 3, 22)),    # Saturday -> Monday
    (date(2027, 3, 25), 1, date(2027, 3, 30)),    # Thursday before Easter -> Tuesday after
    (date(2027, 3, 19), 10, date(2027, 4, 6)),    # 10 working days across Easter
    (date(2026, 12, 24), 1, date(2026, 12, 29)),  # Christmas Day Friday, Boxing Day substituted to Monday
    (date(2027, 12, 24), 1, date(2027, 12, 29)),  # both substituted: Monday 27th and Tuesday 28th
    (date(2027, 12, 31), 1, date(2028, 1, 4)),    # New Year's Day on a Saturday, substitute Monday 3rd
    (date(2027, 4, 30), 1, date(2027, 5, 4)),     # early May bank holiday
    (date(2027, 5, 28), 1, date(2027, 6, 1)),     # spring bank holiday
    (date(2027, 8, 27), 1, date(2027, 8, 31)),    # summer bank holiday
    (date(2026, 10, 23), 1, date(2026, 10, 26)),  # across the October clock change: dates don't care
    (date(2027, 3, 22), 0, date(2027, 3, 22)),
    (date(2027, 3, 27), 0, date(2027, 3, 27)),    # n = 0 is the day itself, even a Saturday
    (date(2027, 3, 26), 0, date(2027, 3, 26)),    # ... or Good Friday
])
def test_add_working_days(start, n, expected):
    assert PLAIN.add_working_days(start, n) == expected
    assert PLAIN.working_days_between(start, expected) == n


@pytest.mark.parametrize("start, n, expected", [
    (date(2026, 12, 11), 10, date(2027, 1, 8)),   # feedback due 10 working days after 11 December
    (date(2026, 12, 18), 1, date(2027, 1, 4)),
    (date(2026, 12, 22), 1, date(2027, 1, 4)),    # from inside the closure
    (date(2026, 12, 17), 1, date(2026, 12, 18)),
])
def test_add_working_days_across_a_closure(start, n, expected):
    assert CHRISTMAS_CLOSURE.add_working_days(start, n) == expected
    assert CHRISTMAS_CLOSURE.working_days_between(start, expected) == n


def test_a_negative_number_of_working_days_is_refused():
    with pytest.raises(ValueError, match="negative"):
        PLAIN.add_working_days(date(2027, 3, 22), -1)


@pytest.mark.parametrize("start, end, expected", [
    (date(2027, 3, 19), date(2027, 3, 22), 1),    # Friday to Monday
    (date(2027, 3, 19), date(2027, 3, 21), 0),    # Friday to Sunday
    (date(2027, 3, 22), date(2027, 3, 22), 0),    # the same day
    (date(2027, 3, 23), date(2027, 3, 22), 0),    # backwards
    (date(2027, 3, 22), date(2027, 3, 26), 3),    # Tuesday, Wednesday, Thursday; not Good Friday
    (date(2027, 3, 25), date(2027, 3, 30), 1),
])
def test_working_days_between(start, end, expected):
    assert PLAIN.working_days_between(start, end) == expected


def test_a_year_of_working_days():
    # 2027 has 261 weekdays; 8 bank holidays fall on them (1 January, Good Friday, Easter Monday, the
    # three May and August Mondays, and the substitutes 27 and 28 December), leaving 253.
    assert PLAIN.working_days_between(date(2026, 12, 31), date(2027, 12, 31)) == 253


def test_non_working_days_over_easter_and_christmas_2027():
    assert PLAIN.non_working_days(date(2027, 3, 25), date(2027, 3, 30)) == [
        (date(2027, 3, 26), "Good Friday"),
        (date(2027, 3, 27), "Saturday"),
        (date(2027, 3, 28), "Sunday"),
        (date(2027, 3, 29), "Easter Monday"),
    ]
    assert PLAIN.non_working_days(date(2027, 12, 24), date(2027, 12, 29)) == [
        (date(2027, 12, 25), "Christmas Day"),
        (date(2027, 12, 26), "Boxing Day"),
        (date(2027, 12, 27), "Christmas Day (observed)"),
        (date(2027, 12, 28), "Boxing Day (observed)"),
    ]
    assert PLAIN.non_working_days(date(2027, 3, 30), date(2027, 3, 25)) == []


# --- local wall-clock deadlines ------------------------------------------------------------------------

@pytest.mark.parametrize("day, wall, zone, expected", [
    (date(2026, 12, 3), time(14, 0), LONDON, utc(2026, 12, 3, 14, 0)),   # GMT
    (date(2027, 6, 3), time(14, 0), LONDON, utc(2027, 6, 3, 13, 0)),     # BST
    # 29 March 2026: at 01:00 GMT the clocks jump to 02:00 BST; 01:00-01:59 never happen.
    (date(2026, 3, 29), time(0, 59), LONDON, utc(2026, 3, 29, 0, 59)),
    (date(2026, 3, 29), time(1, 0), LONDON, utc(2026, 3, 29, 1, 0)),
    (date(2026, 3, 29), time(1, 30), LONDON, utc(2026, 3, 29, 1, 0)),
    (date(2026, 3, 29), time(1, 59, 59, 999999), LONDON, utc(2026, 3, 29, 1, 0)),
    (date(2026, 3, 29), time(2, 0), LONDON, utc(2026, 3, 29, 1, 0)),
    (date(2027, 3, 28), time(1, 30), LONDON, utc(2027, 3, 28, 1, 0)),
    # 25 October 2026: at 02:00 BST the clocks go back to 01:00 GMT; 01:00-01:59 happen twice.
    (date(2026, 10, 25), time(0, 59), LONDON, utc(2026, 10, 24, 23, 59)),
    (date(2026, 10, 25), time(1, 0), LONDON, utc(2026, 10, 25, 0, 0)),
    (date(2026, 10, 25), time(1, 30), LONDON, utc(2026, 10, 25, 0, 30)),
    (date(2026, 10, 25), time(1, 30, fold=1), LONDON, utc(2026, 10, 25, 0, 30)),  # fold ignored
    (date(2026, 10, 25), time(2, 0), LONDON, utc(2026, 10, 25, 2, 0)),
    (date(2027, 10, 31), time(1, 30), LONDON, utc(2027, 10, 31, 0, 30)),
    # Another zone's gap: New York jumps from 02:00 EST to 03:00 EDT on 14 March 2027.
    (date(2027, 3, 14), time(2, 30), ZoneInfo("America/New_York"), utc(2027, 3, 14, 7, 0)),
    (date(2027, 3, 14), time(16, 0), UTC, utc(2027, 3, 14, 16, 0)),
])
def test_local_deadline(day, wall, zone, expected):
    result = local_deadline(day, wall, zone)
    assert result == expected
    assert result.tzinfo is UTC


def test_local_deadline_wants_a_wall_clock_time():
    with pytest.raises(ValueError, match="wall-clock"):
        local_deadline(date(2027, 3, 1), time(16, 0, tzinfo=UTC), LONDON)


# --- extensions ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("deadline, days, expected", [
    # Across the October clock changes: 16:00 BST (15:00 UTC) becomes 16:00 GMT (16:00 UTC).
    (london(2026, 10, 23, 16), 1, utc(2026, 10, 26, 16)),
    (london(2027, 10, 29, 16), 1, utc(2027, 11, 1, 16)),
    # Across the March clock changes: 16:00 GMT becomes 16:00 BST (15:00 UTC).
    (london(2026, 3, 27, 16), 1, utc(2026, 3, 30, 15)),
    (london(2027, 3, 25, 16), 1, utc(2027, 3, 30, 15)),     # and across Easter 2027
    (london(2027, 3, 19, 16), 10, utc(2027, 4, 6, 15)),
    (london(2027, 12, 23, 16), 2, utc(2027, 12, 29, 16)),
    (london(2027, 3, 22, 16), 0, utc(2027, 3, 22, 16)),
    (london(2027, 3, 27, 16), 1, utc(2027, 3, 30, 15)),     # from a Saturday, past Easter Monday
])
def test_extend_deadline_keeps_the_local_time(deadline, days, expected):
    extended = extend_deadline(deadline, days, LONDON, PLAIN)
    assert extended == expected
    assert extended.tzinfo is UTC
    assert extended.astimezone(LONDON).time() == time(16, 0)


def test_extend_deadline_across_a_closure():
    assert extend_deadline(london(2026, 12, 18, 16), 1, LONDON, CHRISTMAS_CLOSURE) == utc(2027, 1, 4, 16)
    assert extend_deadline(london(2026, 12, 11, 16), 10, LONDON, CHRISTMAS_CLOSURE) == utc(2027, 1, 8, 16)


def test_extend_deadline_refuses_naive_times_and_negative_days():
    with pytest.raises(ValueError, match="naive"):
        extend_deadline(datetime(2027, 3, 22, 16), 1, LONDON, PLAIN)
    with pytest.raises(ValueError, match="negative"):
        extend_deadline(london(2027, 3, 22, 16), -1, LONDON, PLAIN)


# --- lateness ------------------------------------------------------------------------------------------

FRIDAY = london(2027, 3, 5, 16)  # 16:00 GMT, an ordinary Friday


@pytest.mark.parametrize("submitted, late, working_days, seconds", [
    (FRIDAY - timedelta(days=1), False, 0, 0),
    (FRIDAY - timedelta(seconds=1), False, 0, 0),
    (FRIDAY, False, 0, 0),                                        # exactly at the deadline: on time
    (FRIDAY + timedelta(microseconds=1), True, 1, 1),             # any lateness is at least 1 s
    (FRIDAY + timedelta(seconds=1), True, 1, 1),
    (london(2027, 3, 6, 12), True, 1, 20 * 3600),                 # Saturday
    (london(2027, 3, 8, 9), True, 1, 65 * 3600),                  # Monday morning
    (london(2027, 3, 8, 16), True, 1, 72 * 3600),                 # Monday at the same time
    (london(2027, 3, 8, 16, 0, 1), True, 2, 72 * 3600 + 1),
    (london(2027, 3, 9, 16), True, 2, 96 * 3600),
    (london(2027, 3, 12, 16), True, 5, 7 * 24 * 3600),
    (london(2027, 3, 12, 16, 0, 1), True, 6, 7 * 24 * 3600 + 1),
])
def test_lateness_across_a_weekend(submitted, late, working_days, seconds):
    result = lateness(FRIDAY, submitted, LONDON, PLAIN)
    assert (result.late, result.working_days, result.seconds) == (late, working_days, seconds)
    if not late:
        assert result == ON_TIME


def test_one_second_late_is_one_working_day():
    assert lateness(FRIDAY, FRIDAY + timedelta(seconds=1), LONDON, PLAIN) == \
        Lateness(late=True, working_days=1, hours=1 / 3600, seconds=1)


@pytest.mark.parametrize("deadline, submitted, working_days, hours", [
    # Thursday before Easter 2027 (and the March clock change): the next working day is Tuesday.
    (london(2027, 3, 25, 16), london(2027, 3, 26, 10), 1, 18),
    (london(2027, 3, 25, 16), london(2027, 3, 29, 23), 1, 4 * 24 + 7 - 1),
    (london(2027, 3, 25, 16), london(2027, 3, 30, 16), 1, 5 * 24 - 1),
    (london(2027, 3, 25, 16), london(2027, 3, 30, 16, 0, 1), 2, 5 * 24 - 1 + 1 / 3600),
    # The early May bank holiday 2027 (Monday 3 May).
    (london(2027, 4, 30, 16), london(2027, 5, 4, 16), 1, 96),
    (london(2027, 4, 30, 16), london(2027, 5, 5, 16), 2, 120),
    # Christmas 2027: the 24th is worked, then four days off.
    (london(2027, 12, 23, 16), london(2027, 12, 24, 16), 1, 24),
    (london(2027, 12, 23, 16), london(2027, 12, 29, 12), 2, 6 * 24 - 4),
    (london(2027, 12, 23, 16), london(2027, 12, 29, 16, 0, 1), 3, 6 * 24 + 1 / 3600),
])
def test_lateness_across_bank_holidays(deadline, submitted, working_days, hours):
    result = lateness(deadline, submitted, LONDON, PLAIN)
    assert result.late
    assert result.working_days == working_days
    assert result.hours == pytest.approx(hours, abs=1e-9)


@pytest.mark.parametrize("deadline, submitted, working_days, hours", [
    # October 2026 (clocks back on Sunday 25th): Friday 16:00 BST to Monday 16:00 GMT is 73 hours.
    (london(2026, 10, 23, 16), london(2026, 10, 26, 16), 1, 73),
    (london(2026, 10, 23, 16), london(2026, 10, 26, 16, 0, 1), 2, 73 + 1 / 3600),
    (london(2026, 10, 23, 16), london(2026, 10, 25, 1, 30), 1, 33.5),   # the first 01:30 (BST)
    (london(2026, 10, 23, 16), london(2026, 10, 25, 1, 30, fold=1), 1, 34.5),  # the second (GMT)
    # October 2027 (clocks back on Sunday 31st).
    (london(2027, 10, 29, 16), london(2027, 11, 1, 16), 1, 73),
    (london(2027, 10, 29, 16), london(2027, 11, 2, 16), 2, 97),
    # March 2026 (clocks forward on Sunday 29th): Friday 16:00 GMT to Monday 16:00 BST is 71 hours.
    (london(2026, 3, 27, 16), london(2026, 3, 30, 16), 1, 71),
    (london(2026, 3, 27, 16), london(2026, 3, 30, 16, 0, 1), 2, 71 + 1 / 3600),
    # March 2027 (clocks forward on Sunday 28th, in the Easter weekend).
    (london(2027, 3, 26, 16), london(2027, 3, 30, 16), 1, 95),     # deadline on Good Friday itself
    (london(2027, 3, 26, 16), london(2027, 3, 30, 16, 0, 1), 2, 95 + 1 / 3600),
])
def test_lateness_across_the_clock_changes(deadline, submitted, working_days, hours):
    result = lateness(deadline, submitted, LONDON, PLAIN)
    assert (result.late, result.working_days) == (True, working_days)
    assert result.hours == pytest.approx(hours, abs=1e-9)
    assert result.seconds == round(hours * 3600)
    # The same instants written in UTC give the same answer.
    assert lateness(deadline.astimezone(UTC), submitted.astimezone(UTC), LONDON, PLAIN) == result


def test_lateness_across_a_closure():
    result = lateness(london(2026, 12, 18, 16), london(2027, 1, 4, 10), LONDON, CHRISTMAS_CLOSURE)
    assert (result.working_days, result.hours) == (1, 402)
    # Without the closure, 21-24 and 29-31 December are seven working days gone by 4 January.
    assert lateness(london(2026, 12, 18, 16), london(2027, 1, 4, 10), LONDON, PLAIN).working_days == 8


def test_a_deadline_on_a_non_working_day_counts_from_the_next_working_day():
    saturday = london(2027, 3, 6, 16)
    assert lateness(saturday, london(2027, 3, 8, 16), LONDON, PLAIN).working_days == 1
    assert lateness(saturday, london(2027, 3, 8, 16, 0, 1), LONDON, PLAIN).working_days == 2


def test_lateness_refuses_naive_times():
    with pytest.raises(ValueError, match="naive"):
        lateness(FRIDAY, datetime(2027, 3, 8, 16), LONDON, PLAIN)
    with pytest.raises(ValueError, match="naive"):
        lateness(datetime(2027, 3, 5, 16), FRIDAY, LONDON, PLAIN)


# --- properties ----------------------------------------------------------------------------------------

SETTINGS = settings(max_examples=200, deadline=None)
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31))
calendars = st.builds(WorkingCalendar, st.frozensets(days, max_size=40))
wall_times = st.times()  # any wall-clock time, early hours of clock-change Sundays included
zones = st.sampled_from([LONDON, ZoneInfo("America/New_York"), ZoneInfo("Australia/Sydney"), UTC])


@SETTINGS
@given(calendars, days, st.integers(min_value=0, max_value=60))
def test_adding_then_counting_working_days_gives_n_back(calendar, start, n):
    end = calendar.add_working_days(start, n)
    assert calendar.working_days_between(start, end) == n


@SETTINGS
@given(calendars, days, st.integers(min_value=1, max_value=60))
def test_adding_working_days_lands_on_the_first_working_day_that_makes_n(calendar, start, n):
    end = calendar.add_working_days(start, n)
    assert calendar.is_working_day(end)
    assert end > calendar.add_working_days(start, n - 1)
    assert calendar.working_days_between(start, end - timedelta(days=1)) == n - 1


@SETTINGS
@given(calendars, days, st.integers(min_value=0, max_value=90))
def test_working_and_non_working_days_account_for_every_day(calendar, start, span):
    end = start + timedelta(days=span)
    listed = calendar.non_working_days(start, end)
    assert calendar.working_days_between(start, end) + len(listed) == span
    assert all(not calendar.is_working_day(day) and start < day <= end for day, _ in listed)
    assert all(day in calendar.closures or day.weekday() >= 5 or calendar.bank_holiday(day) for day, _ in listed)


@SETTINGS
@given(calendars, days, wall_times, zones,
       st.integers(min_value=-3 * 86400, max_value=40 * 86400), st.integers(min_value=0, max_value=40 * 86400))
def test_lateness_is_monotone_in_the_submission_time(calendar, day, wall, zone, offset, more):
    deadline = local_deadline(day, wall, zone)
    earlier = deadline + timedelta(seconds=offset)
    later = earlier + timedelta(seconds=more)
    a, b = lateness(deadline, earlier, zone, calendar), lateness(deadline, later, zone, calendar)
    assert a.late <= b.late
    assert a.working_days <= b.working_days
    assert a.hours <= b.hours and a.seconds <= b.seconds
    assert a.late == (earlier > deadline) and a.late == (a.working_days >= 1)


@SETTINGS
@given(calendars, days, wall_times, zones, st.integers(min_value=1, max_value=25))
def test_an_extended_deadline_is_exactly_the_limit_of_that_many_days_late(calendar, day, wall, zone, n):
    deadline = local_deadline(day, wall, zone)
    extended = extend_deadline(deadline, n, zone, calendar)
    assert lateness(deadline, extended, zone, calendar).working_days == n
    assert lateness(deadline, extended + timedelta(microseconds=1), zone, calendar).working_days == n + 1
    assert extended.astimezone(zone).date() == calendar.add_working_days(deadline.astimezone(zone).date(), n)


@SETTINGS
@given(calendars, days, wall_times, st.integers(min_value=0, max_value=25))
def test_extending_a_london_deadline_keeps_its_wall_clock_time(calendar, day, wall, n):
    # London's clocks change on Sundays, never a working day, so the wall-clock time always exists
    # on the day an extension lands on.
    deadline = local_deadline(day, wall, LONDON)
    extended = extend_deadline(deadline, n, LONDON, calendar)
    assert extended.astimezone(LONDON).time() == deadline.astimezone(LONDON).time()
