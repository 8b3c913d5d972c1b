"""Setting the poster days up: settings, sessions and rooms, the window, panels, who assesses which
poster, the scheduler's input and the pre-check; the coordinator's pages."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.posters import availability, services
from projectflow.posters.models import Availability, PanelMember, PosterRoom, PosterSession, PosterSettings
from projectflow.posters.problem import precheck, problem_file, slots_in
from projectflow.posters.services import RoomValues, SessionValues
from tests.forms import get_form
from tests.html import field_error, flashes, main_text

from .conftest import JUNE, POSTER_DAY, session_values

LONDON = ZoneInfo("Europe/London")


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# --- settings --------------------------------------------------------------------------------------

def test_settings_are_the_defaults_until_changed_and_each_change_is_audited(allocated, june):
    c = allocated
    settings = services.settings_of(c.cohort)
    assert (settings.slot_minutes, settings.max_per_assessor_per_session) == (15, 8)
    assert db.session.get(PosterSettings, c.cohort.id) is None  # reading writes nothing
    services.save_settings(c.cohort, slot_minutes=20, max_per_assessor_per_session=6, by=c.coordinator)
    services.save_settings(c.cohort, slot_minutes=20, max_per_assessor_per_session=6, by=c.coordinator)
    db.session.commit()
    saved = db.session.get(PosterSettings, c.cohort.id)
    assert (saved.slot_minutes, saved.max_per_assessor_per_session) == (20, 6)
    assert actions().count("posters.settings_changed") == 1  # the second save changed nothing


@pytest.mark.parametrize("slot, most, field", [(4, 8, "slot_minutes"), (241, 8, "slot_minutes"),
                                               (15, 0, "max_per_assessor_per_session"),
                                               (15, 51, "max_per_assessor_per_session")])
def test_settings_out_of_range_are_refused(allocated, june, slot, most, field):
    with pytest.raises(ValidationFailed) as caught:
        services.save_settings(allocated.cohort, slot_minutes=slot, max_per_assessor_per_session=most,
                               by=allocated.coordinator)
    assert caught.value.field == field


def test_only_coordinators_set_poster_days_up(allocated, june):
    c = allocated
    with pytest.raises(NotAllowed):
        services.save_settings(c.cohort, slot_minutes=20, max_per_assessor_per_session=6, by=c.lee)
    with pytest.raises(NotAllowed):
        services.add_session(c.cohort, session_values(), by=c.lee)
    with pytest.raises(NotAllowed):
        availability.open_window(c.cohort, closes_at=None, by=c.students[0])


# --- sessions and rooms ----------------------------------------------------------------------------

def test_a_session_is_the_cohorts_wall_clock_time_stored_in_utc(allocated, june):
    c = allocated
    s = services.add_session(c.cohort, session_values(rooms=(("Atrium", 20), ("Room 2.14", 10))), by=c.coordinator)
    db.session.commit()
    # 10:00-12:00 London in September is 09:00-11:00 UTC (British Summer Time).
    assert s.starts_at == datetime(2027, 9, 14, 9, tzinfo=timezone.utc)
    assert s.ends_at == datetime(2027, 9, 14, 11, tzinfo=timezone.utc)
    assert [(r.name, r.boards) for r in s.rooms] == [("Atrium", 20), ("Room 2.14", 10)]
    assert services.session_label(s, LONDON) == "Tue 14 Sep 2027, 10:00–12:00"
    assert slots_in(s, 15) == 8
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "posters.session_added"))
    assert event.after["rooms"] == ["Atrium: 20", "Room 2.14: 10"] and event.object_id == s.id


def test_a_winter_session_keeps_its_wall_clock_time(allocated, june):
    s = services.add_session(allocated.cohort, session_values(day=date(2027, 12, 7)), by=allocated.coordinator)
    assert s.starts_at == datetime(2027, 12, 7, 10, tzinfo=timezone.utc)  # GMT: London = UTC


@pytest.mark.parametrize("values, field, message", [
    (session_values(starts=time(12), ends=time(10)), "ends", "ends before it starts"),
    (session_values(starts=time(12), ends=time(12)), "ends", "ends before it starts"),
    (session_values(day=date(2026, 12, 1)), "day", "within the cohort's year"),
    (session_values(day=date(2028, 1, 10)), "day", "within the cohort's year"),
    (session_values(day=date(2027, 5, 31)), "day", "in the past"),
    (session_values(rooms=()), "rooms", "at least one room"),
    (session_values(rooms=(("", None),)), "rooms", "at least one room"),
    (session_values(rooms=(("Atrium", None),)), "rooms", "how many poster boards “Atrium” has"),
    (session_values(rooms=(("", 12),)), "rooms", "with 12 boards a name"),
    (session_values(rooms=(("Atrium", 0),)), "rooms", "between 1 and 500"),
    (session_values(rooms=(("Atrium", 501),)), "rooms", "between 1 and 500"),
    (session_values(rooms=(("Atrium", 5), (" atrium ", 6))), "rooms", "Two rooms are called"),
    (session_values(rooms=(("A" * 81, 5),)), "rooms", "at most 80"),
])
def test_impossible_sessions_are_refused_with_the_field(allocated, june, values, field, message):
    with pytest.raises(ValidationFailed, match=message) as caught:
        services.add_session(allocated.cohort, values, by=allocated.coordinator)
    assert caught.value.field == field


@pytest.mark.parametrize("starts, ends", [(time(11), time(13)), (time(9), time(10, 1)), (time(9), time(13)),
                                          (time(10, 30), time(11))])
def test_sessions_of_a_cohort_never_overlap(allocated, june, starts, ends):
    c = allocated
    services.add_session(c.cohort, session_values(), by=c.coordinator)
    with pytest.raises(ValidationFailed, match="overlaps the session of Tue 14 Sep 2027, 10:00–12:00") as caught:
        services.add_session(c.cohort, session_values(starts=starts, ends=ends), by=c.coordinator)
    assert caught.value.field == "starts"


def test_sessions_may_touch_end_to_start(allocated, june):
    c = allocated
    services.add_session(c.cohort, session_values(), by=c.coordinator)
    services.add_session(c.cohort, session_values(starts=time(12), ends=time(13)), by=c.coordinator)
    assert len(services.sessions_of(c.cohort)) == 2


def test_editing_a_session_renames_resizes_adds_and_removes_rooms(allocated, june):
    c = allocated
    s = services.add_session(c.cohort, session_values(rooms=(("Atrium", 20), ("Room 2.14", 10), ("Foyer", 4))),
                             by=c.coordinator)
    db.session.commit()
    atrium, foyer, small = (next(r for r in s.rooms if r.name == n) for n in ("Atrium", "Foyer", "Room 2.14"))
    # Atrium and Foyer swap names (the unique name per session holds at every step), Room 2.14 goes,
    # a new room comes, and the session moves by an hour.
    values = SessionValues(POSTER_DAY, time(11), time(13), (
        RoomValues(atrium.id, "Foyer", 22), RoomValues(foyer.id, "Atrium", 4), RoomValues(small.id, "", None),
        RoomValues(None, "Library", 6), RoomValues(None, "", None)))
    services.update_session(s, values, by=c.coordinator)
    db.session.commit()
    db.session.expire_all()
    s = db.session.get(PosterSession, s.id)
    assert sorted((r.id, r.name, r.boards) for r in s.rooms if r.id in (atrium.id, foyer.id)) == \
        sorted([(atrium.id, "Foyer", 22), (foyer.id, "Atrium", 4)])
    assert sorted(r.name for r in s.rooms) == ["Atrium", "Foyer", "Library"]
    assert db.session.get(PosterRoom, small.id) is None
    assert s.starts_at == datetime(2027, 9, 14, 10, tzinfo=timezone.utc)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "posters.session_changed"))
    assert event.before["rooms"] == ["Atrium: 20", "Foyer: 4", "Room 2.14: 10"]
    assert event.after["rooms"] == ["Atrium: 4", "Foyer: 22", "Library: 6"]
    # Sent again unchanged: nothing to record.
    services.update_session(s, values, by=c.coordinator)
    assert actions().count("posters.session_changed") == 1


def test_a_room_of_another_session_cannot_be_edited_through_this_one(allocated, june):
    c = allocated
    one = services.add_session(c.cohort, session_values(), by=c.coordinator)
    other = services.add_session(c.cohort, session_values(starts=time(14), ends=time(16)), by=c.coordinator)
    values = SessionValues(POSTER_DAY, time(10), time(12), (RoomValues(other.rooms[0].id, "Stolen", 3),))
    with pytest.raises(ValidationFailed, match="not one of this session's"):
        services.update_session(one, values, by=c.coordinator)


def test_removing_a_session_removes_its_rooms_and_answers_and_says_so(allocated, poster_days):
    c = allocated
    morning, _ = poster_days
    availability.save_staff_availability(c.cohort, c.lee, {morning.id: "unavailable"}, by=c.lee)
    availability.save_student_declarations(c.cohort, c.students[0],
                                           {morning.id: availability.StudentAnswer(True, "Wedding")}, by=c.students[0])
    db.session.commit()
    assert services.remove_session(morning, by=c.coordinator) == 2
    db.session.commit()
    assert db.session.scalar(select(func.count(Availability.id))) == 0
    assert db.session.scalar(select(func.count(PosterRoom.id))) == 1  # the afternoon's
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "posters.session_removed"))
    assert "2 availability answers" in event.summary and event.before["availability_answers"] == 2


# --- the availability window -----------------------------------------------------------------------

def test_the_window_opens_once_there_are_sessions_and_tells_the_cohort(allocated, june, smtp_server):
    c = allocated
    with pytest.raises(InvalidState, match="Add the poster sessions first"):
        availability.open_window(c.cohort, closes_at=None, by=c.coordinator)
    services.add_session(c.cohort, session_values(), by=c.coordinator)
    with pytest.raises(ValidationFailed, match="has passed"):
        availability.open_window(c.cohort, closes_at=JUNE - timedelta(minutes=1), by=c.coordinator)
    with pytest.raises(ValidationFailed, match="before the first session"):
        availability.open_window(c.cohort, closes_at=datetime(2027, 9, 14, 9, 1, tzinfo=timezone.utc), by=c.coordinator)
    closes = datetime(2027, 7, 30, 16, tzinfo=timezone.utc)
    availability.open_window(c.cohort, closes_at=closes, by=c.coordinator)
    db.session.commit()
    settings = services.settings_of(c.cohort)
    assert availability.window_is_open(settings, JUNE)
    assert not availability.window_is_open(settings, closes)
    told = db.session.scalars(select(Notification).where(Notification.link.like("%/posters/availability"))).all()
    assert len(told) == 4 + 5  # the students and the staff (the coordinator included)
    assert "by Fri 30 Jul 2027 17:00" in told[0].message  # London time
    assert len(smtp_server.wait_for(9)) == 9
    # Moving the closing time of an open window tells nobody again; closing it keeps it closed.
    availability.open_window(c.cohort, closes_at=closes + timedelta(days=1), by=c.coordinator)
    availability.close_window(c.cohort, by=c.coordinator)
    availability.close_window(c.cohort, by=c.coordinator)
    db.session.commit()
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.link.like("%/posters/availability"))) == 9
    assert [a for a in actions() if a.startswith("posters.window")] == \
        ["posters.window_opened", "posters.window_changed", "posters.window_closed"]
    assert "closed on Tue 01 Jun 2027 11:00" in availability.window_closed_because(
        services.settings_of(c.cohort), JUNE, zone=LONDON)


# --- who assesses which poster ---------------------------------------------------------------------

def test_a_poster_is_assessed_by_supervisor_and_published_second_marker_and_panel(allocated, june):
    c = allocated
    found = services.posters(c.cohort)
    assert len(found) == 4
    for p in found:
        assert p.second_marker is not None and p.second_marker.id != p.supervisor.id
        assert [a.id for a in p.assessors] == [p.supervisor.id, p.second_marker.id]
        assert c.co.id not in {a.id for a in p.assessors}  # co-supervisors are not assessors by default
    ann = c.poster_of(c.students[0])
    services.add_panel_member(c.cohort, c.students[0], c.co, by=c.coordinator)
    db.session.commit()
    assert [a.id for a in c.poster_of(c.students[0]).assessors] == [ann.supervisor.id, ann.second_marker.id, c.co.id]
    with pytest.raises(ValidationFailed, match="already assesses"):
        services.add_panel_member(c.cohort, c.students[0], ann.supervisor, by=c.coordinator)
    with pytest.raises(ValidationFailed, match="not staff"):
        services.add_panel_member(c.cohort, c.students[0], c.students[1], by=c.coordinator)
    with pytest.raises(NotAllowed):
        services.add_panel_member(c.cohort, c.students[0], c.poe, by=c.lee)
    member = db.session.scalar(select(PanelMember))
    services.remove_panel_member(member, by=c.coordinator)
    db.session.commit()
    assert len(c.poster_of(c.students[0]).assessors) == 2
    assert [a for a in actions() if "panel" in a] == ["posters.panel_member_added", "posters.panel_member_removed"]


def test_no_posters_before_the_allocation_is_published(make, cohort, coordinator, june):
    make.student(cohort)
    assert services.posters(cohort) == []
    services.add_session(cohort, session_values(), by=coordinator)
    assert precheck(cohort) == ["No posters yet: the allocation is not published. Each allocated student "
                                "presents a poster, assessed by their supervisor and second marker."]


def test_second_markers_count_once_published(allocated, june):
    c = allocated
    c.cohort.second_markers_published_at = None
    assert all(p.second_marker is None and len(p.assessors) == 1 for p in services.posters(c.cohort))


# --- the scheduler's input --------------------------------------------------------------------------

def test_the_problem_file_is_the_schedulers_format(allocated, poster_days):
    c = allocated
    morning, afternoon = poster_days
    ann, ben = c.students[:2]
    ann_poster = c.poster_of(ann)
    availability.save_staff_availability(c.cohort, c.lee, {morning.id: "unavailable", afternoon.id: "if_needed"},
                                         by=c.lee)
    availability.save_staff_availability(c.cohort, c.co, {morning.id: "unavailable"}, by=c.co)  # on no poster
    availability.save_student_declarations(c.cohort, ann,
                                           {afternoon.id: availability.StudentAnswer(True, "Graduation")}, by=ann)
    availability.save_student_declarations(c.cohort, ben, {afternoon.id: availability.StudentAnswer(True, "Holiday")},
                                           by=ben)
    ann_row = availability.answers_of(c.cohort, ann)[afternoon.id]
    availability.decide_declaration(ann_row, accept=True, note="", by=c.coordinator)  # Ben's waits: it does not count
    db.session.commit()
    problem = problem_file(c.cohort)
    assert list(problem) == ["slot_minutes", "max_per_assessor_per_session", "sessions", "posters", "unavailable",
                             "if_needed"]
    assert problem["slot_minutes"] == 15 and problem["max_per_assessor_per_session"] == 8
    atrium, small = sorted(morning.rooms, key=lambda r: r.name)
    assert problem["sessions"][0] == {"id": f"S{morning.id}", "start": "2027-09-14T10:00:00+01:00",
                                      "end": "2027-09-14T12:00:00+01:00",
                                      "rooms": [{"id": f"R{atrium.id}", "boards": 20},
                                                {"id": f"R{small.id}", "boards": 10}]}
    assert problem["sessions"][1]["start"] == "2027-09-14T14:00:00+01:00"
    assert {"id": f"P{ann.id}", "assessors": [f"u{ann_poster.supervisor.id}", f"u{ann_poster.second_marker.id}"],
            "student": f"u{ann.id}"} in problem["posters"]
    assert len(problem["posters"]) == 4
    assert problem["unavailable"] == sorted([{"person": f"u{c.lee.id}", "session": f"S{morning.id}"},
                                             {"person": f"u{ann.id}", "session": f"S{afternoon.id}"}],
                                            key=lambda e: (e["session"], int(e["person"][1:])))
    assert problem["if_needed"] == [{"person": f"u{c.lee.id}", "session": f"S{afternoon.id}"}]
    json.dumps(problem)  # plain JSON


def test_the_problem_file_is_read_back_by_the_scheduler(allocated, poster_days):
    """The contract with the scheduler's own reader (``projectflow.solvers.posters_io``)."""
    reader = pytest.importorskip("projectflow.solvers.posters_io")
    c = allocated
    morning, _ = poster_days
    availability.save_staff_availability(c.cohort, c.kim, {morning.id: "if_needed"}, by=c.kim)
    problem = reader.poster_problem_from_dict(json.loads(json.dumps(problem_file(c.cohort))))
    assert len(problem.posters) == 4 and len(problem.sessions) == 2 and len(problem.if_needed) == 1


