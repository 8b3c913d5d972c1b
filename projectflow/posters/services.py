"""Setting the poster sessions up: the cohort's settings and the lock, sessions and rooms, panel members,
and who assesses which poster. Who can come to which session is in ``availability``; the scheduler's
input built from all of it, and its pre-check, in ``problem``.

Every change of a cohort's poster set-up first locks the cohort's settings row (``_lock``), so that
changes to one cohort's sessions happen one after another: two sessions added at the same moment
cannot overlap unseen, and the same form sent twice at once finds, the second time, nothing left to
change. Times are the cohort's wall-clock times (a session from 10:00 to 12:00 London), stored in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort, Enrolment
from ..core import audit, clock, once
from ..core.calendar import local_deadline
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..core.text import counted
from ..extensions import db
from ..matching.models import SECOND, Allocation, MarkerAssignment
from ..matching.services import published_run
from ..people.models import User
from .models import (PUBLISHED, Availability, PanelMember, PosterRoom, PosterSchedule, PosterSession, PosterSettings,
                     PosterSlot)

SLOT_MINUTES = (5, 240)  # the model's CHECK
MAX_PER_SESSION = (1, 50)
BOARDS = (1, 500)
ROOM_NAME_LENGTH = 80
# Sessions fall within the cohort's year: from the start of its part-time phase to some months after
# the full-time phase ends (poster days come after the final report, sometimes after resits).
AFTER_THE_YEAR = timedelta(days=92)


def _require_coordinator(cohort: Cohort, by: User) -> None:
    if not cohort.can_manage(by):
        raise NotAllowed("Only the cohort's coordinators set up its poster sessions.")


# --- settings and the lock ------------------------------------------------------------------------

def settings_of(cohort: Cohort) -> PosterSettings:
    """The cohort's poster settings; the defaults (not saved) until a coordinator changes something."""
    found = db.session.get(PosterSettings, cohort.id)
    if found is not None:
        return found
    return PosterSettings(cohort_id=cohort.id, slot_minutes=15, max_per_assessor_per_session=8)


def _lock(cohort: Cohort) -> PosterSettings:
    """The cohort's settings row, made with the defaults on first use and held until this transaction
    ends: every poster change of the cohort waits here for the one before it."""
    once.insert_unless_present(PosterSettings, cohort_id=cohort.id, slot_minutes=15, max_per_assessor_per_session=8,
                               updated_at=clock.now(), version=1)
    settings = db.session.get(PosterSettings, cohort.id)
    once.lock(settings)
    return settings


def save_settings(cohort: Cohort, *, slot_minutes: int, max_per_assessor_per_session: int, by: User) -> PosterSettings:
    """The length of a poster slot and the most posters one assessor sees in one session."""
    _require_coordinator(cohort, by)
    if not SLOT_MINUTES[0] <= slot_minutes <= SLOT_MINUTES[1]:
        raise ValidationFailed(f"A slot lasts between {SLOT_MINUTES[0]} and {SLOT_MINUTES[1]} minutes.",
                               field="slot_minutes")
    if not MAX_PER_SESSION[0] <= max_per_assessor_per_session <= MAX_PER_SESSION[1]:
        raise ValidationFailed(f"Between {MAX_PER_SESSION[0]} and {MAX_PER_SESSION[1]} posters per assessor and "
                               "session.", field="max_per_assessor_per_session")
    settings = _lock(cohort)
    fields = ["slot_minutes", "max_per_assessor_per_session"]
    before = audit.snapshot(settings, fields)
    settings.slot_minutes, settings.max_per_assessor_per_session = slot_minutes, max_per_assessor_per_session
    after = audit.snapshot(settings, fields)
    if after != before:
        settings.updated_at = clock.now()
        audit.record("posters.settings_changed", settings, actor=by, cohort=cohort, object_id=cohort.id,
                     summary=f"Poster slots of {slot_minutes} minutes, at most {max_per_assessor_per_session} "
                             "per assessor and session", before=before, after=after)
    return settings


