"""The poster day's programme (PDF), read back from the printed file: each poster at its time and board
under its session and room, as the schedule places it; each room's boards in order with the free ones;
candidate numbers on the published programme of an anonymous cohort, whoever downloads it; DRAFT and
the posters without a slot on a coordinators' copy; who may read which; a fixed number of queries."""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

import pytest
from pypdf import PdfReader

from projectflow.core import clock, jobs, mail
from projectflow.extensions import db
from projectflow.matching import second_markers
from projectflow.matching import services as matching
from projectflow.posters import availability, programme, schedules, services
from projectflow.posters.models import PosterSchedule, PosterSlot
from tests.factories import Factories
from tests.page_tour import StatementLog

from .conftest import JUNE, session_values

BAND = re.compile(r"^(?P<room>.+?) · (?P<session>\w{3} \d{2} \w{3} \d{4}, \d{2}:\d{2}–\d{2}:\d{2})$")


def pages_of(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def text_of(data: bytes) -> str:
    return "\n".join(pages_of(data))


def tables(text: str) -> dict[tuple[str, str, str], list[str]]:
    """The lines under each table's room band: ("times" or "boards", room, session label) -> lines.
    A band repeats on every page its table crosses, so the lines of a long table stay together."""
    found: dict[tuple[str, str, str], list[str]] = {}
    part, current = "times", None
    for line in (raw.strip() for raw in text.splitlines()):
        if line.startswith("Boards — "):
            part, current = "boards", None
        elif line.startswith("Posters without a slot"):
            part, current = "unplaced", None
        elif (band := BAND.match(line)) is not None:
            current = (part, band["room"], band["session"])
            found.setdefault(current, [])
        elif re.fullmatch(r"\w{3} \d{2} \w{3} \d{4}, \d{2}:\d{2}–\d{2}:\d{2}", line):
            part, current = "times", None  # a session's heading
        elif current is not None:
            found[current].append(line)
    return found


def section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1] if heading in text else ""


@dataclass
class Expected:
    """What the programme should say of each slot, read from the database, not from the programme."""

    session: str
    room: str
    times_row: str
    board_row: str
    student_id: int


def expected_rows(schedule: PosterSchedule, label) -> list[Expected]:
    cohort = schedule.cohort
    zone = cohort.zone
    titles = {a.student_id: a.project.title for a in matching.published_run(cohort).allocations}
    people = schedules.assessors_of(schedule)
    names = {u.id: u.name for s in services.posters(cohort) for u in s.assessors}
    rows = []
    for slot in db.session.query(PosterSlot).filter_by(schedule_id=schedule.id):
        start, end = slot.starts_at.astimezone(zone), slot.ends_at.astimezone(zone)
        when = f"{start:%H:%M}–{end:%H:%M}"
        who = label(slot.student)
        assessors = ", ".join(names[a] for a in people[slot.student_id])
        rows.append(Expected(services.session_label(slot.session, zone), slot.room.name,
                             f"{when} {slot.board} {who} {titles[slot.student_id]} {assessors}",
                             f"{slot.board} {who} {titles[slot.student_id]} {when}", slot.student_id))
    return rows


def candidate(cohort):
    numbers = dict(services.candidate_numbers(cohort, [e.user_id for e in cohort.enrolments]))
    return lambda student: f"Candidate {numbers[student.id]}"


@pytest.fixture
def solved(allocated, poster_days):
    """Schedule 1 of the cohort, made by the job runner and ready for review (a draft)."""
    c = allocated
    schedule = schedules.start_schedule(c.cohort, by=c.coordinator)
    db.session.commit()
    assert jobs.run_pending() >= 1
    db.session.refresh(schedule)
    assert schedule.state == "solved", schedule.error
    return schedule


@pytest.fixture
def published(allocated, solved):
    schedules.publish_schedule(solved, by=allocated.coordinator)
    mail.discard_queued()
    db.session.commit()
    return solved