# --- the pre-check ---------------------------------------------------------------------------------

def test_the_precheck_names_too_few_boards_overloaded_assessors_and_posters_without_a_session(allocated, june):
    c = allocated
    assert precheck(c.cohort)[0].startswith("No poster session yet")
    s = services.add_session(c.cohort, session_values(starts=time(10), ends=time(10, 30), rooms=(("Atrium", 3),)),
                             by=c.coordinator)
    services.save_settings(c.cohort, slot_minutes=15, max_per_assessor_per_session=1, by=c.coordinator)
    problems = precheck(c.cohort)
    assert "4 posters but only 3 boards in all sessions: at least 1 cannot be placed." in problems
    # Room for one poster per assessor in the one session: everyone with more is named, in words.
    loads = {}
    for p in services.posters(c.cohort):
        for a in p.assessors:
            loads[a.name] = loads.get(a.name, 0) + 1
    assert sum(1 for p in problems if " is on " in p) == sum(1 for n in loads.values() if n > 1) > 0
    for name, n in loads.items():
        if n == 1:
            assert not any(p.startswith(name) for p in problems)
            continue
        assert f"{name} is on {n} posters but can be at most 1 in the sessions those posters can go to (1 in Tue " \
               f"14 Sep 10:00; one poster a slot, at most 1 a session): at least {n - 1} cannot be placed." in problems
    # A student whose declaration was accepted: their poster has no session left.
    availability.open_window(c.cohort, closes_at=None, by=c.coordinator)
    ann = c.students[0]
    availability.save_student_declarations(c.cohort, ann, {s.id: availability.StudentAnswer(True, "Surgery")}, by=ann)
    availability.decide_declaration(availability.answers_of(c.cohort, ann)[s.id], accept=True, note="",
                                    by=c.coordinator)
    assert "Ann Student's poster: its student Ann Student is unavailable in every session (Tue 14 Sep 10:00)." \
           in precheck(c.cohort)