# --- sessions and rooms ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RoomValues:
    """A row of the session form: an existing room (``id``) or a new one, with its boards."""

    id: int | None
    name: str
    boards: int | None


@dataclass(frozen=True)
class SessionValues:
    day: date
    starts: time  # wall-clock times in the cohort's zone
    ends: time
    rooms: tuple[RoomValues, ...]


def sessions_of(cohort: Cohort) -> list[PosterSession]:
    """The cohort's sessions by start, with their rooms."""
    return list(db.session.scalars(select(PosterSession).where(PosterSession.cohort_id == cohort.id)
                                   .options(selectinload(PosterSession.rooms))
                                   .order_by(PosterSession.starts_at, PosterSession.id)))


def session_label(session: PosterSession, zone) -> str:
    """"Tue 14 Sep 2027, 10:00–12:00" in the cohort's zone."""
    start, end = session.starts_at.astimezone(zone), session.ends_at.astimezone(zone)
    return f"{start:%a %d %b %Y}, {start:%H:%M}–{end:%H:%M}"


def _check_session(cohort: Cohort, values: SessionValues, *,
                   session: PosterSession | None) -> tuple[datetime, datetime]:
    """The session's start and end in UTC, or ValidationFailed naming the field."""
    first, last = cohort.part_time_start, cohort.full_time_end + AFTER_THE_YEAR
    if not first <= values.day <= last:
        raise ValidationFailed(f"Poster sessions fall within the cohort's year: choose a day from "
                               f"{first:%d %b %Y} to {last:%d %b %Y}.", field="day")
    if values.ends <= values.starts:
        raise ValidationFailed("The session ends before it starts: its end must be later on the same day.",
                               field="ends")
    starts_at = local_deadline(values.day, values.starts, cohort.zone)
    ends_at = local_deadline(values.day, values.ends, cohort.zone)
    moved = session is None or (starts_at, ends_at) != (session.starts_at, session.ends_at)
    if moved and starts_at <= clock.now():
        raise ValidationFailed("That session would start in the past: choose a day still to come.", field="day")
    for other in sessions_of(cohort):
        if other is not session and other.starts_at < ends_at and starts_at < other.ends_at:
            raise ValidationFailed(f"It overlaps the session of {session_label(other, cohort.zone)}: someone could "
                                   "be in both at once. Add a room to that session instead, or choose other times.",
                                   field="starts")
    return starts_at, ends_at


def _check_rooms(rooms: tuple[RoomValues, ...], session: PosterSession | None) -> list[RoomValues]:
    """The rows that name a room, checked (ValidationFailed on the ``rooms`` field). A new row named as
    one of the session's rooms that no other row keeps is that room: the same form sent twice adds
    nothing the second time."""
    named = []
    known = {r.id: r for r in session.rooms} if session is not None else {}
    for row in rooms:
        name = " ".join((row.name or "").split())
        if row.id is not None and row.id not in known:
            if not name and row.boards is None:
                continue  # a room removed already (the same form sent again)
            raise ValidationFailed("A room in this form is not one of this session's (removed meanwhile, or the form "
                                   "was damaged on its way): reload the page and try again.", field="rooms")
        if not name and row.boards is None:
            continue
        if not name:
            raise ValidationFailed(f"Give the room with {counted(row.boards, 'board')} a name.", field="rooms")
        if len(name) > ROOM_NAME_LENGTH:
            raise ValidationFailed(f"A room's name has at most {ROOM_NAME_LENGTH} characters.", field="rooms")
        if row.boards is None:
            raise ValidationFailed(f"Say how many poster boards “{name}” has.", field="rooms")
        if not BOARDS[0] <= row.boards <= BOARDS[1]:
            raise ValidationFailed(f"A room holds between {BOARDS[0]} and {BOARDS[1]} poster boards (“{name}”).",
                                   field="rooms")
        named.append(RoomValues(row.id, name, row.boards))
    if not named:
        raise ValidationFailed("Give the session at least one room and its number of poster boards.", field="rooms")
    seen: set[str] = set()
    for row in named:
        if row.name.casefold() in seen:
            raise ValidationFailed(f"Two rooms are called “{row.name}”: give each its own name.", field="rooms")
        seen.add(row.name.casefold())
    claimed = {row.id for row in named if row.id is not None}
    unclaimed = {r.name.casefold(): r.id for r in known.values() if r.id not in claimed}
    return [row if row.id is not None else RoomValues(unclaimed.get(row.name.casefold()), row.name, row.boards)
            for row in named]