@pytest.fixture
def signed_in(app):
    """A client of its own for each person (signing in again on one client keeps the first person)."""

    def client_of(user):
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": Factories.PASSWORD})
        assert response.status_code == 302
        return client

    return client_of


def flat(text: str) -> str:
    """The text with its line breaks as spaces: a sentence may wrap anywhere."""
    return " ".join(text.split())


def programme_url(cohort, schedule=None) -> str:
    if schedule is None:
        return f"/cohorts/{cohort.id}/posters/programme.pdf"
    return f"/cohorts/{cohort.id}/posters/schedules/{schedule.id}/programme.pdf"


def get_pdf(client, url) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    return response.data


# --- what the programme says -------------------------------------------------------------------------

def test_the_published_programme_shows_each_poster_at_its_time_and_board_under_its_session_and_room(
        allocated, published, signed_in):
    c = allocated
    text = text_of(get_pdf(signed_in(c.students[0]), programme_url(c.cohort)))
    found = tables(text)
    rows = expected_rows(published, candidate(c.cohort))
    assert len(rows) == 4
    for row in rows:
        assert row.times_row in found[("times", row.room, row.session)], row
        assert row.board_row in found[("boards", row.room, row.session)], row
        # ... and under no other room or session
        assert [key for key, lines in found.items() if row.times_row in lines or row.board_row in lines] == [
            ("times", row.room, row.session), ("boards", row.room, row.session)]
    assert "Published on 01 June 2027" in flat(text) and "DRAFT" not in text
    assert "All times are Europe/London time (BST, UTC+01:00)" in flat(text)
    assert "Posters without a slot" not in text


def test_each_rooms_board_list_runs_from_board_1_to_its_last_with_the_free_boards(allocated, published, signed_in):
    c = allocated
    text = text_of(get_pdf(signed_in(c.lee), programme_url(c.cohort)))
    found = tables(text)
    zone = c.cohort.zone
    for session in services.sessions_of(c.cohort):
        label = services.session_label(session, zone)
        for room in session.rooms:
            taken = {s.board for s in db.session.query(PosterSlot).filter_by(schedule_id=published.id, room_id=room.id)}
            if not taken:
                assert ("boards", room.name, label) not in found
                continue
            lines = found["boards", room.name, label]
            numbers = [line.split(" ", 1)[0] for line in lines if re.match(r"\d+(–\d+)? ", line)]
            covered = [b for n in numbers for b in range(int(n.split("–")[0]), int(n.split("–")[-1]) + 1)]
            assert covered == list(range(1, room.boards + 1)), (room.name, numbers)
            for n in numbers:
                line = next(line for line in lines if line.startswith(f"{n} "))
                first, last = int(n.split("–")[0]), int(n.split("–")[-1])
                if first in taken:
                    assert "Candidate" in line
                elif first == last:
                    assert line == f"{n} free"
                else:
                    assert line == f"{n} free ({last - first + 1} boards)"


def test_a_poster_moved_by_hand_is_printed_where_it_now_is(allocated, solved, poster_days, signed_in):
    c = allocated
    morning, afternoon = poster_days
    student = c.students[2]
    busy = {s.starts_at for s in schedules.slots_of(solved)}
    start = next(afternoon.starts_at + timedelta(minutes=15 * k) for k in range(8)
                 if afternoon.starts_at + timedelta(minutes=15 * k) not in busy)
    schedules.change(solved, student, schedules.Target(afternoon.id, afternoon.rooms[0].id, start), by=c.coordinator)
    db.session.commit()
    slot = db.session.query(PosterSlot).filter_by(schedule_id=solved.id, student_id=student.id).one()
    assert (slot.session_id, slot.starts_at, slot.is_moved) == (afternoon.id, start, True)
    text = text_of(get_pdf(signed_in(c.coordinator), programme_url(c.cohort, solved)))
    found = tables(text)
    label = services.session_label(afternoon, c.cohort.zone)
    when = f"{start.astimezone(c.cohort.zone):%H:%M}–{slot.ends_at.astimezone(c.cohort.zone):%H:%M}"
    mine = [(key, line) for key, lines in found.items() for line in lines if student.name in line]
    assert [key for key, _ in mine] == [("times", "Atrium", label), ("boards", "Atrium", label)]
    assert mine[0][1].startswith(f"{when} {slot.board} {student.name} (")
    assert mine[1][1].startswith(f"{slot.board} {student.name} (") and mine[1][1].endswith(when)