def test_a_session_shorter_than_a_slot_is_named(allocated, june):
    c = allocated
    services.add_session(c.cohort, session_values(starts=time(10), ends=time(10, 10)), by=c.coordinator)
    assert "The session of Tue 14 Sep 2027, 10:00–10:10 is shorter than one slot of 15 minutes: lengthen it or " \
           "shorten the slots." in precheck(c.cohort)


def test_an_assessor_away_from_every_session_is_named(allocated, poster_days):
    c = allocated
    morning, afternoon = poster_days
    availability.save_staff_availability(c.cohort, c.kim, {morning.id: "unavailable", afternoon.id: "unavailable"},
                                         by=c.kim)
    problems = precheck(c.cohort)
    kims = [p for p in services.posters(c.cohort) if c.kim.id in {a.id for a in p.assessors}]
    for p in kims:
        assert any(x.startswith(f"{p.student.name}'s poster: its assessor Dr Kim is unavailable in every session "
                                "(Tue 14 Sep 10:00, Tue 14 Sep 14:00)") for x in problems), problems
    assert len(problems) == len(kims)


def test_nothing_to_say_when_everything_fits(allocated, poster_days):
    assert precheck(allocated.cohort) == []


# --- the coordinator's pages -----------------------------------------------------------------------

def test_the_coordinator_adds_edits_and_removes_a_session_through_the_pages(allocated, june, login):
    c = allocated
    client = login(c.coordinator, role="coordinator")
    base = f"/cohorts/{c.cohort.id}/posters"
    page = client.get(base).get_data(as_text=True)
    assert "No session yet" in page and "No poster session yet" in page
    form = get_form(client, base, action=f"{base}/sessions")
    form.set("day", "2027-09-14").set("starts", "10:00").set("ends", "12:00")
    form.set("room_name_0", "Atrium").set("room_boards_0", "20")
    form.set("room_name_1", "Room 2.14").set("room_boards_1", "10")
    response = form.submit(client)
    assert response.status_code == 302
    page = client.get(base).get_data(as_text=True)
    assert "Session of Tue 14 Sep 2027, 10:00–12:00 added." in flashes(page)
    assert "Atrium (20 boards), Room 2.14 (10 boards)" in main_text(page) and "30 board-sessions" in main_text(page)
    # The same form sent again (its one-time token spent) adds nothing.
    assert form.submit(client).status_code == 302
    assert db.session.scalar(select(func.count(PosterSession.id))) == 1
    session = db.session.scalar(select(PosterSession))
    edit = get_form(client, f"{base}/sessions/{session.id}", action=None, has_field="room_name_0")
    assert edit.get("starts") == "10:00" and edit.get("room_name_0") == "Atrium"
    edit.set("ends", "12:30").set("room_boards_1", "12")
    assert edit.submit(client).status_code == 302
    db.session.expire_all()
    assert session.ends_at == datetime(2027, 9, 14, 11, 30, tzinfo=timezone.utc)
    remove = get_form(client, f"{base}/sessions/{session.id}", action=f"{base}/sessions/{session.id}/remove")
    refused = remove.submit(client)
    assert refused.status_code == 422 and "Tick the box" in refused.get_data(as_text=True)
    assert remove.check("confirm").submit(client).status_code == 302
    assert db.session.scalar(select(func.count(PosterSession.id))) == 0


