"""Poster schedules in the app: made in the job runner, checked against the cohort's input as it is
now, changed by hand with the validator's checks, published to the people concerned."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta

import pytest
from sqlalchemy import select

from projectflow.core import jobs
from projectflow.core.outbox import OutboxMessage, text_of
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.posters import availability, schedules, services
from projectflow.posters.models import FAILED, PUBLISHED, QUEUED, SOLVED, SUPERSEDED, PosterSchedule, PosterSlot
from projectflow.posters.problem import problem_file
from projectflow.posters.schedules import Target
from projectflow.posters.services import RoomValues, SessionValues
from tests.forms import get_form
from tests.html import flashes, main_text
from tests.page_tour import StatementLog


def made(cohort, by):
    """A schedule started and made by the job runner, as the app does it."""
    schedule = schedules.start_schedule(cohort, by=by)
    db.session.commit()
    assert jobs.run_pending() == 1
    db.session.refresh(schedule)
    return schedule


def slot_of(schedule, student) -> PosterSlot:
    return db.session.scalar(select(PosterSlot).where(PosterSlot.schedule_id == schedule.id,
                                                      PosterSlot.student_id == student.id))


def test_a_schedule_is_made_in_the_job_runner_and_keeps_every_rule(allocated, poster_days):
    c = allocated
    schedule = schedules.start_schedule(c.cohort, by=c.coordinator)
    db.session.commit()
    assert schedule.state == QUEUED and schedule.problem == problem_file(c.cohort)
    assert jobs.run_pending() == 1
    db.session.refresh(schedule)
    assert schedule.state == SOLVED, schedule.error
    slots = schedules.slots_of(schedule)
    assert sorted(s.student_id for s in slots) == sorted(s.id for s in c.students)
    # Four posters, three assessors: at least one day each, and the result reaches it.
    assert schedule.lower_bound == schedule.assessor_days == 3
    found = schedules.standing(schedule)
    assert found.result.verdict.ok and found.problems == [] and not found.changed
    # Nobody is in two places at once, in the rows themselves.
    people = schedules.assessors_of(schedule)
    seen = set()
    for s in slots:
        for person in (*people[s.student_id], s.student_id):
            assert (person, s.starts_at) not in seen
            seen.add((person, s.starts_at))
    job = db.session.get(jobs.Job, schedule.job_id)
    assert job.state == jobs.DONE and "4 of 4 posters placed" in job.message


def test_one_schedule_is_made_at_a_time_and_only_by_coordinators(allocated, poster_days):
    c = allocated
    with pytest.raises(NotAllowed):
        schedules.start_schedule(c.cohort, by=c.lee)
    schedules.start_schedule(c.cohort, by=c.coordinator)
    with pytest.raises(InvalidState, match="still being made"):
        schedules.start_schedule(c.cohort, by=c.coordinator)


def test_nothing_to_schedule_is_refused_with_the_precheck(allocated, june):
    with pytest.raises(InvalidState, match="No poster session yet"):
        schedules.start_schedule(allocated.cohort, by=allocated.coordinator)


def test_an_availability_change_after_the_run_is_a_clash_until_moved(allocated, poster_days):
    c = allocated
    morning, afternoon = poster_days
    schedule = made(c.cohort, c.coordinator)
    # Dr Lee falls ill on the day: whichever session holds Lee's posters, Lee now cannot come to it.
    lee_slots = [s for s in schedules.slots_of(schedule) if c.lee.id in schedules.assessors_of(schedule)[s.student_id]]
    where = lee_slots[0].session
    availability.save_staff_availability(c.cohort, c.lee, {where.id: "unavailable"}, by=c.lee)
    db.session.commit()
    found = schedules.standing(schedule)
    assert found.changed
    assert any("Dr Lee" in p and "unavailable" in p for p in found.problems), found.problems
    review = schedules.review(schedule)
    clashing = [e for e in review.entries if e.state == "clash"]
    assert {e.slot.student_id for e in clashing} == {s.student_id for s in lee_slots if s.session_id == where.id}
    assert all("Dr Lee cannot come to this session." in e.clashes for e in clashing)
    with pytest.raises(InvalidState, match="breaks the rules as things stand now"):
        schedules.publish_schedule(schedule, by=c.coordinator)


def test_rescheduling_keeps_the_published_placements_that_still_hold(allocated, poster_days):
    c = allocated
    first = made(c.cohort, c.coordinator)
    schedules.publish_schedule(first, by=c.coordinator)
    db.session.commit()
    before = {s.student_id: (s.session_id, s.room_id, s.board, s.starts_at) for s in schedules.slots_of(first)}
    second = made(c.cohort, c.coordinator)
    after = {s.student_id: (s.session_id, s.room_id, s.board, s.starts_at) for s in schedules.slots_of(second)}
    assert after == before
    assert second.summary["keeps"] == first.number and second.summary["moved"] == 0


def test_moving_a_poster_is_checked_and_refused_when_it_breaks_a_rule(allocated, poster_days):
    c = allocated
    morning, afternoon = poster_days
    schedule = made(c.cohort, c.coordinator)
    slots = {s.student_id: s for s in schedules.slots_of(schedule)}
    people = schedules.assessors_of(schedule)
    ann, ben = c.students[0], c.students[1]
    # Put Ben's poster at the very time of a poster that shares an assessor with it: a clash.
    other = next(s for sid, s in slots.items() if sid != ben.id and set(people[sid]) & set(people[ben.id]))
    check = schedules.check_change(schedule, ben, Target(other.session_id, other.room_id, other.starts_at))
    assert not check.ok and any("two places at once" in p for p in check.problems), check
    with pytest.raises(ValidationFailed):
        schedules.change(schedule, ben, Target(other.session_id, other.room_id, other.starts_at), by=c.coordinator)
    # A free slot at the end of the afternoon, where nobody else is: allowed, and marked as moved by hand.
    last = afternoon.ends_at - timedelta(minutes=15)
    room = afternoon.rooms[0]
    check = schedules.check_change(schedule, ann, Target(afternoon.id, room.id, last))
    assert check.ok and check.problems == (), check
    schedules.change(schedule, ann, Target(afternoon.id, room.id, last), by=c.coordinator)
    db.session.commit()
    moved = slot_of(schedule, ann)
    assert (moved.session_id, moved.room_id, moved.starts_at, moved.is_moved) == (afternoon.id, room.id, last, True)
    assert moved.ends_at - moved.starts_at == timedelta(minutes=15)
    assert schedules.standing(schedule).problems == []


def test_swapping_two_posters_exchanges_their_places(allocated, poster_days):
    c = allocated
    schedule = made(c.cohort, c.coordinator)
    ann, dan = c.students[0], c.students[3]
    a, d = slot_of(schedule, ann), slot_of(schedule, dan)
    places = {ann.id: (a.session_id, a.room_id, a.starts_at, a.board), dan.id: (d.session_id, d.room_id, d.starts_at,
                                                                              d.board)}
    # Whether the swap keeps every rule depends on who else is busy at each other's times: either it
    # is made exactly, or it is refused and nothing moves.
    check = schedules.check_change(schedule, ann, swap_with=dan)
    if not check.ok:  # then the refusal is the validator's word, and nothing moves
        with pytest.raises(ValidationFailed):
            schedules.change(schedule, ann, swap_with=dan, by=c.coordinator)
        db.session.rollback()
        assert (slot_of(schedule, ann).starts_at, slot_of(schedule, dan).starts_at) == (places[ann.id][2],
                                                                                      places[dan.id][2])
        return
    schedules.change(schedule, ann, swap_with=dan, by=c.coordinator)
    db.session.commit()
    a, d = slot_of(schedule, ann), slot_of(schedule, dan)
    assert (a.session_id, a.room_id, a.starts_at, a.board) == places[dan.id]
    assert (d.session_id, d.room_id, d.starts_at, d.board) == places[ann.id]


def test_a_slot_outside_the_session_is_refused(allocated, poster_days):
    c = allocated
    morning, afternoon = poster_days
    schedule = made(c.cohort, c.coordinator)
    with pytest.raises(ValidationFailed, match="not a slot of the session"):
        schedules.check_change(schedule, c.students[0], Target(morning.id, morning.rooms[0].id,
                                                               morning.starts_at + timedelta(minutes=7)))
    with pytest.raises(ValidationFailed, match="not one of this cohort"):
        schedules.check_change(schedule, c.students[0], Target(morning.id, afternoon.rooms[0].id, morning.starts_at))


def test_publishing_tells_students_and_assessors_and_a_new_one_replaces_it(allocated, poster_days, smtp_server):
    c = allocated
    schedule = made(c.cohort, c.coordinator)
    schedules.publish_schedule(schedule, by=c.coordinator)
    db.session.commit()
    assessors = {a for group in schedules.assessors_of(schedule).values() for a in group}
    smtp_server.wait_for(len(c.students) + len(assessors))
    assert schedule.state == PUBLISHED and schedules.published_schedule(c.cohort) == schedule
    ann_slot = slot_of(schedule, c.students[0])
    notes = db.session.scalars(select(Notification).where(Notification.user_id == c.students[0].id)).all()
    assert any(f"board {ann_slot.board}" in n.message and n.link.endswith("/posters/mine") for n in notes)
    received = sorted(m["To"] for m in smtp_server.messages)
    everyone = {s.email for s in c.students} | {db.session.get(type(c.lee), a).email for a in assessors}
    assert received == sorted(everyone)
    assert c.co.email not in received  # a co-supervisor is not an assessor
    # The same form sent twice publishes nothing more.
    count = db.session.query(Notification).count()
    schedules.publish_schedule(schedule, by=c.coordinator)
    assert db.session.query(Notification).count() == count
    second = made(c.cohort, c.coordinator)
    schedules.publish_schedule(second, by=c.coordinator)
    db.session.commit()
    db.session.refresh(schedule)
    assert schedule.state == SUPERSEDED and second.state == PUBLISHED
    # Nothing changed between the two: nobody is told again.
    assert db.session.query(Notification).count() == count


def test_an_assessor_taken_off_a_poster_by_a_new_schedule_is_told(allocated, poster_days, smtp_server):
    c = allocated
    ann = c.students[0]
    member = services.add_panel_member(c.cohort, ann, c.co, by=c.coordinator)  # a co-supervisor assesses nothing else
    db.session.commit()
    first = made(c.cohort, c.coordinator)
    assert c.co.id in schedules.assessors_of(first)[ann.id]
    schedules.publish_schedule(first, by=c.coordinator)
    db.session.commit()
    services.remove_panel_member(member, by=c.coordinator)
    db.session.commit()
    second = made(c.cohort, c.coordinator)
    schedules.publish_schedule(second, by=c.coordinator)
    db.session.commit()
    assert all(c.co.id not in group for group in schedules.assessors_of(second).values())
    told = db.session.scalars(select(Notification.message).where(Notification.user_id == c.co.id)
                              .order_by(Notification.id)).all()
    assert told[-1] == f"You no longer assess any poster in the poster schedule of {c.cohort.title}."
    mailed = db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == c.co.id)
                                .order_by(OutboxMessage.id)).all()
    assert len(mailed) == 2 and "You no longer assess any poster" in text_of(mailed[-1])


def test_only_a_schedule_ready_for_review_is_published(allocated, poster_days):
    c = allocated
    schedule = schedules.start_schedule(c.cohort, by=c.coordinator)
    with pytest.raises(InvalidState, match="only a schedule ready for review"):
        schedules.publish_schedule(schedule, by=c.coordinator)


def test_a_session_removed_while_the_schedule_is_made_fails_it(allocated, poster_days):
    c = allocated
    schedule = schedules.start_schedule(c.cohort, by=c.coordinator)
    db.session.commit()
    for session in poster_days:  # removed after the start, before the job runner reads the input
        services.remove_session(session, by=c.coordinator)
    db.session.commit()
    jobs.run_pending()
    db.session.refresh(schedule)
    assert schedule.state == FAILED
    assert "changed while the schedule was being made" in schedule.error
    assert schedules.slots_of(schedule) == []


# --- through the pages -------------------------------------------------------------------------------

def test_the_coordinator_makes_reviews_changes_and_publishes_through_the_pages(allocated, poster_days, login):
    c = allocated
    morning, afternoon = poster_days
    client = login(c.coordinator, role="coordinator")
    base = f"/cohorts/{c.cohort.id}/posters/schedules"
    assert "No schedule yet" in client.get(base).get_data(as_text=True)
    started = get_form(client, base, action=base).submit(client)
    assert started.status_code == 302
    schedule = db.session.scalar(select(PosterSchedule))
    waiting = client.get(started.location).get_data(as_text=True)
    assert 'id="run-progress"' in waiting and "js/progress.js" in waiting
    status = client.get(f"{base}/{schedule.id}/progress").get_json()
    assert status["finished"] is False and status["job"]["state"] == "queued"
    # The same form sent again while the first is being made: refused, nothing more started.
    again = get_form(client, base, action=base).submit(client)
    assert again.status_code == 409 and "still being made" in flashes(again.get_data(as_text=True))[0]
    assert jobs.run_pending() == 1
    assert client.get(f"{base}/{schedule.id}/progress").get_json()["finished"] is True
    page = client.get(f"{base}/{schedule.id}").get_data(as_text=True)
    text = main_text(page)
    assert "4 of 4 posters placed" in text and "3 assessor-days, against a lower bound of 3" in text
    for s in c.students:
        assert s.name in text
    # The afternoon's grid: a room per row, a slot per column.
    afternoon_page = client.get(f"{base}/{schedule.id}?session={afternoon.id}").get_data(as_text=True)
    assert ">14:00<" in afternoon_page and ">15:45<" in afternoon_page and ">Atrium<" in afternoon_page.replace(
        "<div", "<").replace("\n", "")
    # Move Ann's poster to the afternoon's last slot, as the page's form sends it.
    ann = c.students[0]
    form = get_form(client, f"{base}/{schedule.id}?student={ann.id}", action=f"{base}/{schedule.id}/change")
    assert form.get("student") == str(ann.id)
    last = 7  # 14:00-16:00 in 15-minute slots: numbers 0 to 7
    form.set("target", f"{afternoon.rooms[0].id}-{last}")
    check = client.get(f"{base}/{schedule.id}/check?student={ann.id}&action=move&target={afternoon.rooms[0].id}-{last}")
    assert check.status_code == 200 and check.get_json()["ok"] is True
    moved = form.submit(client)
    assert moved.status_code == 302, flashes(moved.get_data(as_text=True))
    slot = slot_of(schedule, ann)
    assert slot.starts_at == afternoon.starts_at + timedelta(minutes=15 * last) and slot.is_moved
    assert "Moved by hand" in main_text(client.get(moved.location).get_data(as_text=True))
    # Publish, as the page sends it.
    published = get_form(client, f"{base}/{schedule.id}", action=f"{base}/{schedule.id}/publish").submit(client)
    assert published.status_code == 302
    db.session.refresh(schedule)
    assert schedule.state == PUBLISHED
    assert "is published" in flashes(client.get(published.location).get_data(as_text=True))[0]
    assessors = client.get(f"{base}/{schedule.id}/assessors").get_data(as_text=True)
    assert "Dr Lee" in assessors and "moved by hand" in assessors
    files = client.get(f"{base}/{schedule.id}/problem.json")
    assert files.status_code == 200 and files.get_json()["posters"][0]["id"].startswith("P")
    placements = client.get(f"{base}/{schedule.id}/schedule.json").get_json()
    assert placements["status"] == "complete" and len(placements["placements"]) == 4
    assert placements["validation"]["ok"] is True


def test_a_change_that_breaks_a_rule_is_refused_on_the_page_and_nothing_moves(allocated, poster_days, login):
    c = allocated
    schedule = made(c.cohort, c.coordinator)
    client = login(c.coordinator, role="coordinator")
    base = f"/cohorts/{c.cohort.id}/posters/schedules/{schedule.id}"
    slots = {s.student_id: s for s in schedules.slots_of(schedule)}
    people = schedules.assessors_of(schedule)
    ben = c.students[1]
    other = next(s for sid, s in slots.items() if sid != ben.id and set(people[sid]) & set(people[ben.id]))
    k = (other.starts_at - other.session.starts_at) // timedelta(minutes=15)
    form = get_form(client, f"{base}?student={ben.id}", action=f"{base}/change")
    form.set("target", f"{other.room_id}-{k}")
    refused = form.submit(client)
    assert refused.status_code == 422
    assert "two places at once" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert slot_of(schedule, ben).starts_at == slots[ben.id].starts_at


def test_a_live_check_reads_the_cohorts_input_once(allocated, poster_days, login):
    # The check finds the posters and checks the change against the same input: the answers that
    # count (the one query on poster_availability) are read once, for a move as for a swap.
    c = allocated
    schedule = made(c.cohort, c.coordinator)
    client = login(c.coordinator, role="coordinator")
    base = f"/cohorts/{c.cohort.id}/posters/schedules/{schedule.id}/check"
    ann, ben = c.students[:2]
    afternoon = poster_days[1]
    log = StatementLog(db.engine)
    try:
        for query in (f"student={ann.id}&action=move&target={afternoon.rooms[0].id}-7",
                      f"student={ann.id}&action=swap&other={ben.id}"):
            with log.recording() as seen:
                response = client.get(f"{base}?{query}")
            assert response.status_code == 200 and "ok" in response.get_json()
            assert sum("poster_availability" in s for s in seen) == 1, query
    finally:
        log.close()


@pytest.mark.parametrize("query, status", [
    ("student=abc&action=move&target=1-0", 404),
    ("student=999999&action=move&target=1-0", 404),
    ("action=move&target=1-0", 404),
    ("student={ann}&action=move&target=x", 422),
    ("student={ann}&action=move&target=99999999999-0", 422),
    ("student={ann}&action=move&target={room}-99999999", 422),
    ("student={ann}&action=swap&other={ann}", 422),
    ("student={ann}&action=swap&other=", 404),
])
def test_hostile_checks_are_answered_with_a_message(allocated, poster_days, login, query, status):
    c = allocated
    schedule = made(c.cohort, c.coordinator)
    client = login(c.coordinator, role="coordinator")
    query = query.format(ann=c.students[0].id, room=poster_days[0].rooms[0].id)
    response = client.get(f"/cohorts/{c.cohort.id}/posters/schedules/{schedule.id}/check?{query}")
    assert response.status_code == status
    assert response.get_json()["message"]


def test_only_the_cohorts_coordinators_see_its_schedules(allocated, poster_days, login):
    c = allocated
    schedule = made(c.cohort, c.coordinator)
    for person in (c.lee, c.students[0]):
        client = login(person)
        for path in ("", f"/{schedule.id}", f"/{schedule.id}/assessors", f"/{schedule.id}/problem.json",
                     f"/{schedule.id}/progress"):
            assert client.get(f"/cohorts/{c.cohort.id}/posters/schedules{path}").status_code == 403, (person, path)


def test_a_session_of_the_published_schedule_keeps_its_times_rooms_and_boards(allocated, poster_days, login):
    c = allocated
    morning, afternoon = poster_days
    schedule = made(c.cohort, c.coordinator)
    schedules.publish_schedule(schedule, by=c.coordinator)
    db.session.commit()
    used = [s for s in schedules.slots_of(schedule)]
    session = used[0].session
    room = used[0].room
    highest = max(s.board for s in used if s.room_id == room.id)
    rows = tuple(RoomValues(r.id, r.name, r.boards) for r in session.rooms)
    local = session.starts_at.astimezone(c.cohort.zone)
    values = SessionValues(local.date(), local.time(), session.ends_at.astimezone(c.cohort.zone).time(), rows)
    with pytest.raises(InvalidState, match="times people were told"):
        services.update_session(session, replace(values, starts=time(9)), by=c.coordinator)
    db.session.rollback()
    fewer = tuple(RoomValues(r.id, r.name, highest - 1 if r.id == room.id else r.boards) for r in rows)
    if highest > 1:
        with pytest.raises(InvalidState, match=f"uses board {highest} of {room.name}"):
            services.update_session(session, replace(values, rooms=fewer), by=c.coordinator)
        db.session.rollback()
    without = tuple(r for r in rows if r.id != room.id) + (RoomValues(None, "Library", 5),)
    with pytest.raises(InvalidState, match=f"has posters in {room.name}"):
        services.update_session(session, replace(values, rooms=without), by=c.coordinator)
    db.session.rollback()
    # More boards, or a room added, is fine.
    services.update_session(session, replace(values, rooms=rows + (RoomValues(None, "Library", 5),)), by=c.coordinator)
    db.session.commit()
    # Removing it, through the page, is refused with the reason; the session stays.
    client = login(c.coordinator, role="coordinator")
    page = f"/cohorts/{c.cohort.id}/posters/sessions/{session.id}"
    refused = get_form(client, page, action=f"{page}/remove").check("confirm").submit(client)
    assert refused.status_code == 409
    assert "Not removed: The published poster schedule has" in flashes(refused.get_data(as_text=True))[0]
    assert db.session.get(type(session), session.id) is not None