# --- who is named ------------------------------------------------------------------------------------

def test_an_anonymous_cohorts_published_programme_shows_candidate_numbers_to_everyone(allocated, published, signed_in):
    c = allocated
    assert c.cohort.marks_anonymously
    texts = {who: text_of(get_pdf(signed_in(person), programme_url(c.cohort)))
             for who, person in (("student", c.students[0]), ("supervisor", c.lee), ("coordinator", c.coordinator))}
    label = candidate(c.cohort)
    for who, text in texts.items():
        for student in c.students:
            assert student.name not in flat(text), (who, student.name)
            assert label(student) in text
        assert "The cohort marks anonymously: students are shown by candidate number" in flat(text)
        assert "Candidate Project Assessors" in text  # the column is headed as what it shows
    # One document, whoever downloads it (the time it was printed aside).
    assert texts["student"] == texts["supervisor"] == texts["coordinator"]


def test_a_named_cohorts_programme_names_its_students(allocated, published, signed_in):
    c = allocated
    c.cohort.marks_anonymously = False
    db.session.commit()
    text = text_of(get_pdf(signed_in(c.students[1]), programme_url(c.cohort)))
    found = tables(text)
    for row in expected_rows(published, lambda student: student.name):
        assert row.times_row in found[("times", row.room, row.session)]
    assert "Candidate" not in text and "Student Project Assessors" in text
    assert "anonymously" not in text


def test_the_coordinators_copy_names_students_with_their_candidate_numbers(allocated, published, signed_in):
    c = allocated
    numbers = dict(services.candidate_numbers(c.cohort, [s.id for s in c.students]))
    text = text_of(get_pdf(signed_in(c.coordinator), programme_url(c.cohort, published)))
    found = tables(text)
    for row in expected_rows(published, lambda student: f"{student.name} ({numbers[student.id]})"):
        assert row.times_row in found[("times", row.room, row.session)]
    assert "Coordinators’ copy: students are named" in flat(text)
    assert "DRAFT" not in text  # the published schedule's own copy


# --- drafts and posters without a slot ---------------------------------------------------------------

def test_a_draft_says_draft_on_every_page_and_lists_the_posters_without_a_slot(allocated, poster_days, signed_in):
    c = allocated
    morning, afternoon = poster_days
    # Dr Poe cannot come to either session: the posters Poe assesses cannot be placed.
    availability.save_staff_availability(c.cohort, c.poe, {morning.id: "unavailable", afternoon.id: "unavailable"},
                                         by=c.poe)
    db.session.commit()
    stranded = {p.student.id for p in services.posters(c.cohort) if c.poe.id in {a.id for a in p.assessors}}
    assert stranded
    schedule = schedules.start_schedule(c.cohort, by=c.coordinator)
    db.session.commit()
    jobs.run_pending()
    db.session.refresh(schedule)
    assert schedule.state == "solved", schedule.error
    data = get_pdf(signed_in(c.coordinator), programme_url(c.cohort, schedule))
    pages = pages_of(data)
    assert all("DRAFT" in page for page in pages)
    text = "\n".join(pages)
    assert "DRAFT — Schedule 1 is not published: places and times may still change" in flat(text)
    unplaced = section(text, "Posters without a slot")
    numbers = dict(services.candidate_numbers(c.cohort, [s.id for s in c.students]))
    timetable = text.split("Posters without a slot")[0]
    for student in c.students:
        named = f"{student.name} ({numbers[student.id]})"
        if student.id in stranded:
            assert named in unplaced and named not in timetable
        else:
            assert named in timetable and named not in unplaced
    assert "Dr Poe" in unplaced  # the assessors, and the reason in people's names
    assert not re.search(r"\bu\d+\b", unplaced)