def test_settings_and_window_through_the_pages(allocated, june, login):
    c = allocated
    client = login(c.coordinator, role="coordinator")
    base = f"/cohorts/{c.cohort.id}/posters"
    services.add_session(c.cohort, session_values(), by=c.coordinator)
    db.session.commit()
    settings = get_form(client, base, action=f"{base}/settings")
    assert settings.get("slot_minutes") == "15"
    assert settings.set("slot_minutes", "20").submit(client).status_code == 302
    assert db.session.get(PosterSettings, c.cohort.id).slot_minutes == 20
    window = get_form(client, base, action=f"{base}/window", submit="Open the availability window")
    window.set("closes", "2027-07-30T17:00")
    assert window.submit(client, submit="Open the availability window").status_code == 302
    page = client.get(base).get_data(as_text=True)
    assert "closing Fri 30 Jul 2027 17:00" in page
    close = get_form(client, base, action=f"{base}/window", submit="Close it now")
    assert close.get("closes") == "2027-07-30T17:00"  # the closing time, in London time
    assert close.submit(client, submit="Close it now").status_code == 302
    assert "Closed on Tue 01 Jun 2027 11:00" in client.get(base).get_data(as_text=True)


@pytest.mark.parametrize("fields, field_id, message", [
    ({"day": "2027-02-30"}, "day", "Not a valid date"),
    ({"day": "9999-12-31"}, "day", "between the years"),
    ({"ends": "09:00"}, "ends", "ends before it starts"),
    ({"starts": "25:00"}, "starts", "Not a valid time"),
    ({"room_boards_0": str(2**63)}, "room_boards_0", "far too large"),
    ({"room_boards_0": "-1"}, "room_boards_0", "between 1 and 500"),
    ({"room_name_0": "Atr\x00ium\r\nBcc: x"}, "room_name_0", "one line"),
])
def test_hostile_session_forms_are_refused_next_to_the_field(allocated, june, login, fields, field_id, message):
    c = allocated
    client = login(c.coordinator, role="coordinator")
    base = f"/cohorts/{c.cohort.id}/posters"
    form = get_form(client, base, action=f"{base}/sessions")
    form.set("day", "2027-09-14").set("starts", "10:00").set("ends", "12:00").set("room_name_0", "Atrium")
    form.set("room_boards_0", "20")
    for name, value in fields.items():
        form.set(name, value)
    response = form.submit(client)
    assert response.status_code == 422
    assert message in (field_error(response.get_data(as_text=True), field_id) or "")
    assert db.session.scalar(select(func.count(PosterSession.id))) == 0