def _snapshot(session: PosterSession) -> dict:
    return {"starts_at": session.starts_at, "ends_at": session.ends_at,
            "rooms": [f"{r.name}: {r.boards}" for r in sorted(session.rooms, key=lambda r: r.name)]}


def add_session(cohort: Cohort, values: SessionValues, *, by: User, form_token: str | None = None) -> PosterSession:
    """A new session of the poster days with its rooms. ``form_token``: the form's one-submission token
    (the same form sent again adds nothing: see ``core.once``)."""
    _require_coordinator(cohort, by)
    _lock(cohort)
    starts_at, ends_at = _check_session(cohort, values, session=None)
    rooms = _check_rooms(values.rooms, None)
    session = PosterSession(cohort_id=cohort.id, starts_at=starts_at, ends_at=ends_at, created_at=clock.now(),
                            rooms=[PosterRoom(name=r.name, boards=r.boards) for r in rooms])
    db.session.add(session)
    once.made(form_token, session)
    audit.record("posters.session_added", session, actor=by, cohort=cohort,
                 summary=f"Added the poster session of {session_label(session, cohort.zone)}", after=_snapshot(session))
    return session


def update_session(session: PosterSession, values: SessionValues, *, by: User) -> PosterSession:
    """Change a session's times or rooms (a room left empty is removed)."""
    cohort = session.cohort
    _require_coordinator(cohort, by)
    _lock(cohort)
    session = _still_there(session)
    starts_at, ends_at = _check_session(cohort, values, session=session)
    rooms = _check_rooms(values.rooms, session)
    _keep_published(session, starts_at, ends_at, rooms)
    before = _snapshot(session)
    session.starts_at, session.ends_at = starts_at, ends_at
    by_id = {r.id: r for r in session.rooms}
    kept = {r.id for r in rooms if r.id is not None}
    for room in list(session.rooms):
        if room.id not in kept:
            session.rooms.remove(room)
        elif room.name != next(r.name for r in rooms if r.id == room.id):
            room.name = f"~{room.id}~"  # two rooms swapping names never hold the same name at once
    db.session.flush()  # a removed or renamed room's name is free for another row
    for row in rooms:
        if row.id is not None:
            by_id[row.id].name, by_id[row.id].boards = row.name, row.boards
        else:
            session.rooms.append(PosterRoom(name=row.name, boards=row.boards))
    db.session.flush()
    db.session.refresh(session, ["rooms"])
    after = _snapshot(session)
    if after != before:
        audit.record("posters.session_changed", session, actor=by, cohort=cohort,
                     summary=f"Changed the poster session of {session_label(session, cohort.zone)}",
                     before=before, after=after)
    return session


def remove_session(session: PosterSession, *, by: User) -> int:
    """Remove a session, its rooms and everyone's answers for it (how many answers went with it)."""
    cohort = session.cohort
    _require_coordinator(cohort, by)
    _lock(cohort)
    session = _still_there(session)
    used = _published_slots(session)
    if used:
        raise InvalidState(f"The published poster schedule has {counted(len(used), 'poster')} in this session, whose "
                           "students and assessors were told: move them to other sessions on the schedule's page "
                           "first, then remove it.")
    answers = answers_for(session)
    audit.record("posters.session_removed", session, actor=by, cohort=cohort,
                 summary=f"Removed the poster session of {session_label(session, cohort.zone)}"
                         + (f" and {counted(answers, 'availability answer', 'availability answers')} for it"
                            if answers else ""),
                 before={**_snapshot(session), "availability_answers": answers})
    db.session.delete(session)
    db.session.flush()
    return answers


