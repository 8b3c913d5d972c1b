"""Setting the poster sessions up: the cohort's settings, sessions and rooms, the availability window,
panel members, who cannot come to which session, and the scheduler's input built from all of it.

Every change of a cohort's poster set-up first locks the cohort's settings row (``_lock``), so that
changes to one cohort's sessions happen one after another: two sessions added at the same moment
cannot overlap unseen, and the same form sent twice at once finds, the second time, nothing left to
change. Times are the cohort's wall-clock times (a session from 10:00 to 12:00 London), stored in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort, Enrolment
from ..core import audit, clock, once
from ..core.calendar import local_deadline
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..core.notifications import notify
from ..core.text import counted
from ..extensions import db
from ..matching.models import SECOND, Allocation, MarkerAssignment
from ..matching.services import published_run
from ..people.models import User
from ..solvers.posters import precheck as solver_precheck
from ..solvers.posters_io import poster_problem_from_dict
from .models import (ACCEPTED, DECLARED, IF_NEEDED, PUBLISHED, REFUSED, UNAVAILABLE, Availability, PanelMember,
                     PosterRoom, PosterSchedule, PosterSession, PosterSettings, PosterSlot)

SLOT_MINUTES = (5, 240)  # the model's CHECK
MAX_PER_SESSION = (1, 50)
BOARDS = (1, 500)
ROOM_NAME_LENGTH = 80
REASON_LENGTH = 2000
# Sessions fall within the cohort's year: from the start of its part-time phase to some months after
# the full-time phase ends (poster days come after the final report, sometimes after resits).
AFTER_THE_YEAR = timedelta(days=92)
# Staff's three answers per session; "available" is no row at all.
AVAILABLE = "available"
STAFF_ANSWERS = (AVAILABLE, IF_NEEDED, UNAVAILABLE)
# How many posters with no common session the pre-check names before summing up the rest.
NAMED_IMPOSSIBLE = 10


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


# --- the availability window ----------------------------------------------------------------------

def window_is_open(settings: PosterSettings, now: datetime) -> bool:
    return window_closed_because(settings, now, zone=None) is None


def window_closed_because(settings: PosterSettings, now: datetime, *, zone) -> str | None:
    """Why nobody can give their availability now, in a sentence, or None while the window is open."""
    if settings.availability_opened_at is None or settings.availability_opened_at > now:
        return "The coordinator has not opened the poster availability yet: nothing can be given or changed."
    if settings.availability_closes_at is not None and now >= settings.availability_closes_at:
        closed = settings.availability_closes_at.astimezone(zone) if zone else settings.availability_closes_at
        return (f"Availability for the poster sessions closed on {closed:%a %d %b %Y %H:%M}: ask the coordinator "
                "if something has changed.")
    return None


def open_window(cohort: Cohort, *, closes_at: datetime | None, by: User) -> PosterSettings:
    """Let staff and students say which sessions they cannot come to, until ``closes_at`` (or until the
    window is closed by hand). Opening tells everyone in the cohort; moving the closing time of an open
    window tells nobody."""
    _require_coordinator(cohort, by)
    now = clock.now()
    sessions = sessions_of(cohort)
    if not sessions:
        raise InvalidState("Add the poster sessions first: people answer for each session.")
    if closes_at is not None and closes_at <= now:
        raise ValidationFailed("That closing time has passed: choose one still to come, or leave it empty.",
                               field="closes_at")
    if closes_at is not None and closes_at > sessions[0].starts_at:
        first = sessions[0].starts_at.astimezone(cohort.zone)
        raise ValidationFailed(f"Close the window before the first session ({first:%a %d %b %Y %H:%M}): the "
                               "schedule is made from the answers.", field="closes_at")
    settings = _lock(cohort)
    if window_is_open(settings, now):
        if settings.availability_closes_at == closes_at:
            return settings  # the same form sent twice: nothing to change
        before = {"closes_at": settings.availability_closes_at}
        settings.availability_closes_at, settings.updated_at = closes_at, now
        audit.record("posters.window_changed", settings, actor=by, cohort=cohort, object_id=cohort.id,
                     summary=f"Poster availability now closes {_when(closes_at, cohort)}", before=before,
                     after={"closes_at": closes_at})
        return settings
    settings.availability_opened_at, settings.availability_closes_at, settings.updated_at = now, closes_at, now
    audit.record("posters.window_opened", settings, actor=by, cohort=cohort, object_id=cohort.id,
                 summary=f"Opened poster availability, closing {_when(closes_at, cohort)}",
                 after={"opened_at": now, "closes_at": closes_at})
    people = [s.member for s in cohort.staff] + [e.student for e in cohort.enrolments]
    deadline = f" by {closes_at.astimezone(cohort.zone):%a %d %b %Y %H:%M}" if closes_at else ""
    notify(people, f"The poster sessions of {cohort.title} are set: say{deadline} which of them you cannot "
                   "come to.", link=f"/cohorts/{cohort.id}/posters/availability", cohort=cohort,
           subject="projectflow: the poster sessions, and when you cannot come")
    return settings


def close_window(cohort: Cohort, *, by: User) -> PosterSettings:
    """Close the availability window now: answers stay as they are."""
    _require_coordinator(cohort, by)
    now = clock.now()
    settings = _lock(cohort)
    if not window_is_open(settings, now):
        return settings  # closed already (the same form sent twice): nothing to change
    before = {"closes_at": settings.availability_closes_at}
    settings.availability_closes_at, settings.updated_at = now, now
    audit.record("posters.window_closed", settings, actor=by, cohort=cohort, object_id=cohort.id,
                 summary="Closed poster availability", before=before, after={"closes_at": now})
    return settings


def _when(moment: datetime | None, cohort: Cohort) -> str:
    return f"on {moment.astimezone(cohort.zone):%a %d %b %Y %H:%M}" if moment else "when closed by hand"


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


# --- availability ---------------------------------------------------------------------------------

def answers_of(cohort: Cohort, person: User) -> dict[int, Availability]:
    """The person's availability rows for the cohort's sessions, by session id."""
    return {a.session_id: a for a in db.session.scalars(
        select(Availability).join(PosterSession).where(PosterSession.cohort_id == cohort.id,
                                                       Availability.user_id == person.id))}


def _require_window(cohort: Cohort, settings: PosterSettings) -> None:
    reason = window_closed_because(settings, clock.now(), zone=cohort.zone)
    if reason:
        raise InvalidState(reason)


def _sessions_by_id(cohort: Cohort, answers: dict[int, object]) -> dict[int, PosterSession]:
    sessions = {s.id: s for s in sessions_of(cohort)}
    unknown = set(answers) - set(sessions)
    if unknown:
        raise ValidationFailed("A session of the form is no longer on the poster days (it was removed meanwhile): "
                               "reload the page.")
    return sessions


def save_staff_availability(cohort: Cohort, person: User, answers: dict[int, str], *, by: User) -> int:
    """A member of staff's answer per session ("available", "if_needed" or "unavailable"), kept at once
    (staff's word needs no decision). Sessions not in ``answers`` keep their answer. How many changed."""
    if by.id != person.id or cohort.staff_member(person) is None:
        raise NotAllowed("Each member of the cohort's staff gives their own availability.")
    settings = _lock(cohort)
    _require_window(cohort, settings)
    sessions = _sessions_by_id(cohort, answers)
    if any(a not in STAFF_ANSWERS for a in answers.values()):
        raise ValidationFailed("Choose one of the answers offered for each session.")
    current = answers_of(cohort, person)
    now = clock.now()
    before, after = {}, {}
    for session_id, answer in sorted(answers.items()):
        row = current.get(session_id)
        was = row.kind if row is not None else AVAILABLE
        if was == answer:
            continue
        label = session_label(sessions[session_id], cohort.zone)
        before[label], after[label] = was, answer
        if answer == AVAILABLE:
            db.session.delete(row)
        elif row is None:
            db.session.add(Availability(session_id=session_id, user_id=person.id, kind=answer, state=ACCEPTED,
                                        decided_at=now, decided_by_id=person.id, created_at=now, updated_at=now))
        else:
            row.kind, row.updated_at = answer, now
    if after:
        db.session.flush()
        audit.record("posters.availability_given", person, actor=by, cohort=cohort,
                     summary=f"{person.name} changed their poster availability ({counted(len(after), 'session')})",
                     before=before, after=after)
    return len(after)


@dataclass(frozen=True)
class StudentAnswer:
    cannot_come: bool
    reason: str = ""


def save_student_declarations(cohort: Cohort, student: User, answers: dict[int, StudentAnswer], *, by: User) -> int:
    """A student declares the sessions they cannot come to, each with a reason the coordinator accepts
    or refuses. A new or changed reason waits for a decision; "I can come" withdraws a declaration; an
    accepted declaration keeps its reason. How many changed."""
    if by.id != student.id or not cohort.is_student(student):
        raise NotAllowed("Each student declares their own sessions.")
    settings = _lock(cohort)
    _require_window(cohort, settings)
    sessions = _sessions_by_id(cohort, answers)
    current = answers_of(cohort, student)
    for session_id, answer in answers.items():
        reason = answer.reason.strip()
        kept = session_id in current and current[session_id].state == ACCEPTED
        if answer.cannot_come and not reason and not kept:
            raise ValidationFailed(f"Say why you cannot come to the session of "
                                   f"{session_label(sessions[session_id], cohort.zone)}: the coordinator decides "
                                   "on your reason.", field=f"reason_{session_id}")
        if len(reason) > REASON_LENGTH:
            raise ValidationFailed(f"A reason has at most {REASON_LENGTH} characters.", field=f"reason_{session_id}")
    now = clock.now()
    changes = {}
    for session_id, answer in sorted(answers.items()):
        row, reason = current.get(session_id), answer.reason.strip()
        label = session_label(sessions[session_id], cohort.zone)
        if not answer.cannot_come:
            if row is not None:
                changes[label] = {"withdrawn": row.reason, "was": row.state}
                db.session.delete(row)
        elif row is None:
            db.session.add(Availability(session_id=session_id, user_id=student.id, kind=UNAVAILABLE, state=DECLARED,
                                        reason=reason, created_at=now, updated_at=now))
            changes[label] = {"declared": reason}
        elif row.state != ACCEPTED and row.reason != reason:
            # A new reason (after a refusal, say) asks the coordinator again.
            changes[label] = {"declared": reason, "was": row.state}
            row.reason, row.state, row.updated_at = reason, DECLARED, now
            row.decided_at, row.decided_by_id, row.decision_note = None, None, ""
    if changes:
        db.session.flush()
        audit.record("posters.declarations_changed", student, actor=by, cohort=cohort,
                     summary=f"{student.name} changed their poster session declarations "
                             f"({counted(len(changes), 'session')})", after=changes)
    return len(changes)


def decide_declaration(declaration: Availability, *, accept: bool, note: str, by: User) -> Availability:
    """The coordinator accepts a student's declaration (the scheduler then keeps their poster out of
    that session) or refuses it; the student is told in the app."""
    session = declaration.session
    cohort = session.cohort
    _require_coordinator(cohort, by)
    if len(note) > REASON_LENGTH:
        raise ValidationFailed(f"A note has at most {REASON_LENGTH} characters.", field="note")
    _lock(cohort)
    declaration = _still_there(declaration)
    if declaration.state != DECLARED:
        when = declaration.decided_at.astimezone(cohort.zone)
        raise InvalidState(f"This declaration was already {declaration.state} on {when:%a %d %b %Y %H:%M}.")
    now = clock.now()
    declaration.state = ACCEPTED if accept else REFUSED
    declaration.decided_at, declaration.decided_by_id, declaration.decision_note = now, by.id, note.strip()
    declaration.updated_at = now
    student = declaration.user
    label = session_label(session, cohort.zone)
    audit.record(f"posters.declaration_{declaration.state}", declaration, actor=by, cohort=cohort,
                 summary=f"{'Accepted' if accept else 'Refused'} {student.name}'s declaration for the poster session "
                         f"of {label}", before={"state": DECLARED},
                 after={"state": declaration.state, "note": declaration.decision_note})
    outcome = ("accepted: your poster will be scheduled in another session" if accept else
               "refused: you may be scheduled in that session")
    notify([student], f"Your declaration that you cannot come to the poster session of {label} was {outcome}."
                      + (f" Note: {declaration.decision_note}" if declaration.decision_note else ""),
           link=f"/cohorts/{cohort.id}/posters/availability", cohort=cohort, email=False)
    return declaration


# --- what the coordinator's pages count -----------------------------------------------------------

def _student_ids(cohort: Cohort):
    return select(Enrolment.user_id).where(Enrolment.cohort_id == cohort.id)


def declarations_query(cohort: Cohort, show: str = "waiting"):
    """Students' declarations of the cohort: those waiting for a decision (oldest first), those
    decided (latest first), or all of them."""
    query = (select(Availability).join(PosterSession)
             .where(PosterSession.cohort_id == cohort.id, Availability.user_id.in_(_student_ids(cohort)))
             .options(selectinload(Availability.session)))
    if show == "waiting":
        return query.where(Availability.state == DECLARED).order_by(Availability.created_at, Availability.id)
    if show == "decided":
        query = query.where(Availability.state != DECLARED)
    return query.order_by(Availability.state != DECLARED, Availability.updated_at.desc(), Availability.id.desc())


@dataclass(frozen=True)
class Counts:
    waiting: int  # students' declarations waiting for a decision
    accepted: int
    refused: int
    staff_unavailable: dict[int, int]  # session id -> staff who cannot come
    staff_if_needed: dict[int, int]
    students_away: dict[int, int]  # session id -> students whose declaration was accepted


def counts(cohort: Cohort) -> Counts:
    """The answers per session and the students' declarations by state, in one query."""
    student = Availability.user_id.in_(_student_ids(cohort))
    rows = db.session.execute(
        select(Availability.session_id, Availability.kind, Availability.state, student.label("is_student"),
               func.count(Availability.id))
        .join(PosterSession).where(PosterSession.cohort_id == cohort.id)
        .group_by(Availability.session_id, Availability.kind, Availability.state, student)).all()
    states = {DECLARED: 0, ACCEPTED: 0, REFUSED: 0}
    unavailable: dict[int, int] = {}
    if_needed: dict[int, int] = {}
    away: dict[int, int] = {}
    for session_id, kind, state, is_student, n in rows:
        if is_student:
            states[state] += n
            if state == ACCEPTED:
                away[session_id] = away.get(session_id, 0) + n
        elif state == ACCEPTED:
            target = unavailable if kind == UNAVAILABLE else if_needed
            target[session_id] = target.get(session_id, 0) + n
    return Counts(states[DECLARED], states[ACCEPTED], states[REFUSED], unavailable, if_needed, away)


# --- the scheduler's input and the capacity pre-check ---------------------------------------------

def slots_in(session: PosterSession, slot_minutes: int) -> int:
    """Whole slots of ``slot_minutes`` from the session's start (a remainder at the end is unused)."""
    return max(0, (session.ends_at - session.starts_at) // timedelta(minutes=slot_minutes))


def _accepted(cohort: Cohort) -> list[Availability]:
    """Every answer that counts: staff's (kept at once) and students' accepted declarations."""
    return list(db.session.scalars(select(Availability).join(PosterSession)
                                   .where(PosterSession.cohort_id == cohort.id, Availability.state == ACCEPTED)
                                   .order_by(Availability.session_id, Availability.user_id)))


def person_id(user: User | int) -> str:
    return f"u{user if isinstance(user, int) else user.id}"


def problem_file(cohort: Cohort, *, sessions: list[PosterSession] | None = None,
                 found: list[Poster] | None = None) -> dict:
    """The scheduler's input, in the file format of ``projectflow schedule-posters`` (issue 13):
    sessions ``S<id>`` with rooms ``R<id>`` (times with the cohort's UTC offset), posters ``P<student
    id>`` with their assessors and student as ``u<user id>``, and the unavailable and "if needed"
    answers that count, of the people on a poster (the file names nobody else)."""
    settings = settings_of(cohort)
    zone = cohort.zone
    found = posters(cohort) if found is None else found
    sessions = sessions_of(cohort) if sessions is None else sessions
    people = {person_id(p.student) for p in found} | {person_id(a) for p in found for a in p.assessors}
    pairs: dict[str, list[dict]] = {UNAVAILABLE: [], IF_NEEDED: []}
    for row in _accepted(cohort):
        if person_id(row.user_id) in people:
            pairs[row.kind].append({"person": person_id(row.user_id), "session": f"S{row.session_id}"})
    return {
        "slot_minutes": settings.slot_minutes,
        "max_per_assessor_per_session": settings.max_per_assessor_per_session,
        "sessions": [{"id": f"S{s.id}", "start": s.starts_at.astimezone(zone).isoformat(),
                      "end": s.ends_at.astimezone(zone).isoformat(),
                      "rooms": [{"id": f"R{r.id}", "boards": r.boards} for r in s.rooms]}
                     for s in sessions],
        "posters": [{"id": f"P{p.student.id}", "assessors": [person_id(a) for a in p.assessors],
                     "student": person_id(p.student)} for p in found],
        "unavailable": pairs[UNAVAILABLE],
        "if_needed": pairs[IF_NEEDED],
    }


def precheck(cohort: Cohort, *, sessions: list[PosterSession] | None = None,
             found: list[Poster] | None = None) -> list[str]:
    """Sentences for the coordinator about what stops a complete schedule, found before any solving:
    what is missing (sessions, posters, whole slots), then the scheduler's own pre-check
    (``solvers.posters.precheck``) in people's words: every poster whose people share no session, and
    every group of posters needing more boards, or more of one person's slots, than there are.
    Necessary conditions only: the scheduler finds the rest. Empty when nothing is found.
    (``sessions`` and ``found``: when the caller has them.)"""
    settings = settings_of(cohort)
    sessions = sessions_of(cohort) if sessions is None else sessions
    found = posters(cohort) if found is None else found
    problems = []
    if not sessions:
        problems.append("No poster session yet: add the days, times and rooms of the poster sessions.")
    if not found:
        problems.append("No posters yet: the allocation is not published. Each allocated student presents a poster, "
                        "assessed by their supervisor and second marker." if published_run(cohort) is None else
                        "The published allocation has no students: there is no poster to schedule.")
    if not sessions or not found:
        return problems
    for s in sessions:
        if slots_in(s, settings.slot_minutes) == 0:
            problems.append(f"The session of {session_label(s, cohort.zone)} is shorter than one slot of "
                            f"{settings.slot_minutes} minutes: lengthen it or shorten the slots.")
    problem = problem_file(cohort, sessions=sessions, found=found)
    checked = solver_precheck(poster_problem_from_dict(problem))
    names = Names(cohort, problem, sessions)
    problems += [names(issue.message) for issue in checked.capacity]
    impossible = [f"{names.poster(u.poster)}: {_lower_first(names(u.reason))}" for u in checked.impossible]
    problems += impossible[:NAMED_IMPOSSIBLE]
    if len(impossible) > NAMED_IMPOSSIBLE:
        more = counted(len(impossible) - NAMED_IMPOSSIBLE, "more poster", "more posters")
        problems.append(f"… and {more} whose people share no session.")
    return problems


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


@dataclass(frozen=True)
class Overview:
    """What the coordinator's poster page shows."""

    settings: PosterSettings
    sessions: list[PosterSession]
    posters: int
    assessors: int
    counts: Counts
    problems: list[str]
    slots: dict[int, int]  # session id -> whole slots
    board_sessions: int  # boards summed over the sessions: the most posters that fit


def overview(cohort: Cohort) -> Overview:
    settings = settings_of(cohort)
    sessions = sessions_of(cohort)
    found = posters(cohort)
    return Overview(settings, sessions, len(found), len({a.id for p in found for a in p.assessors}), counts(cohort),
                    precheck(cohort, sessions=sessions, found=found),
                    {s.id: slots_in(s, settings.slot_minutes) for s in sessions},
                    sum(r.boards for s in sessions for r in s.rooms))


def window_state(cohort: Cohort, settings: PosterSettings, now: datetime) -> str:
    """The availability window in a sentence, for the coordinator."""
    zone = cohort.zone
    if settings.availability_opened_at is None:
        return "Not opened yet: staff and students cannot give their availability."
    opened = settings.availability_opened_at.astimezone(zone)
    closes = settings.availability_closes_at.astimezone(zone) if settings.availability_closes_at else None
    if window_is_open(settings, now):
        return (f"Open since {opened:%a %d %b %Y %H:%M}, "
                + (f"closing {closes:%a %d %b %Y %H:%M}." if closes else "until you close it."))
    return f"Closed on {closes:%a %d %b %Y %H:%M} (opened {opened:%a %d %b %Y %H:%M})."


def answers_for(session: PosterSession) -> int:
    """How many availability answers (staff's and students') were given for ``session``."""
    return db.session.scalar(select(func.count(Availability.id)).where(Availability.session_id == session.id))


def candidate_numbers(cohort: Cohort, user_ids: list[int]) -> dict[int, str]:
    return dict(db.session.execute(select(Enrolment.user_id, Enrolment.candidate_number)
                                   .where(Enrolment.cohort_id == cohort.id, Enrolment.user_id.in_(user_ids))).all())


def assessed_by(cohort: Cohort, person: User) -> int:
    """How many posters ``person`` assesses (as supervisor, published second marker or panel member)."""
    return sum(1 for p in posters(cohort) if person.id in {a.id for a in p.assessors})


# --- the engine's identifiers in people's words ---------------------------------------------------

_IDENT = re.compile(r"'?\b([uPSR])(\d+)\b'?")


class Names:
    """The engine's identifiers in people's words: ``u12`` is Dr Lee, ``P40`` Ann Student's poster,
    ``S3`` the session of Tue 14 Sep 10:00, ``R7`` the Atrium."""

    def __init__(self, cohort: Cohort, problem: dict, sessions: list[PosterSession] | None = None):
        sessions = sessions_of(cohort) if sessions is None else sessions
        people = {int(q[1:]) for p in problem.get("posters", []) for q in (*p["assessors"], p.get("student") or "u0")}
        users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people)))}
        zone = cohort.zone
        self.labels = {("u", uid): u.name for uid, u in users.items()}
        self.labels |= {("P", uid): f"{u.name}'s poster" for uid, u in users.items()}
        self.labels |= {("S", s.id): f"{s.starts_at.astimezone(zone):%a %d %b %H:%M}" for s in sessions}
        self.labels |= {("R", r.id): r.name for s in sessions for r in s.rooms}

    def __call__(self, text: str) -> str:
        return _IDENT.sub(lambda m: self.labels.get((m.group(1), int(m.group(2))), m.group(0)), text)

    def poster(self, ident: str) -> str:
        return self.labels.get(("P", int(ident[1:])), ident)