def test_a_service_refusal_on_the_rooms_is_shown_by_the_rooms(allocated, june, login):
    c = allocated
    client = login(c.coordinator, role="coordinator")
    base = f"/cohorts/{c.cohort.id}/posters"
    form = get_form(client, base, action=f"{base}/sessions")
    form.set("day", "2027-09-14").set("starts", "10:00").set("ends", "12:00").set("room_name_0", "Atrium")
    response = form.submit(client)
    assert response.status_code == 422
    assert "how many poster boards “Atrium” has" in field_error(response.get_data(as_text=True), "rooms")
    form.set("room_boards_0", "4").set("room_id_0", str(2**63))  # a room id that is none of this session's
    response = form.submit(client)
    assert response.status_code == 422 and "not one of this session's" in field_error(response.get_data(as_text=True),
                                                                                      "rooms")


def test_who_may_not_set_poster_days_up(allocated, poster_days, client, login, make):
    c = allocated
    morning, _ = poster_days
    base = f"/cohorts/{c.cohort.id}/posters"
    for person in (c.lee, c.students[0]):
        client.post("/logout")
        client = login(person)
        for path in (base, f"{base}/sessions/{morning.id}", f"{base}/declarations"):
            assert client.get(path).status_code == 403
        assert client.post(f"{base}/sessions/{morning.id}/remove", data={"confirm": "y"}).status_code == 403
    other = make.cohort(coordinator=make.coordinator(name="Other Coordinator"))
    client.post("/logout")
    client = login(next(s.member for s in other.staff if s.is_coordinator), role="coordinator")
    assert client.get(f"/cohorts/{other.id}/posters/sessions/{morning.id}").status_code == 404
    assert client.get(f"/cohorts/{other.id}/posters/sessions/{2**63}").status_code == 404
    assert db.session.scalar(select(func.count(PosterSession.id))) == 2
