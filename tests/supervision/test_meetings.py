"""The supervision log: students record meetings, supervisors confirm them, the coordinator sees who
has gone too long without one. The cohort is 2026-27: part-time Mon 11 Jan - Fri 28 May 2027, full-time
Mon 31 May - Fri 10 Sep 2027; gaps 3 weeks part-time, 2 weeks full-time."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.matching import services as matching
from projectflow.milestones.models import FULL_TIME, PART_TIME
from projectflow.supervision import services as meetings
from projectflow.supervision.models import Meeting
from tests.forms import get_form
from tests.html import field_error, flashes, main_text
from tests.matching.conftest import build_round, solve

LONDON = ZoneInfo("Europe/London")
PART_START, PART_END = date(2027, 1, 11), date(2027, 5, 28)
FULL_START, FULL_END = date(2027, 5, 31), date(2027, 9, 10)


@pytest.fixture(autouse=True)
def _mail(smtp_server):
    # Publishing and every meeting notify people by e-mail.
    return smtp_server


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=LONDON)


class Published:
    """The round of tests.matching with its allocation published: who supervises whom."""

    def __init__(self, make, cohort, coordinator):
        self.round = build_round(make, cohort, coordinator)
        self.cohort, self.coordinator = cohort, coordinator
        run = solve(cohort, coordinator)
        matching.publish_run(run, by=coordinator)
        db.session.commit()
        placed = {a.student_id: a for a in run.allocations}
        self.lee, self.kim = self.round.lee, self.round.kim
        self.of_lee = [s for s in self.round.students if s.id in placed and placed[s.id].supervisor_id == self.lee.id]
        self.of_kim = [s for s in self.round.students if s.id in placed and placed[s.id].supervisor_id == self.kim.id]
        self.unplaced = [s for s in self.round.students if s.id not in placed]
        assert len(self.of_lee) == 2 and len(self.of_kim) == 1 and len(self.unplaced) == 1
        self.student = self.of_lee[0]


@pytest.fixture
def pub(make, cohort, coordinator):
    return Published(make, cohort, coordinator)


def record(pub, student=None, on=date(2027, 2, 1), notes="Agreed the research question.", actions="", at=None):
    student = student or pub.student
    with clock.frozen(at or noon(max(on, PART_START))):
        meeting = meetings.record_meeting(pub.cohort, student, met_on=on, notes=notes, actions=actions, by=student)
        db.session.commit()
    return meeting


# --- recording and confirming --------------------------------------------------------------------

def test_a_recorded_meeting_goes_to_the_supervisor_who_confirms_it(pub):
    meeting = record(pub, notes="  Read three papers.  ", actions="Draft the plan.")
    assert meeting.supervisor_id == pub.lee.id and meeting.notes == "Read three papers."
    assert meeting.confirmed_at is None
    told = db.session.scalars(select(Notification.message).where(Notification.user_id == pub.lee.id)).all()
    assert any(pub.student.name in m and "Mon 01 Feb 2027" in m and "confirm" in m for m in told)
    with clock.frozen(noon(date(2027, 2, 2))):
        meetings.confirm_meeting(meeting, by=pub.lee)
        db.session.commit()
    assert meeting.confirmed_by_id == pub.lee.id and meeting.confirmed_at == noon(date(2027, 2, 2))
    told = db.session.scalars(select(Notification.message).where(Notification.user_id == pub.student.id)).all()
    assert any("confirmed your supervision meeting of Mon 01 Feb 2027" in m for m in told)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "meetings")
                                .order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor_id) for e in events] == [("meeting.recorded", pub.student.id),
                                                        ("meeting.confirmed", pub.lee.id)]
    assert events[0].after["met_on"] == "2027-02-01" and events[0].after["actions"] == "Draft the plan."


@pytest.mark.parametrize("at, met_on, ok", [
    (noon(date(2027, 3, 1)), date(2027, 3, 1), True),  # today
    (noon(date(2027, 3, 1)), date(2027, 3, 2), False),  # tomorrow
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST): 1 July is today there.
    (datetime(2027, 6, 30, 23, 30, tzinfo=timezone.utc), date(2027, 7, 1), True),
    (datetime(2027, 6, 30, 22, 30, tzinfo=timezone.utc), date(2027, 7, 1), False),
])
def test_a_meeting_cannot_be_in_the_future_of_the_cohorts_clock(pub, at, met_on, ok):
    if ok:
        assert record(pub, on=met_on, at=at).met_on == met_on
    else:
        with pytest.raises(ValidationFailed, match="future") as refused:
            record(pub, on=met_on, at=at)
        assert refused.value.field == "met_on"


@pytest.mark.parametrize("met_on, ok", [(PART_START - timedelta(days=1), False), (PART_START, True)])
def test_a_meeting_cannot_be_before_the_part_time_phase(pub, met_on, ok):
    at = noon(date(2027, 2, 1))
    if ok:
        assert record(pub, on=met_on, at=at).met_on == met_on
    else:
        with pytest.raises(ValidationFailed, match="starts on Mon 11 Jan 2027") as refused:
            record(pub, on=met_on, at=at)
        assert refused.value.field == "met_on"


@pytest.mark.parametrize("met_on, ok", [(date(2027, 9, 10), True), (date(2027, 9, 11), False),
                                        (date(2028, 1, 5), False)])
def test_a_meeting_cannot_be_after_the_cohorts_end(pub, met_on, ok):
    # Found when the app was tried: meetings dated after the cohort's end (10 Sep 2027) were accepted.
    at = noon(date(2028, 2, 1))
    if ok:
        assert record(pub, on=met_on, at=at).met_on == met_on
    else:
        with pytest.raises(ValidationFailed, match="ended on Fri 10 Sep 2027") as refused:
            record(pub, on=met_on, at=at)
        assert refused.value.field == "met_on"


@pytest.mark.parametrize("notes", ["", "   \n "])
def test_notes_are_required(pub, notes):
    with pytest.raises(ValidationFailed) as refused:
        record(pub, notes=notes)
    assert refused.value.field == "notes"
    assert db.session.scalar(select(Meeting)) is None


def test_a_missing_date_is_refused_by_field(pub):
    with pytest.raises(ValidationFailed) as refused:
        record(pub, on=None, at=noon(date(2027, 2, 1)))
    assert refused.value.field == "met_on"


def test_no_meeting_without_a_published_allocation(make, cohort, coordinator, student):
    with clock.frozen(noon(date(2027, 2, 1))), pytest.raises(InvalidState, match="allocation is published"):
        meetings.record_meeting(cohort, student, met_on=date(2027, 2, 1), notes="Hello.", by=student)


def test_no_meeting_for_a_student_the_published_allocation_left_out(pub):
    with pytest.raises(InvalidState, match="no supervisor"):
        record(pub, student=pub.unplaced[0])


def test_students_record_only_their_own_meetings(pub):
    with clock.frozen(noon(date(2027, 2, 1))):
        for someone in (pub.of_lee[1], pub.lee, pub.coordinator):
            with pytest.raises(NotAllowed):
                meetings.record_meeting(pub.cohort, pub.student, met_on=date(2027, 2, 1), notes="x", by=someone)


def test_the_same_meeting_twice_is_refused(pub):
    record(pub)
    with pytest.raises(InvalidState, match="already in your log"):
        record(pub)
    record(pub, notes="A second, different meeting the same day.")
    assert len(meetings.meetings_of(pub.cohort, pub.student)) == 2


def test_a_meeting_is_confirmed_once(pub):
    meeting = record(pub)
    meetings.confirm_meeting(meeting, by=pub.lee)
    db.session.commit()
    with pytest.raises(InvalidState, match="already confirmed"):
        meetings.confirm_meeting(meeting, by=pub.lee)


def test_only_the_supervisor_or_a_co_supervisor_confirms(pub, make):
    meeting = record(pub)
    for someone in (pub.kim, pub.coordinator, pub.student, pub.of_lee[1]):
        with pytest.raises(NotAllowed):
            meetings.confirm_meeting(meeting, by=someone)
    co = make.staff(pub.cohort, name="Dr Co")
    project = matching.allocation_of(pub.cohort, pub.student).project
    project.co_supervisors.append(co)
    db.session.commit()
    assert meetings.can_confirm(meeting, co) and not meetings.can_confirm(meeting, pub.kim)
    meetings.confirm_meeting(meeting, by=co)
    assert meeting.confirmed_by_id == co.id


def test_the_log_is_latest_first(pub):
    first = record(pub, on=date(2027, 2, 1))
    third = record(pub, on=date(2027, 3, 1))
    second = record(pub, on=date(2027, 2, 15))
    assert meetings.meetings_of(pub.cohort, pub.student) == [third, second, first]
    assert meetings.meetings_of(pub.cohort, pub.of_lee[1]) == []


# --- the overdue report --------------------------------------------------------------------------

def overdue_on(pub, today: date) -> dict[str, meetings.Overdue]:
    with clock.frozen(noon(today)):
        return {o.student.name: o for o in meetings.overdue(pub.cohort)}


@pytest.mark.parametrize("phase, met_on, gap_weeks", [(PART_TIME, date(2027, 2, 1), 3),
                                                      (FULL_TIME, date(2027, 6, 7), 2)])
@pytest.mark.parametrize("extra_days, is_overdue", [(0, False), (1, True)])
def test_overdue_after_more_than_the_phases_gap(pub, phase, met_on, gap_weeks, extra_days, is_overdue):
    record(pub, on=met_on)
    today = met_on + timedelta(weeks=gap_weeks, days=extra_days)
    found = overdue_on(pub, today)
    assert (pub.student.name in found) is is_overdue
    if is_overdue:
        row = found[pub.student.name]
        assert (row.supervisor, row.last_met_on, row.limit_weeks, row.phase) == (pub.lee, met_on, gap_weeks, phase)
        assert row.days_since == gap_weeks * 7 + 1 and row.weeks_since == pytest.approx(gap_weeks + 1 / 7)
        assert row.since_label == f"{gap_weeks} weeks 1 day"


@pytest.mark.parametrize("phase_start, gap_weeks", [(PART_START, 3), (FULL_START, 2)])
@pytest.mark.parametrize("extra_days, is_overdue", [(0, False), (1, True)])
def test_without_a_meeting_the_gap_counts_from_the_phase_start(pub, phase_start, gap_weeks, extra_days, is_overdue):
    found = overdue_on(pub, phase_start + timedelta(weeks=gap_weeks, days=extra_days))
    placed = {s.name for s in pub.of_lee + pub.of_kim}
    assert set(found) == (placed if is_overdue else set())
    for row in found.values():
        assert row.last_met_on is None and row.counted_from == phase_start


def test_a_new_phase_starts_the_count_afresh_with_its_own_gap(pub):
    record(pub, on=date(2027, 5, 20))  # late in the part-time phase
    assert pub.student.name not in overdue_on(pub, FULL_START)
    assert pub.student.name not in overdue_on(pub, FULL_START + timedelta(weeks=2))
    row = overdue_on(pub, FULL_START + timedelta(weeks=2, days=1))[pub.student.name]
    assert row.last_met_on == date(2027, 5, 20) and row.counted_from == FULL_START and row.limit_weeks == 2


@pytest.mark.parametrize("today", [PART_START - timedelta(days=1), date(2027, 5, 29), date(2027, 5, 30),
                                   FULL_END + timedelta(days=1)])
def test_outside_both_phases_nobody_is_overdue(pub, today):
    assert overdue_on(pub, today) == {}


@pytest.mark.parametrize("today, expected", [(PART_END, True), (FULL_START, False)])
def test_the_last_day_of_the_part_time_phase_still_counts(pub, today, expected):
    # Nobody has met: 19 weeks into the part-time phase everyone is overdue; on the first day of the
    # full-time phase the count starts again.
    assert bool(overdue_on(pub, today)) is expected


def test_an_unconfirmed_meeting_counts_and_the_unplaced_and_future_do_not(pub):
    record(pub, on=date(2027, 2, 5))  # not confirmed
    found = overdue_on(pub, date(2027, 2, 19))
    assert pub.student.name not in found and pub.unplaced[0].name not in found
    # Asked about a date before the meeting, the report does not see it.
    with clock.frozen(noon(date(2027, 3, 1))):
        early = meetings.overdue(pub.cohort, today=PART_START + timedelta(weeks=3, days=1))  # Tue 2 Feb
    assert pub.student.name in {o.student.name for o in early}


def test_the_report_lists_the_longest_gap_first(pub):
    record(pub, student=pub.of_lee[0], on=date(2027, 2, 1))
    record(pub, student=pub.of_lee[1], on=date(2027, 1, 20))
    rows = overdue_on(pub, date(2027, 3, 1))
    ordered = sorted(rows.values(), key=lambda o: -o.days_since)
    assert [o.student for o in ordered] == [pub.of_kim[0], pub.of_lee[1], pub.of_lee[0]]
    with clock.frozen(noon(date(2027, 3, 1))):
        assert [o.student for o in meetings.overdue(pub.cohort)] == [pub.of_kim[0], pub.of_lee[1], pub.of_lee[0]]


def test_nobody_is_overdue_before_the_allocation_is_published(cohort, student):
    with clock.frozen(noon(date(2027, 3, 1))):
        assert meetings.overdue(cohort) == []


# --- pages ---------------------------------------------------------------------------------------

def test_the_students_log_page(pub, login):
    c = login(pub.student)
    url = f"/cohorts/{pub.cohort.id}/meetings"
    with clock.frozen(noon(date(2027, 2, 10))):
        page = c.get(url)
        assert page.status_code == 200
        text = main_text(page.get_data(as_text=True))
        assert "Dr Lee" in text and "No meeting recorded yet" in text and "every 3 weeks" in text
        bad = c.post(url, data={"met_on": "2027-02-11", "notes": "Too early to tell."})
        assert bad.status_code == 422 and "future" in field_error(bad.get_data(as_text=True), "met_on")
        bad = c.post(url, data={"met_on": "2027-02-09", "notes": "  "})
        assert bad.status_code == 422 and field_error(bad.get_data(as_text=True), "notes")
        assert 'value="2027-02-09"' in bad.get_data(as_text=True)  # nothing typed is lost
        bad = c.post(url, data={"met_on": "2027-02-12", "notes": ""})  # both wrong: both said
        assert bad.status_code == 422 and "future" in field_error(bad.get_data(as_text=True), "met_on")
        assert "Write what you discussed" in field_error(bad.get_data(as_text=True), "notes")
        bad = c.post(url, data={"met_on": "9th of Feb", "notes": "Fine."})
        assert bad.status_code == 422 and field_error(bad.get_data(as_text=True), "met_on")
        bad = c.post(url, data={"met_on": "2026-12-01", "notes": "Fine."})
        assert bad.status_code == 422 and "11 Jan 2027" in field_error(bad.get_data(as_text=True), "met_on")
        log = get_form(c, url, has_field="met_on")
        done = log.set("met_on", "2027-02-09").set("notes", "Chose the data set.").set("actions", "Clean it.").submit(c)
        assert done.status_code == 302
        page = c.get(url).get_data(as_text=True)
    assert any("recorded" in f for f in flashes(page))
    text = main_text(page)
    assert "Chose the data set." in text and "Clean it." in text and "Awaiting confirmation" in text
    assert db.session.scalar(select(Meeting)).student_id == pub.student.id


def test_a_student_without_a_supervisor_sees_why_and_cannot_record(pub, login):
    c = login(pub.unplaced[0])
    url = f"/cohorts/{pub.cohort.id}/meetings"
    with clock.frozen(noon(date(2027, 2, 10))):
        page = c.get(url)
        assert page.status_code == 200 and "once the allocation is published" in main_text(page.get_data(as_text=True))
        assert c.post(url, data={"met_on": "2027-02-09", "notes": "Hello."}).status_code == 409
    assert db.session.scalar(select(Meeting)) is None


def test_who_may_not_see_a_students_log(pub, login, make):
    url = f"/cohorts/{pub.cohort.id}/meetings"
    for person in (pub.lee, pub.coordinator, make.student(), make.staff()):
        c = login(person)
        assert c.get(url).status_code == 403
        assert c.post(url, data={"met_on": "2027-02-09", "notes": "x"}).status_code == 403
        c.post("/logout")


def test_the_supervision_page_shows_a_supervisor_only_their_students(pub, login):
    record(pub, student=pub.of_lee[0], notes="Lee's student met Lee.")
    record(pub, student=pub.of_kim[0], notes="Kim's student met Kim.")
    url = f"/cohorts/{pub.cohort.id}/meetings/supervision"
    c = login(pub.lee)
    page = c.get(url)
    text = main_text(page.get_data(as_text=True))
    assert page.status_code == 200
    assert "Lee's student met Lee." in text and "Kim's student met Kim." not in text
    assert pub.of_lee[1].name in text and pub.of_kim[0].name not in text
    assert text.count("Confirm the meeting of") == 1
    c.post("/logout")
    c = login(pub.coordinator, role="coordinator")
    text = main_text(c.get(url).get_data(as_text=True))
    assert "Lee's student met Lee." in text and "Kim's student met Kim." in text
    assert "Confirm the meeting of" not in text  # the coordinator was not there
    c.post("/logout")
    for person in (pub.student, pub.unplaced[0]):
        assert login(person).get(url).status_code == 403
        c.post("/logout")


def test_confirming_from_the_page(pub, login, make):
    meeting = record(pub)
    url = f"/meetings/{meeting.id}/confirm"
    for person in (pub.kim, pub.coordinator, pub.student, make.staff()):
        c = login(person)
        assert c.post(url).status_code == 403
        c.post("/logout")
    assert meeting.confirmed_at is None
    c = login(pub.lee)
    done = get_form(c, f"/cohorts/{pub.cohort.id}/meetings/supervision", action=url).submit(c)
    assert done.status_code == 302 and done.headers["Location"].endswith(f"#student-{pub.student.id}")
    page = c.get(done.headers["Location"]).get_data(as_text=True)
    assert any("confirmed" in f for f in flashes(page)) and "Confirmed" in main_text(page)
    again = c.post(url)
    assert again.status_code == 409 and any("already confirmed" in f for f in flashes(again.get_data(as_text=True)))
    assert c.post("/meetings/999999/confirm").status_code == 404


def test_the_overdue_report_page(pub, login):
    record(pub, on=date(2027, 2, 1))
    url = f"/cohorts/{pub.cohort.id}/meetings/overdue"
    c = login(pub.coordinator, role="coordinator")
    with clock.frozen(noon(date(2027, 2, 23))):
        page = c.get(url)
    assert page.status_code == 200
    text = main_text(page.get_data(as_text=True))
    assert "Part-time phase on Tue 23 Feb 2027" in text
    kim_student = pub.of_kim[0].name
    assert f"{kim_student} Dr Kim none yet 6 weeks 1 day since the phase started 3 weeks" in text
    assert f"{pub.student.name} Dr Lee Mon 01 Feb 2027 3 weeks 1 day 3 weeks" in text
    assert pub.unplaced[0].name not in text
    with clock.frozen(noon(date(2027, 5, 29))):
        text = main_text(c.get(url).get_data(as_text=True))
    assert "nobody is overdue" in text
    c.post("/logout")
    for person in (pub.lee, pub.student):
        assert login(person).get(url).status_code == 403
        c.post("/logout")
