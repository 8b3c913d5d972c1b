"""The day before a poster day: each assessor is sent the posters they assess that day, and each student
their own slot, from the cohort's published poster schedule (issue 14).

- One message per person, cohort and day, sent from ``SEND_FROM`` (08:00 in the cohort's zone) the day
  before, and not once the day has started (a scheduler down until then sends nothing: the day's
  programme is on the person's slots page).
- The key names the person, the cohort, the day, the schedule's number and a short hash of what the
  message says about their slots (times, rooms, boards, students, assessors):
  ``poster-day:u<user>:c<cohort>:<day>:n<number>:<hash>``. A poster moved, or another schedule published,
  after the reminder went out makes a new key for those whose slots changed, and only for them: they are
  sent the day again, marked "changed" (a new schedule that leaves someone's day as it was sends them
  nothing: the hash they were sent is looked up whatever the schedule's number). Someone who no longer has
  a slot that day is told by the change itself (``posters.schedules``), not here.
- Times are in the cohort's zone; students are named as ``naming`` decides (an assessor who is not the
  student's supervisor, in a cohort that marks anonymously, reads the candidate number).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..cohorts.models import Cohort
from ..core import outbox
from ..extensions import db
from ..people.models import User
from ..posters.models import PUBLISHED, PosterSchedule, PosterSession, PosterSlot
from ..posters.schedules import assessors_of
from .naming import Naming, naming
from .rules import Due, rule

SEND_FROM = time(8)  # in the cohort's zone, the day before


def _times(slot: PosterSlot, cohort: Cohort) -> str:
    return f"{slot.starts_at.astimezone(cohort.zone):%H:%M}–{slot.ends_at.astimezone(cohort.zone):%H:%M}"


def _digest(parts: list[tuple]) -> str:
    return hashlib.sha256(repr(sorted(parts)).encode()).hexdigest()[:8]


@rule
def poster_day(now: datetime) -> Iterable[Due]:
    """Tomorrow's poster slots, to each assessor and student, from the published schedules."""
    # Cohorts with a session starting within two days (whatever their zone): the others have no tomorrow.
    near = select(PosterSession.cohort_id).where(PosterSession.starts_at > now,
                                                 PosterSession.starts_at <= now + timedelta(days=2))
    for cohort, schedule in db.session.execute(
            select(Cohort, PosterSchedule).join(PosterSchedule, PosterSchedule.cohort_id == Cohort.id)
            .where(PosterSchedule.state == PUBLISHED, Cohort.id.in_(near)).order_by(Cohort.id)).all():
        local = now.astimezone(cohort.zone)
        if local.time() < SEND_FROM:
            continue
        yield from _for_day(cohort, schedule, local.date() + timedelta(days=1))


def _for_day(cohort: Cohort, schedule: PosterSchedule, day: date) -> Iterable[Due]:
    start = datetime.combine(day, time(0), cohort.zone)
    end = datetime.combine(day + timedelta(days=1), time(0), cohort.zone)
    slots = list(db.session.scalars(
        select(PosterSlot).where(PosterSlot.schedule_id == schedule.id, PosterSlot.starts_at >= start,
                                 PosterSlot.starts_at < end)
        .options(joinedload(PosterSlot.room)).order_by(PosterSlot.starts_at, PosterSlot.board, PosterSlot.id)))
    if not slots:
        return
    panels = assessors_of(schedule)
    wanted = {uid for s in slots for uid in panels.get(s.student_id, ())} | {s.student_id for s in slots}
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}
    names = naming({(cohort.id, s.student_id) for s in slots})
    told = _told_before(cohort, day)
    mine: dict[int, list[PosterSlot]] = defaultdict(list)
    for slot in slots:
        for uid in panels.get(slot.student_id, ()):
            mine[uid].append(slot)
    on = f"{day:%a %d %b %Y}"
    link = f"/cohorts/{cohort.id}/posters/mine"
    for slot in slots:
        student = people.get(slot.student_id)
        if student is None:
            continue
        panel = [people[uid] for uid in panels.get(slot.student_id, ()) if uid in people]
        parts = [(slot.student_id, slot.starts_at.isoformat(), slot.ends_at.isoformat(), slot.room.name, slot.board,
                  tuple(p.id for p in panel))]
        who = " and ".join(p.name for p in panel) or "the panel"
        yield from _due(student, cohort, schedule, day, parts, told, "your poster slot tomorrow",
                        f"Your poster tomorrow, {on} ({cohort.title}): {_times(slot, cohort)} in {slot.room.name}, "
                        f"board {slot.board}, assessed by {who}.", link)
    for uid, own in sorted(mine.items()):
        person = people.get(uid)
        if person is None:
            continue
        parts = [(s.student_id, s.starts_at.isoformat(), s.ends_at.isoformat(), s.room.name, s.board,
                  panels.get(s.student_id, ())) for s in own]
        lines = "; ".join(_line(s, cohort, uid, names, panels, people) for s in own)
        count = f"{len(own)} poster{'s' if len(own) != 1 else ''}"
        yield from _due(person, cohort, schedule, day, parts, told, "the posters you assess tomorrow",
                        f"Tomorrow, {on} ({cohort.title}), you assess {count}: {lines}.", link)


def _line(slot: PosterSlot, cohort: Cohort, viewer_id: int, names: Naming, panels: dict, people: dict) -> str:
    key = (cohort.id, slot.student_id)
    title = f", “{names.titles[key]}”" if names.titles.get(key) else ""
    others = [people[uid].name for uid in panels.get(slot.student_id, ()) if uid != viewer_id and uid in people]
    with_ = f", with {' and '.join(others)}" if others else ""
    return (f"{_times(slot, cohort)} in {slot.room.name}, board {slot.board}: "
            f"{names.label(cohort, people[slot.student_id], viewer_id)}{title}{with_}")


def _told_before(cohort: Cohort, day: date) -> dict[int, str]:
    """Person id -> the hash of the last reminder of this day they were sent, whatever its schedule: one
    query. (The last, not any: a later schedule that moves a poster back is news again. Moved back within
    one schedule, its key is taken already: the person's slots page shows it.)"""
    keys = db.session.scalars(select(outbox.OutboxMessage.key).where(
        outbox.OutboxMessage.cohort_id == cohort.id, outbox.OutboxMessage.kind == "poster_day",
        outbox.OutboxMessage.key.like(f"poster-day:u%:c{cohort.id}:{day.isoformat()}:%"))
        .order_by(outbox.OutboxMessage.id))
    return {int(key.split(":")[1][1:]): key.split(":")[-1] for key in keys}


def _due(person: User, cohort: Cohort, schedule: PosterSchedule, day: date, parts: list[tuple],
         told: dict[int, str], what: str, message: str, link: str) -> Iterable[Due]:
    digest = _digest(parts)
    if told.get(person.id) == digest:
        return  # what they were sent last, perhaps from the schedule this one replaced: nothing new to them
    changed = person.id in told
    key = f"poster-day:u{person.id}:c{cohort.id}:{day.isoformat()}:n{schedule.number}:{digest}"
    yield Due(person, "poster_day", key, f"projectflow: {what}" + (" (changed)" if changed else ""),
               ("Changed since our last message. " if changed else "") + message, link, cohort,
               until=datetime.combine(day, time(0), tzinfo=cohort.zone))