def answers_for(session: PosterSession) -> int:
    """How many availability answers (staff's and students') were given for ``session``."""
    return db.session.scalar(select(func.count(Availability.id)).where(Availability.session_id == session.id))


def _published_slots(session: PosterSession) -> list[PosterSlot]:
    """The slots of the cohort's published schedule in ``session``."""
    return list(db.session.scalars(select(PosterSlot).join(PosterSchedule).where(
        PosterSlot.session_id == session.id, PosterSchedule.state == PUBLISHED)))


def _keep_published(session: PosterSession, starts_at: datetime, ends_at: datetime, rooms: list[RoomValues]) -> None:
    """Refuse a change of a session that would take a published poster's slot, room or board away: the
    students and assessors were told them. (A schedule not yet published is checked again on its page.)"""
    used = _published_slots(session)
    if not used:
        return
    if (starts_at, ends_at) != (session.starts_at, session.ends_at):
        raise InvalidState(f"The published poster schedule has {counted(len(used), 'poster')} in this session at "
                           "times people were told: keep its times, or move those posters to another session first.",
                           field="starts")
    boards = {r.id: r.boards for r in rooms if r.id is not None}
    for slot in used:
        if slot.room_id not in boards:
            raise InvalidState(f"The published poster schedule has posters in {slot.room.name}: keep the room, or move "
                               "its posters first.", field="rooms")
        if slot.board > boards[slot.room_id]:
            highest = max(s.board for s in used if s.room_id == slot.room_id)
            raise InvalidState(f"The published poster schedule uses board {highest} of {slot.room.name}: keep at "
                               f"least {highest} boards there, or move those posters first.", field="rooms")


def _still_there(obj):
    """``obj`` as the database holds it now (after the lock: another request may have changed or removed
    it meanwhile); 409 when it is gone."""
    found = db.session.get(type(obj), obj.id, populate_existing=True)
    if found is None:
        raise InvalidState("That was removed a moment ago, perhaps by the same form sent twice: reload the page.")
    return found


# --- panel members --------------------------------------------------------------------------------

def add_panel_member(cohort: Cohort, student: User, member: User, *, by: User) -> PanelMember:
    """Add a member of staff to ``student``'s poster panel, beside the supervisor and second marker.
    Someone already on the panel stays there as they are (the same form sent twice adds them once);
    the supervisor and the second marker assess the poster anyway, so adding them is refused."""
    _require_coordinator(cohort, by)
    if not cohort.is_student(student):
        raise ValidationFailed(f"{student.name} is not a student of this cohort.", field="student")
    if cohort.staff_member(member) is None:
        raise ValidationFailed(f"{member.name} is not staff of this cohort.", field="member")
    _lock(cohort)
    poster = next((p for p in posters(cohort) if p.student.id == student.id), None)
    if poster is None:
        raise ValidationFailed(f"{student.name} has no poster: only the students of the published allocation "
                               "present one.", field="student")
    if member.id in {m.id for m in poster.panel}:
        return db.session.scalar(select(PanelMember).where(
            PanelMember.cohort_id == cohort.id, PanelMember.student_id == student.id, PanelMember.user_id == member.id))
    if member.id in {a.id for a in poster.assessors}:
        raise ValidationFailed(f"{member.name} already assesses {student.name}'s poster.", field="member")
    added = PanelMember(cohort_id=cohort.id, student_id=student.id, user_id=member.id, created_at=clock.now(),
                        created_by_id=by.id)
    db.session.add(added)
    audit.record("posters.panel_member_added", added, actor=by, cohort=cohort,
                 summary=f"{member.name} joins the poster panel of {student.name}",
                 after={"student_id": student.id, "member": member.name})
    return added