def test_a_replaced_schedules_copy_says_it_is_not_the_programme_in_force(allocated, published, signed_in):
    c = allocated
    later = schedules.start_schedule(c.cohort, by=c.coordinator)
    db.session.commit()
    jobs.run_pending()
    db.session.refresh(later)
    schedules.publish_schedule(later, by=c.coordinator)
    mail.discard_queued()
    db.session.commit()
    assert db.session.get(PosterSchedule, published.id).state == "superseded"
    text = text_of(get_pdf(signed_in(c.coordinator), programme_url(c.cohort, published)))
    assert "DRAFT — Schedule 1 was replaced by a later schedule: not the programme in force" in flat(text)
    assert "Schedule 2" in text_of(get_pdf(signed_in(c.students[0]), programme_url(c.cohort)))


# --- who may read which ------------------------------------------------------------------------------

def test_nothing_published_is_a_404_that_says_so(allocated, solved, signed_in):
    c = allocated
    response = signed_in(c.students[0]).get(programme_url(c.cohort))
    assert response.status_code == 404
    assert "not published yet" in response.get_data(as_text=True)


def test_a_draft_is_for_the_coordinators_only(allocated, solved, signed_in, make):
    c = allocated
    for person in (c.students[0], c.lee, c.poe):
        assert signed_in(person).get(programme_url(c.cohort, solved)).status_code == 403
    outsider = make.student(make.cohort())
    assert signed_in(outsider).get(programme_url(c.cohort, solved)).status_code == 403
    assert signed_in(c.coordinator).get(programme_url(c.cohort, solved)).status_code == 200


def test_the_published_programme_is_for_the_cohort_only(allocated, published, signed_in, make):
    c = allocated
    other = make.cohort()
    outsider = make.student(other)
    other_coordinator = next(s.member for s in other.staff if s.is_coordinator)
    assert signed_in(outsider).get(programme_url(c.cohort)).status_code == 403
    assert signed_in(other_coordinator).get(programme_url(c.cohort)).status_code == 403
    # Another cohort's id with this cohort's schedule: not found, even for that cohort's coordinator.
    assert signed_in(other_coordinator).get(programme_url(other, published)).status_code == 404


def test_a_schedule_without_slots_has_no_programme(allocated, published, signed_in):
    c = allocated
    queued = schedules.start_schedule(c.cohort, by=c.coordinator)
    db.session.commit()
    response = signed_in(c.coordinator).get(programme_url(c.cohort, queued))
    assert response.status_code == 404
    assert "Schedule 2 has no slots (waiting for the job runner)" in response.get_data(as_text=True)


# --- a larger cohort ---------------------------------------------------------------------------------

