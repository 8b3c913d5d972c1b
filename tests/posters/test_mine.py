"""Each person's own poster slots once a schedule is published: the page of a student and of an
assessor, the .ics file parsed back as a calendar program would, the calendar feed, the link on the
poster mark sheets, nothing before publishing, and nobody else's slots."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from projectflow.assessment import services as assessment
from projectflow.assessment.models import FIRST, MarkSheet
from projectflow.core import jobs, mail
from projectflow.extensions import db
from projectflow.feeds import services as feeds
from projectflow.matching import services as matching
from projectflow.people.models import User
from projectflow.posters import availability, schedules
from projectflow.posters.models import PosterSlot
from projectflow.posters.schedules import Target
from tests.html import href, main_text
from tests.page_tour import statements_of

BASE = "http://127.0.0.1:5000"  # BASE_URL's default


def made(cohort, by):
    """A schedule started and made by the job runner, as the app does it."""
    schedule = schedules.start_schedule(cohort, by=by)
    db.session.commit()
    assert jobs.run_pending() == 1
    db.session.refresh(schedule)
    assert schedule.state == "solved", schedule.error
    return schedule


def publish(schedule, by):
    schedules.publish_schedule(schedule, by=by)
    db.session.commit()
    mail.discard_queued()
    return schedule


@pytest.fixture
def published(allocated, poster_days):
    return publish(made(allocated.cohort, allocated.coordinator), allocated.coordinator)


def slot_of(schedule, student) -> PosterSlot:
    return db.session.scalar(select(PosterSlot).where(PosterSlot.schedule_id == schedule.id,
                                                      PosterSlot.student_id == student.id))


def switch(client, login, person):
    client.post("/logout")
    return login(person)


def page(client, cohort) -> str:
    response = client.get(f"/cohorts/{cohort.id}/posters/mine")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def ics_events(response) -> dict[str, object]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    cal = Calendar.from_ical(response.data)
    assert str(cal["VERSION"]) == "2.0" and "projectflow" in str(cal["PRODID"])
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def uid(cohort, student_id, person) -> str:
    return f"poster-{cohort.id}-student-{student_id}-user-{person.id}@projectflow"


def local(moment, cohort, fmt="%H:%M") -> str:
    return moment.astimezone(cohort.zone).strftime(fmt)


def test_a_student_sees_their_slot_in_the_cohorts_time(client, login, allocated, published):
    c = allocated
    ann = c.students[0]
    slot = slot_of(published, ann)
    people = schedules.assessors_of(published)[ann.id]
    assessors = [p for p in (c.lee, c.kim, c.poe) if p.id in people]
    assert len(assessors) == 2
    text = main_text(page(login(ann), c.cohort))
    assert "Your poster slot" in text
    own = re.search(r"Your poster Day (.*?) Put your poster up", text).group(1)
    # The poster days are in British Summer Time: 10:00 London is 09:00 UTC, and the page says 10:00.
    assert local(slot.starts_at, c.cohort, "%H") != f"{slot.starts_at:%H}"
    assert f"{local(slot.starts_at, c.cohort, '%A %d %B %Y')} Time {local(slot.starts_at, c.cohort)}–" \
           f"{local(slot.ends_at, c.cohort)} Room {slot.room.name} Board {slot.board} Assessed by" in own
    assert all(p.name in own for p in assessors)
    assert "Europe/London time" in text
    # Nobody else's slot, and no table of posters to assess.
    assert "Posters you assess" not in text
    assert all(s.name not in text for s in c.students[1:])


def test_an_assessor_sees_every_poster_they_assess(client, login, allocated, published):
    c = allocated
    people = schedules.assessors_of(published)
    slots = schedules.slots_of(published)
    allocations = {s.id: matching.allocation_of(c.cohort, s) for s in c.students}
    anonymous_seen = 0
    for staff in (c.lee, c.kim, c.poe):
        theirs = [s for s in slots if staff.id in people[s.student_id]]
        html = page(switch(client, login, staff), c.cohort)
        text = main_text(html)
        bodies = re.findall(r'<table class="table align-middle assessing">.*?<tbody>(.*?)</tbody>', html, re.S)
        rows = [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for b in bodies for r in re.findall(r"<tr>(.*?)</tr>", b, re.S)]
        assert len(rows) == len(theirs) >= 1, (staff.name, rows)
        assert f"{len(theirs)} poster" in text
        for row, slot in zip(rows, theirs):
            allocation = allocations[slot.student_id]
            others = [p for p in (c.lee, c.kim, c.poe) if p.id in people[slot.student_id] and p != staff]
            assert row.startswith(f"{local(slot.starts_at, c.cohort)}–{local(slot.ends_at, c.cohort)} "
                                  f"{slot.room.name} {slot.board} ")
            assert all(o.name in row for o in others) and staff.name not in row
            assert allocation.project.title in row
            # The cohort marks anonymously: a second marker sees the candidate number, the supervisor the name.
            if allocation.supervisor_id == staff.id:
                assert allocation.student.name in row
            else:
                assert allocation.student.name not in html and "Candidate " in row
                anonymous_seen += 1
    assert anonymous_seen >= 1


def test_the_ics_file_has_the_slots_times_and_keeps_its_uids_across_publications(client, login, allocated,
                                                                                 published, poster_days):
    c = allocated
    morning, afternoon = poster_days
    ann = c.students[0]
    people = schedules.assessors_of(published)
    mine = [s for s in schedules.slots_of(published) if c.lee.id in people[s.student_id]]
    client = login(c.lee)
    response = client.get(f"/cohorts/{c.cohort.id}/posters/mine.ics")
    assert response.headers["Content-Disposition"].startswith("attachment; filename=\"poster-slots-")
    first = ics_events(response)
    assert set(first) == {uid(c.cohort, s.student_id, c.lee) for s in mine}
    for s in mine:
        e = first[uid(c.cohort, s.student_id, c.lee)]
        assert e.decoded("DTSTART") == s.starts_at and e.decoded("DTEND") == s.ends_at
        assert e.decoded("DTSTART").utcoffset() == timedelta(0)
        assert str(e["LOCATION"]) == f"{s.room.name}, board {s.board}"
        assert str(e["TRANSP"]) == "OPAQUE"
        assert str(e["URL"]) == f"{BASE}/cohorts/{c.cohort.id}/posters/mine"
        others = [p.name for p in (c.kim, c.poe) if p.id in people[s.student_id]]
        assert all(f"With {name}" in str(e["DESCRIPTION"]) for name in others)

    # A second schedule moves Ann's poster to the afternoon, and is published: the same events, moved.
    second = made(c.cohort, c.coordinator)
    step = timedelta(minutes=15)
    target = next(t for k in range(8) for room in afternoon.rooms
                  if schedules.check_change(second, ann, t := Target(afternoon.id, room.id,
                                                                     afternoon.starts_at + k * step)).ok)
    schedules.change(second, ann, target, by=c.coordinator)
    publish(second, c.coordinator)
    moved = slot_of(second, ann)
    assert moved.session_id == afternoon.id and moved.starts_at != slot_of(published, ann).starts_at
    again = ics_events(client.get(f"/cohorts/{c.cohort.id}/posters/mine.ics"))
    assert set(again) == set(first)
    key = uid(c.cohort, ann.id, c.lee)
    assert again[key].decoded("DTSTART") == moved.starts_at and again[key].decoded("DTEND") == moved.ends_at
    assert again[key].decoded("SEQUENCE") > first[key].decoded("SEQUENCE")
    assert again[key].decoded("LAST-MODIFIED") >= first[key].decoded("LAST-MODIFIED")

    # The coordinator moves Ann's poster once more in the published schedule: the event moves again, newer.
    target = next(t for k in range(8) for room in afternoon.rooms
                  if (t := Target(afternoon.id, room.id, afternoon.starts_at + k * step)).starts_at != moved.starts_at
                  and schedules.check_change(second, ann, t).ok)
    schedules.change(second, ann, target, by=c.coordinator)
    db.session.commit()
    third = ics_events(client.get(f"/cohorts/{c.cohort.id}/posters/mine.ics"))
    assert third[key].decoded("DTSTART") == target.starts_at
    assert third[key].decoded("SEQUENCE") > again[key].decoded("SEQUENCE")

    # The student's own file: one event, their own uid, with their assessors.
    events = ics_events(switch(client, login, ann).get(f"/cohorts/{c.cohort.id}/posters/mine.ics"))
    assert list(events) == [uid(c.cohort, ann.id, ann)]
    assert "Your poster" in str(events[uid(c.cohort, ann.id, ann)]["SUMMARY"])
    assert c.lee.name in str(events[uid(c.cohort, ann.id, ann)]["DESCRIPTION"])


def test_the_calendar_feed_holds_the_slots_as_timed_events(app, client, login, allocated, published):
    c = allocated
    ann = c.students[0]
    slot = slot_of(published, ann)
    people = schedules.assessors_of(published)
    for person, students in ((ann, [ann.id]), (c.lee, [s for s, p in people.items() if c.lee.id in p])):
        token = feeds.regenerate_feed(person)
        db.session.commit()
        events = ics_events(app.test_client().get(f"/calendar/{token}.ics"))
        assert set(events) == {uid(c.cohort, sid, person) for sid in students}
        for sid in students:
            e = events[uid(c.cohort, sid, person)]
            theirs = db.session.scalar(select(PosterSlot).where(PosterSlot.schedule_id == published.id,
                                                                PosterSlot.student_id == sid))
            assert e.decoded("DTSTART") == theirs.starts_at and e.decoded("DTEND") == theirs.ends_at
            assert str(e["TRANSP"]) == "OPAQUE" and "VALARM" not in [x.name for x in e.subcomponents]
    # The calendar page lists the student's slot beside the deadlines.
    text = main_text(login(ann).get("/calendar").get_data(as_text=True))
    assert f"Your poster slots When Where Poster Cohort {local(slot.starts_at, c.cohort, '%a %d %b %Y %H:%M')}–" in text
    assert f"{slot.room.name}, board {slot.board} Your poster" in text


def test_a_persons_slots_take_as_many_queries_however_many_posters(app, allocated, published):
    """An assessor of one poster and one of three: the page's and the feed's queries are the same."""
    c = allocated
    people = schedules.assessors_of(published)
    load = {p: sum(p.id in a for a in people.values()) for p in (c.lee, c.kim, c.poe)}
    fewest, most = min(load, key=load.get), max(load, key=load.get)
    assert load[fewest] >= 1 and load[most] > load[fewest]
    address = f"/cohorts/{c.cohort.id}/posters/mine"
    people = [(fewest.id, fewest.email), (most.id, most.email)]
    counts = {}
    for person_id, email in people:
        client = app.test_client()
        client.post("/login", data={"email": email, "password": "correct horse battery"})
        db.session.expunge_all()
        page_statements = statements_of(lambda: client.get(address))
        db.session.expunge_all()
        feed_statements = statements_of(lambda: feeds.calendar_for(db.session.get(User, person_id)))
        counts[person_id] = (page_statements, feed_statements)
    assert counts[people[0][0]] == counts[people[1][0]]


def test_the_poster_mark_sheet_shows_the_students_slot(client, login, allocated, poster_days):
    c = allocated
    ann = c.students[0]
    components = {k.key: k for k in assessment.set_up_marking(c.cohort, by=c.coordinator)}
    for key in ("poster", "report"):
        assessment.open_marking(components[key], by=c.coordinator)
    db.session.commit()
    mail.discard_queued()

    def sheet(key):
        return db.session.scalar(select(MarkSheet).where(MarkSheet.component_id == components[key].id,
                                                         MarkSheet.student_id == ann.id, MarkSheet.role == FIRST))

    client = login(c.lee)
    address = f"/marking/sheets/{sheet('poster').id}"
    assert 'id="poster-slot"' not in client.get(address).get_data(as_text=True)  # no schedule yet
    schedule = made(c.cohort, c.coordinator)
    assert 'id="poster-slot"' not in client.get(address).get_data(as_text=True)  # made, not published
    publish(schedule, c.coordinator)
    slot = slot_of(schedule, ann)
    html = client.get(address).get_data(as_text=True)
    found = re.search(r'<p id="poster-slot">(.*?)</p>', html, re.S).group(1)
    assert " ".join(re.sub(r"<[^>]+>", " ", found).split()) == (
        f"Poster slot: {local(slot.starts_at, c.cohort, '%a %d %b %Y, %H:%M')}–{local(slot.ends_at, c.cohort)}, "
        f"{slot.room.name}, board {slot.board} · your poster slots")
    assert f'href="/cohorts/{c.cohort.id}/posters/mine"' in found
    # The report's sheet is not about the poster session.
    assert 'id="poster-slot"' not in client.get(f"/marking/sheets/{sheet('report').id}").get_data(as_text=True)


def test_nothing_is_shown_before_publishing(app, client, login, allocated, poster_days):
    c = allocated
    made(c.cohort, c.coordinator)  # made and ready for review, not published
    for person in (c.students[0], c.lee):
        client = switch(client, login, person)
        text = main_text(page(client, c.cohort))
        assert "The poster schedule is not published yet" in text
        assert "Atrium" not in text and "board" not in text.lower()
        response = client.get(f"/cohorts/{c.cohort.id}/posters/mine.ics")
        assert response.status_code == 404
        assert "not published yet" in main_text(response.get_data(as_text=True))
        token = feeds.regenerate_feed(person)
        db.session.commit()
        assert "poster-" not in app.test_client().get(f"/calendar/{token}.ics").get_data(as_text=True)


def test_a_poster_without_a_slot_says_so(client, login, allocated, poster_days):
    """Dan cannot come to either session (accepted): the schedule places the others, and Dan is told."""
    c = allocated
    dan = c.students[3]
    availability.save_student_declarations(c.cohort, dan, {s.id: availability.StudentAnswer(True, "In hospital")
                                                           for s in poster_days}, by=dan)
    db.session.commit()
    for declaration in availability.answers_of(c.cohort, dan).values():
        availability.decide_declaration(declaration, accept=True, note="", by=c.coordinator)
    db.session.commit()
    publish(made(c.cohort, c.coordinator), c.coordinator)
    client = login(dan)
    text = main_text(page(client, c.cohort))
    assert "Your poster has no slot in the published schedule" in text
    response = client.get(f"/cohorts/{c.cohort.id}/posters/mine.ics")
    assert response.status_code == 404 and "no poster slot" in main_text(response.get_data(as_text=True))


def test_other_cohorts_people_and_strangers_are_refused(client, login, make, allocated, published):
    c = allocated
    other = make.cohort(code="OTH", year=2026)
    for person in (make.student(other, name="Stan Stranger"), make.staff(other, name="Otto Outsider"),
                   make.admin(name="Ada Min")):
        client = switch(client, login, person)
        for path in ("mine", "mine.ics"):
            response = client.get(f"/cohorts/{c.cohort.id}/posters/{path}")
            assert response.status_code == 403, (person.name, path)
            assert "Atrium" not in response.get_data(as_text=True)
    client.post("/logout")
    assert "/login" in client.get(f"/cohorts/{c.cohort.id}/posters/mine").location
    assert "/login" in client.get(f"/cohorts/{c.cohort.id}/posters/mine.ics").location


def test_the_home_pages_lead_to_the_slots_once_published(client, login, allocated, poster_days):
    c = allocated
    ann = c.students[0]
    mine = f"/cohorts/{c.cohort.id}/posters/mine"
    schedule = made(c.cohort, c.coordinator)
    assert href(login(ann).get("/student").get_data(as_text=True), "Poster sessions: when you can come")
    assert mine not in client.get("/student").get_data(as_text=True)
    publish(schedule, c.coordinator)
    assert href(client.get("/student").get_data(as_text=True), "Your poster slot") == mine
    assert href(switch(client, login, c.poe).get("/staff").get_data(as_text=True), "Posters you assess") == mine


def test_the_email_of_a_publication_leads_to_the_persons_slots(client, login, allocated, poster_days, smtp_server):
    c = allocated
    ann = c.students[0]
    schedule = made(c.cohort, c.coordinator)
    schedules.publish_schedule(schedule, by=c.coordinator)
    db.session.commit()
    smtp_server.wait_for(len(c.students) + 3)
    [message] = [m for m in smtp_server.messages if m["To"] == ann.email]
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/posters/mine\b", body).group(0)
    assert link == f"{BASE}/cohorts/{c.cohort.id}/posters/mine"
    slot = slot_of(schedule, ann)
    text = main_text(page(login(ann), c.cohort))
    assert f"Room {slot.room.name} Board {slot.board}" in text and f"board {slot.board}" in body