def remove_panel_member(panel_member: PanelMember, *, by: User) -> None:
    """Take a member of staff off a student's poster panel (409 when they were taken off meanwhile)."""
    cohort = db.session.get(Cohort, panel_member.cohort_id)
    _require_coordinator(cohort, by)
    _lock(cohort)
    panel_member = _still_there(panel_member)
    student = db.session.get(User, panel_member.student_id)
    audit.record("posters.panel_member_removed", panel_member, actor=by, cohort=cohort,
                 summary=f"{panel_member.user.name} leaves the poster panel of {student.name}",
                 before={"student_id": student.id, "member": panel_member.user.name})
    db.session.delete(panel_member)


# --- who assesses which poster --------------------------------------------------------------------

@dataclass(frozen=True)
class Poster:
    """An allocated student's poster and the people who assess it together."""

    student: User
    supervisor: User
    second_marker: User | None  # once the second markers are published
    panel: tuple[User, ...]

    @property
    def assessors(self) -> tuple[User, ...]:
        people = {}
        for person in (self.supervisor, self.second_marker, *self.panel):
            if person is not None:
                people.setdefault(person.id, person)
        return tuple(people.values())


def posters(cohort: Cohort) -> list[Poster]:
    """Every student of the cohort's published allocation presents a poster, assessed by their
    supervisor, their published second marker and any panel member the coordinator added (co-supervisors
    are not assessors by default: a coordinator adds one as a panel member). Three queries."""
    run = published_run(cohort)
    if run is None:
        return []
    allocations = list(db.session.scalars(select(Allocation).where(Allocation.run_id == run.id)))
    markers = second_markers_of(cohort, run.id)
    panels = panel_members_of(cohort)
    found = [Poster(a.student, a.supervisor, markers.get(a.id), tuple(m.user for m in panels.get(a.student_id, ())))
             for a in allocations]
    return sorted(found, key=lambda p: (p.student.name.lower(), p.student.id))


def second_markers_of(cohort: Cohort, run_id: int, allocation_ids: list[int] | None = None) -> dict[int, User]:
    """The second marker of each allocation of the run (by allocation id), once the coordinator has
    published them (before, a poster has none); of ``allocation_ids`` only, when given. One query."""
    if cohort.second_markers_published_at is None or allocation_ids == []:
        return {}
    query = select(MarkerAssignment).join(Allocation).where(Allocation.run_id == run_id, MarkerAssignment.role == SECOND)
    if allocation_ids is not None:
        query = query.where(MarkerAssignment.allocation_id.in_(allocation_ids))
    return {m.allocation_id: m.marker for m in db.session.scalars(query)}


def panel_members_of(cohort: Cohort, student_ids: list[int] | None = None) -> dict[int, list[PanelMember]]:
    """The panel members of each student's poster (by student id), in the order they were added; of
    ``student_ids`` only, when given. One query."""
    if student_ids == []:
        return {}
    query = select(PanelMember).where(PanelMember.cohort_id == cohort.id).order_by(PanelMember.id)
    if student_ids is not None:
        query = query.where(PanelMember.student_id.in_(student_ids))
    panels: dict[int, list[PanelMember]] = {}
    for member in db.session.scalars(query):
        panels.setdefault(member.student_id, []).append(member)
    return panels


def candidate_numbers(cohort: Cohort, user_ids: list[int]) -> dict[int, str]:
    return dict(db.session.execute(select(Enrolment.user_id, Enrolment.candidate_number)
                                   .where(Enrolment.cohort_id == cohort.id, Enrolment.user_id.in_(user_ids))).all())


def assessed_by(cohort: Cohort, person: User) -> int:
    """How many posters ``person`` assesses (as supervisor, published second marker or panel member)."""
    return sum(1 for p in posters(cohort) if person.id in {a.id for a in p.assessors})