GIVEN = ("Amara", "Bo", "Chiara", "Dmitri", "Eun-ji", "Farid", "Gwen", "Hiroshi", "Ines", "Jonas", "Kwame", "Lena",
         "Mateo", "Noor", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tendai", "Uma", "Viktor", "Wen", "Yusuf")
FAMILY = ("Okafor", "Lindqvist", "Nakamura", "Fernández-Castillo", "Kowalczyk", "Haddad", "O'Brien", "Zhang",
          "Abernathy-Whitfield", "Nguyen", "Mbeki", "Rossi")
TOPICS = ("Graph neural networks for traffic forecasting", "Uncertainty in medical image segmentation",
          "Robust speech recognition in noisy classrooms", "Federated learning on wearable sensor data",
          "Explaining credit-scoring models to the people they score: counterfactuals under constraints",
          "Reinforcement learning for warehouse robots", "Protein structure from sparse contact maps")


@dataclass
class Large:
    cohort: object
    coordinator: object
    students: list
    schedule: PosterSchedule


def large_cohort(make, n_students: int, n_staff: int, *, publish: bool = True) -> Large:
    """A cohort of ``n_students`` allocated to ``n_staff`` supervisors, second markers published, two
    poster days of two sessions (the demo's rooms), and its schedule made (and published)."""
    with clock.frozen(datetime(2026, 11, 20, 9, tzinfo=timezone.utc)):
        coordinator = make.coordinator()
        cohort = make.cohort(coordinator=coordinator)
        cohort.min_preferences = 1
        db.session.commit()
        load = math.ceil(n_students / n_staff) + 1
        staff = [make.staff(cohort, name=f"Dr {FAMILY[i % len(FAMILY)]} {i + 1}", max_load=load) for i in range(n_staff)]
        projects = [make.project(cohort, owner=s, capacity=load, title=TOPICS[i % len(TOPICS)])
                    for i, s in enumerate(staff)]
        students = []
        for i in range(n_students):
            name = f"{GIVEN[i % len(GIVEN)]} {FAMILY[(i * 7) % len(FAMILY)]}"
            students.append(make.student(cohort, name=name))
            make.preferences(cohort, students[-1], [projects[i % n_staff], projects[(i + 1) % n_staff]])
        run = matching.start_run(cohort, objective="min-cost", by=coordinator)
        db.session.commit()
        assert jobs.run_pending() >= 1
        db.session.refresh(run)
        matching.publish_run(run, by=coordinator)
        second_markers.assign_second_markers(cohort, by=coordinator)
        second_markers.publish_second_markers(cohort, by=coordinator)
        mail.discard_queued()
        db.session.commit()
    with clock.frozen(JUNE):
        for day in (14, 15):
            date = JUNE.date().replace(month=9, day=day)
            services.add_session(cohort, session_values(day=date, starts=time(10), ends=time(12, 30),
                                                        rooms=(("Atrium", 24), ("Seminar room 2.14", 12))),
                                 by=coordinator)
            services.add_session(cohort, session_values(day=date, starts=time(14), ends=time(16, 30),
                                                        rooms=(("Atrium", 24),)), by=coordinator)
        schedule = schedules.start_schedule(cohort, by=coordinator)
        db.session.commit()
        assert jobs.run_pending() >= 1
        db.session.refresh(schedule)
        assert schedule.state == "solved", schedule.error
        if publish:
            schedules.publish_schedule(schedule, by=coordinator)
        mail.discard_queued()
        db.session.commit()
    return Large(cohort, coordinator, students, schedule)


def test_the_programme_is_read_in_the_same_number_of_queries_for_4_posters_or_24(app, make, allocated, published,
                                                                                  monkeypatch):
    monkeypatch.setitem(app.config, "POSTER_SOLVE_SECONDS", 5)
    large = large_cohort(make, 24, 6)
    assert db.session.query(PosterSlot).filter_by(schedule_id=large.schedule.id).count() == 24
    log = StatementLog(db.engine)
    counts = {}
    try:
        for name, schedule, reader in (("small", published, allocated.coordinator),
                                       ("large", large.schedule, large.coordinator)):
            for public in (True, False):
                schedule_id, reader_id = schedule.id, reader.id
                db.session.expire_all()
                schedule = db.session.get(PosterSchedule, schedule_id)
                reader = db.session.get(type(reader), reader_id)
                cohort = schedule.cohort
                cohort.can_manage(reader)  # what the view asked before
                with log.recording() as seen:
                    found = programme.programme(schedule, public=public, reader=reader)
                counts[name, public] = len(seen)
                assert found.posters == (4 if name == "small" else 24)
    finally:
        log.close()
    assert counts["small", True] == counts["large", True]
    assert counts["small", False] == counts["large", False]
    assert max(counts.values()) <= 12, counts
