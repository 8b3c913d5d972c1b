"""Poster schedules: made by the scheduler in the job runner, reviewed as a grid, adjusted by hand, published.

A schedule keeps the scheduler's input as it was (``problem``, the file format of ``projectflow
schedule-posters``) and its placements as ``PosterSlot`` rows. Every check of a schedule (after a run,
before a hand move, before publishing) is made against the cohort's input *as it is now*
(``problem.problem_file``): an assessor who fell ill after the run makes the schedule break a rule,
and the pages say so, rather than a stale schedule being published. The checks are the independent
validator's (``solvers.posters_validate``), on the schedule as it stands (``standing_schedule``).

The engine names people ``u<user id>``, posters ``P<student id>``, sessions ``S<id>`` and rooms
``R<id>``; ``Names`` turns its sentences back into people's names and the sessions' times.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort
from ..core import audit, clock, jobs
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..reminders.notices import notify
from ..core.text import counted
from ..extensions import db
from ..people.models import User
from ..solvers.posters import Placement, Schedule, schedule_posters, standing_schedule
from ..solvers.posters_io import poster_problem_from_dict
from ..solvers.problem import ProblemError
from . import services
from .models import (FAILED, PUBLISHED, QUEUED, RUNNING, SOLVED, SUPERSEDED, PosterRoom, PosterSchedule,
                     PosterSession, PosterSlot)
from .problem import Names, precheck, problem_file, slots_in

JOB_KIND = "poster_schedule"
DEFAULT_SOLVE_SECONDS = 30
SOLVE_SECONDS = (5, 10, 30, 60, 120)  # what the coordinator may choose: longer searches find better schedules
STATE_LABELS = {QUEUED: "Waiting for the job runner", RUNNING: "Being made", SOLVED: "Ready for review",
                FAILED: "Failed", PUBLISHED: "Published", SUPERSEDED: "Replaced"}
STATE_BADGES = {QUEUED: "secondary", RUNNING: "info", SOLVED: "primary", FAILED: "danger", PUBLISHED: "success",
                SUPERSEDED: "secondary"}


def _require_coordinator(cohort: Cohort, by: User) -> None:
    if not cohort.can_manage(by):
        raise NotAllowed("Only the cohort's coordinators make and publish the poster schedule.")


def label(schedule: PosterSchedule) -> str:
    return f"Schedule {schedule.number}"


def schedules_of(cohort: Cohort) -> list[PosterSchedule]:
    """The cohort's schedules, latest first."""
    return list(db.session.scalars(select(PosterSchedule).where(PosterSchedule.cohort_id == cohort.id)
                                   .order_by(PosterSchedule.number.desc())))


def published_schedule(cohort: Cohort) -> PosterSchedule | None:
    return db.session.scalar(select(PosterSchedule).where(PosterSchedule.cohort_id == cohort.id,
                                                          PosterSchedule.state == PUBLISHED))


def slots_of(schedule: PosterSchedule) -> list[PosterSlot]:
    """The schedule's slots by start, room and board, with their sessions, rooms and students, as the
    database holds them now (a change waits for the cohort's lock, then reads what the one before it
    wrote, over what this request read before)."""
    return list(db.session.scalars(
        select(PosterSlot).join(PosterRoom, PosterSlot.room_id == PosterRoom.id)
        .where(PosterSlot.schedule_id == schedule.id)
        .options(selectinload(PosterSlot.session), selectinload(PosterSlot.room))
        .order_by(PosterSlot.starts_at, PosterRoom.name, PosterSlot.board)
        .execution_options(populate_existing=True)))


def assessors_of(schedule: PosterSchedule) -> dict[int, tuple[int, ...]]:
    """Student user id -> the user ids of their poster's assessors, as the schedule was made."""
    return {int(p["id"][1:]): tuple(int(a[1:]) for a in p["assessors"]) for p in schedule.problem.get("posters", [])}


# --- making a schedule ----------------------------------------------------------------------------

def start_schedule(cohort: Cohort, *, by: User, seconds: int | None = None) -> PosterSchedule:
    """Record a schedule and the job that makes it, from the cohort's input as it is now; the job runner
    picks it up once this commits. When a schedule is published, the new one keeps its placements
    wherever the rules still allow (rescheduling after a change). ``seconds``: how long the scheduler
    may search (``SOLVE_SECONDS``; the configured default when None)."""
    _require_coordinator(cohort, by)
    if seconds is not None and seconds not in SOLVE_SECONDS:
        raise ValidationFailed(f"Choose one of {', '.join(map(str, SOLVE_SECONDS))} seconds.", field="seconds")
    services._lock(cohort)  # one start at a time per cohort: the same form sent twice finds the first running
    busy = db.session.scalar(select(PosterSchedule).where(PosterSchedule.cohort_id == cohort.id,
                                                          PosterSchedule.state.in_((QUEUED, RUNNING))))
    if busy is not None:
        raise InvalidState(f"{label(busy)} is still being made: wait for it before starting another.")
    problem = problem_file(cohort)
    if not problem["posters"] or not problem["sessions"]:
        raise InvalidState(" ".join(precheck(cohort)) or "There is nothing to schedule.")
    number = (db.session.scalar(select(func.max(PosterSchedule.number))
                                .where(PosterSchedule.cohort_id == cohort.id)) or 0) + 1
    published = published_schedule(cohort)
    schedule = PosterSchedule(cohort_id=cohort.id, number=number, state=QUEUED, problem=problem,
                              summary={"keeps": published.number if published else None,
                                       "seconds": seconds or solve_seconds()},
                              created_at=clock.now(), created_by_id=by.id)
    db.session.add(schedule)
    db.session.flush()
    schedule.job_id = jobs.enqueue(JOB_KIND, {"schedule_id": schedule.id}, cohort=cohort, by=by).id
    audit.record("posters.schedule_started", schedule, actor=by, cohort=cohort,
                 summary=f"Started poster {label(schedule).lower()} for {counted(len(problem['posters']), 'poster')}"
                         + (f", keeping schedule {published.number}'s placements where possible" if published else ""),
                 after={"posters": len(problem["posters"]), "sessions": len(problem["sessions"])})
    return schedule


def solve_seconds() -> float:
    return float(current_app.config.get("POSTER_SOLVE_SECONDS", DEFAULT_SOLVE_SECONDS))


def make_schedule(schedule: PosterSchedule, progress=lambda percent, message: None) -> Schedule:
    """Solve the schedule's input and store its placements. Commits once the schedule shows as being
    made (so that the progress, written on another connection, is not blocked), then leaves the result
    to the caller's commit."""
    schedule.state = RUNNING
    db.session.commit()
    problem = poster_problem_from_dict(schedule.problem)
    keeps = schedule.summary.get("keeps")
    previous = None
    if keeps is not None:
        before = db.session.scalar(select(PosterSchedule).where(PosterSchedule.cohort_id == schedule.cohort_id,
                                                                PosterSchedule.number == keeps))
        previous = [_placement(s) for s in slots_of(before)] if before is not None else None
    seconds = schedule.summary.get("seconds") or solve_seconds()
    result = schedule_posters(problem, time_limit=seconds, previous=previous,
                              progress=lambda fraction, message: progress(5 + 90 * fraction, message))
    schedule = db.session.get(PosterSchedule, schedule.id, populate_existing=True)
    if result.status == "error":
        schedule.state, schedule.error = FAILED, result.message
    elif _write_slots(schedule, result):
        schedule.state = SOLVED
    schedule.assessor_days, schedule.lower_bound = result.assessor_days, result.lower_bound
    schedule.if_needed_used, schedule.solve_seconds = result.if_needed_used, round(result.solve_seconds, 2)
    schedule.summary = {**schedule.summary, "status": result.status, "moved": result.moved,
                        "unplaced": [{"poster": u.poster, "reason": u.reason} for u in result.unplaced],
                        "warnings": list(result.warnings), "assessor_sessions": result.assessor_sessions,
                        "idle_slots": result.idle_slots,
                        "stages": [{"name": s.name, "status": s.status, "value": s.value,
                                    "seconds": round(s.seconds, 2)} for s in result.stages]}
    audit.record("posters.schedule_made", schedule, cohort=schedule.cohort,
                 summary=f"Poster {label(schedule).lower()} {schedule.state}: {len(result.placements)} placed, "
                         f"{len(result.unplaced)} without a slot, {result.assessor_days} assessor-days "
                         f"(at least {result.lower_bound})",
                 after={"status": result.status, "assessor_days": result.assessor_days,
                        "lower_bound": result.lower_bound, "solve_seconds": schedule.solve_seconds})
    return result


def _write_slots(schedule: PosterSchedule, result: Schedule) -> bool:
    """The placements as slots; False (and the schedule failed) when a session or room of the input
    was removed while it was being made."""
    rooms = {r.id: r.session_id for r in db.session.scalars(
        select(PosterRoom).join(PosterSession).where(PosterSession.cohort_id == schedule.cohort_id))}
    for pl in result.placements:
        room_id, session_id = int(pl.room[1:]), int(pl.session[1:])
        if rooms.get(room_id) != session_id:
            schedule.state = FAILED
            schedule.error = ("A session or room was changed while the schedule was being made: make a new one.")
            return False
        db.session.add(PosterSlot(schedule_id=schedule.id, student_id=int(pl.poster[1:]), session_id=session_id,
                                  room_id=room_id, board=pl.board, starts_at=pl.start, ends_at=pl.end))
    return True


def _run_job(job: jobs.Job, progress: jobs.Progress) -> str:
    schedule = db.session.get(PosterSchedule, job.params["schedule_id"])
    if schedule is None or schedule.state != QUEUED:
        return "Nothing to do: the schedule no longer waits to be made."
    progress(2, "Reading the sessions, posters and availability")
    try:
        result = make_schedule(schedule, progress)
    except ProblemError as exc:
        schedule = db.session.get(PosterSchedule, job.params["schedule_id"])
        schedule.state, schedule.error = FAILED, "The scheduler's input is malformed: " + " ".join(exc.problems)
        return schedule.error
    if schedule.state == FAILED:
        return f"{label(schedule)} could not be made: {schedule.error}"
    return (f"{label(schedule)}: {len(result.placements)} of {len(schedule.problem['posters'])} posters placed, "
            f"{result.assessor_days} assessor-days (at least {result.lower_bound}).")


def _run_failed(job: jobs.Job, error: str) -> None:
    schedule = db.session.get(PosterSchedule, job.params.get("schedule_id"))
    if schedule is not None and schedule.state in (QUEUED, RUNNING):
        schedule.state, schedule.error = FAILED, error


jobs.register(JOB_KIND, _run_job, _run_failed)


# --- the schedule as it stands --------------------------------------------------------------------

def _placement(slot: PosterSlot) -> Placement:
    return Placement(f"P{slot.student_id}", f"S{slot.session_id}", f"R{slot.room_id}", slot.board,
                     slot.starts_at, slot.ends_at)


@dataclass
class Standing:
    """A schedule checked against the cohort's input as it is now."""

    schedule: PosterSchedule
    problem: dict  # the cohort's input now
    result: Schedule  # the placements as they stand, with figures and the validator's verdict
    names: Names
    changed: bool  # the input differs from the one the schedule was made from

    @property
    def problems(self) -> list[str]:
        return [self.names(p) for p in self.result.verdict.problems] if self.result.verdict else []

    @property
    def unplaced(self) -> list[tuple[int, str]]:
        """(student id, reason) for every poster of the input without a slot."""
        reasons = {u["poster"]: u["reason"] for u in self.schedule.summary.get("unplaced", [])}
        return [(int(u.poster[1:]), self.names(reasons.get(u.poster, u.reason))) for u in self.result.unplaced]


def standing(schedule: PosterSchedule, slots: list[PosterSlot] | None = None, problem: dict | None = None) -> Standing:
    """``schedule`` checked against the cohort's input as it is now (``problem``, when the caller has built
    it already)."""
    cohort = schedule.cohort
    problem = problem_file(cohort) if problem is None else problem
    slots = slots_of(schedule) if slots is None else slots
    result = standing_schedule(poster_problem_from_dict(problem), [_placement(s) for s in slots])
    return Standing(schedule, problem, result, Names(cohort, problem), problem != schedule.problem)


# --- the grid and the assessors' view ---------------------------------------------------------------

@dataclass
class Entry:
    """One poster in the grid: its slot, its people and what is wrong or notable about it."""

    slot: PosterSlot
    assessors: list[User]
    clashes: list[str] = field(default_factory=list)  # broken rules, in words
    if_needed: list[str] = field(default_factory=list)  # people here only "if needed"

    @property
    def state(self) -> str:
        """clash | if-needed | moved | placed: told by text and colour on the pages."""
        if self.clashes:
            return "clash"
        if self.if_needed:
            return "if-needed"
        return "moved" if self.slot.is_moved else "placed"


@dataclass
class SessionGrid:
    session: PosterSession
    times: list[datetime]  # each slot's start
    rows: list[tuple[PosterRoom, list[list[Entry]]]]  # per room, per slot time, the posters there
    free_boards: dict[int, int]  # room id -> boards without a poster


@dataclass
class Review:
    standing: Standing
    entries: list[Entry]  # every placed poster, by start, room and board
    sessions: list[PosterSession]
    slot_minutes: int

    unplaced_names: dict[int, str]  # student id -> name, of the posters without a slot

    def times(self, session: PosterSession) -> list[datetime]:
        """Each slot's start in ``session``."""
        step = timedelta(minutes=self.slot_minutes)
        return [session.starts_at + k * step for k in range(slots_in(session, self.slot_minutes))]

    def grid(self, session: PosterSession) -> SessionGrid:
        times = self.times(session)
        at = {t: k for k, t in enumerate(times)}
        cells = {r.id: [[] for _ in times] for r in session.rooms}
        used: dict[int, int] = defaultdict(int)
        for e in self.entries:
            if e.slot.session_id == session.id and e.slot.room_id in cells:
                used[e.slot.room_id] += 1
                k = at.get(e.slot.starts_at)
                if k is not None:
                    cells[e.slot.room_id][k].append(e)
        return SessionGrid(session, times, [(r, cells[r.id]) for r in session.rooms],
                           {r.id: r.boards - used[r.id] for r in session.rooms})

    def by_assessor(self) -> list[tuple[User, list[Entry]]]:
        mine: dict[int, list[Entry]] = defaultdict(list)
        people: dict[int, User] = {}
        for e in self.entries:
            for a in e.assessors:
                mine[a.id].append(e)
                people[a.id] = a
        return [(people[uid], mine[uid]) for uid in sorted(people, key=lambda u: (people[u].name.lower(), u))]

    def days_of(self, entries: list[Entry], zone) -> int:
        return len({e.slot.starts_at.astimezone(zone).date() for e in entries})


def review(schedule: PosterSchedule) -> Review:
    """The schedule as the coordinator reviews it: every poster with its people and its state. A fixed
    number of queries, however many posters."""
    cohort = schedule.cohort
    slots = slots_of(schedule)
    found = standing(schedule, slots)
    people_of = {int(p["id"][1:]): [int(a[1:]) for a in p["assessors"]] for p in found.problem["posters"]}
    kept = assessors_of(schedule)
    ids = {a for group in (*people_of.values(), *kept.values()) for a in group}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    away = {(int(x["person"][1:]), int(x["session"][1:])) for x in found.problem["unavailable"]}
    if_needed = {(int(x["person"][1:]), int(x["session"][1:])) for x in found.problem["if_needed"]}
    busy: dict[tuple[int, datetime], list[int]] = defaultdict(list)
    for s in slots:
        for person in (*people_of.get(s.student_id, kept.get(s.student_id, ())), s.student_id):
            busy[person, s.starts_at].append(s.student_id)
    entries = []
    for s in slots:
        assessors = [users[a] for a in people_of.get(s.student_id, kept.get(s.student_id, ())) if a in users]
        entry = Entry(s, assessors)
        if s.student_id not in people_of:
            entry.clashes.append(f"{s.student.name} no longer presents a poster (withdrawn, or off the allocation).")
        for person in (*assessors, s.student):
            if (person.id, s.session_id) in away:
                entry.clashes.append(f"{person.name} cannot come to this session.")
            elif (person.id, s.session_id) in if_needed:
                entry.if_needed.append(person.name)
            others = [o for o in busy[person.id, s.starts_at] if o != s.student_id]
            if others:
                entry.clashes.append(f"{person.name} is at another poster at the same time.")
        entries.append(entry)
    sessions = services.sessions_of(cohort)
    unplaced = {sid for sid, _ in found.unplaced}
    names = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(unplaced)))} if unplaced else {}
    return Review(found, entries, sessions, found.problem["slot_minutes"], names)


# --- hand moves ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """Where a poster goes: a session, a room of it and a slot start (the board is found)."""

    session_id: int
    room_id: int
    starts_at: datetime


@dataclass(frozen=True)
class Check:
    ok: bool
    problems: tuple[str, ...]  # rules the change would break
    warnings: tuple[str, ...]  # allowed, but worth knowing
    before: dict
    after: dict

    def as_json(self) -> dict:
        return {"ok": self.ok, "problems": list(self.problems), "warnings": list(self.warnings),
                "before": self.before, "after": self.after}


def _editable(schedule: PosterSchedule) -> None:
    if schedule.state not in (SOLVED, PUBLISHED):
        raise InvalidState(f"{label(schedule)} is {STATE_LABELS[schedule.state].lower()}: only a schedule ready for "
                           "review, or the published one, can be changed by hand.")


def _figures(result: Schedule) -> dict:
    return {"placed": len(result.placements), "unplaced": len(result.unplaced), "assessor_days": result.assessor_days,
            "if_needed_used": result.if_needed_used, "idle_slots": result.idle_slots}


def _proposed(schedule: PosterSchedule, slots: list[PosterSlot], student: User, target: Target | None,
              swap_with: User | None) -> tuple[list[Placement], dict[int, tuple[int, int, datetime, int]]]:
    """The placements after the change, and the new (session, room, start, board) of each poster moved."""
    mine = next((s for s in slots if s.student_id == student.id), None)
    changes: dict[int, tuple[int, int, datetime, int]] = {}
    if swap_with is not None:
        other = next((s for s in slots if s.student_id == swap_with.id), None)
        if mine is None or other is None:
            raise ValidationFailed("Both posters of a swap must have a slot in this schedule.", field="other")
        if other.student_id == student.id:
            raise ValidationFailed("Choose another poster to swap with.", field="other")
        changes[student.id] = (other.session_id, other.room_id, other.starts_at, other.board)
        changes[swap_with.id] = (mine.session_id, mine.room_id, mine.starts_at, mine.board)
    else:
        session = db.session.get(PosterSession, target.session_id)
        room = db.session.get(PosterRoom, target.room_id)
        if session is None or session.cohort_id != schedule.cohort_id or room is None or room.session_id != session.id:
            raise ValidationFailed("That room is not one of this cohort's poster sessions: reload the page.",
                                   field="target")
        step = timedelta(minutes=schedule.problem.get("slot_minutes", 15))
        if not (session.starts_at <= target.starts_at and target.starts_at + step <= session.ends_at
                and (target.starts_at - session.starts_at) % step == timedelta(0)):
            raise ValidationFailed("That time is not a slot of the session.", field="target")
        taken = {s.board for s in slots if s.room_id == room.id and s.student_id != student.id}
        if mine is not None and mine.room_id == room.id:
            board = mine.board
        else:
            board = next((b for b in range(1, room.boards + 1) if b not in taken), None)
            if board is None:
                raise ValidationFailed(f"Every board of {room.name} holds a poster in that session: swap with one "
                                       "of them instead.", field="target")
        changes[student.id] = (session.id, room.id, target.starts_at, board)
    placements = []
    for s in slots:
        if s.student_id in changes:
            continue
        placements.append(_placement(s))
    for sid, (session_id, room_id, starts, board) in changes.items():
        placements.append(Placement(f"P{sid}", f"S{session_id}", f"R{room_id}", board, starts,
                                    starts + step_of(schedule)))
    return placements, changes


def step_of(schedule: PosterSchedule) -> timedelta:
    return timedelta(minutes=schedule.problem.get("slot_minutes", 15))


def check_change(schedule: PosterSchedule, student: User, target: Target | None = None, *,
                 swap_with: User | None = None, problem: dict | None = None) -> Check:
    """What moving ``student``'s poster to ``target`` (or swapping it with ``swap_with``'s) would do:
    the rules it would break that the schedule does not break now, and how the figures change.
    (``problem``: the cohort's input now, when the caller has built it.)"""
    return _checked(schedule, student, target, swap_with, problem)[0]


def _checked(schedule: PosterSchedule, student: User, target: Target | None, swap_with: User | None,
             problem: dict | None = None):
    """The Check of a change, the slots as they stand (by student id) and the change's new places."""
    _editable(schedule)
    slots = slots_of(schedule)
    now = standing(schedule, slots, problem)
    placements, changes = _proposed(schedule, slots, student, target, swap_with)
    after = standing_schedule(poster_problem_from_dict(now.problem), placements)
    already = set(now.result.verdict.problems)
    problems = tuple(now.names(p) for p in after.verdict.problems if p not in already)
    warnings = []
    if after.if_needed_used > now.result.if_needed_used:
        warnings.append("Someone would come to a session they marked “if needed”.")
    if after.assessor_days > now.result.assessor_days:
        warnings.append(f"Assessors would come in on {counted(after.assessor_days - now.result.assessor_days, 'more day')}"
                        " in all.")
    check = Check(not problems, problems, tuple(warnings), _figures(now.result), _figures(after))
    return check, {s.student_id: s for s in slots}, changes


def change(schedule: PosterSchedule, student: User, target: Target | None = None, *, swap_with: User | None = None,
           by: User) -> Check:
    """Move ``student``'s poster to ``target`` or swap it with ``swap_with``'s, when no rule breaks.
    A published schedule changed by hand tells the people whose slot changed."""
    cohort = schedule.cohort
    _require_coordinator(cohort, by)
    services._lock(cohort)
    schedule = db.session.get(PosterSchedule, schedule.id, populate_existing=True)
    check, slots, changes = _checked(schedule, student, target, swap_with)
    if not check.ok:
        raise ValidationFailed("Not changed: " + " ".join(check.problems), field="target")
    if all(sid in slots and (slots[sid].session_id, slots[sid].room_id, slots[sid].starts_at, slots[sid].board) == new
           for sid, new in changes.items()):
        return check  # already there (the same form sent twice)
    step = step_of(schedule)
    for sid in changes:  # off their boards first: two posters swapping boards never hold one board at once
        if sid in slots:
            slots[sid].board = 10_000 + slots[sid].id
    db.session.flush()
    for sid, (session_id, room_id, starts, board) in changes.items():
        slot = slots.get(sid)
        if slot is None:
            slot = PosterSlot(schedule_id=schedule.id, student_id=sid)
            db.session.add(slot)
        slot.session_id, slot.room_id, slot.starts_at, slot.ends_at = session_id, room_id, starts, starts + step
        slot.board, slot.is_moved = board, True
    db.session.flush()
    names = [db.session.get(User, sid).name for sid in changes]
    audit.record("posters.schedule_changed", schedule, actor=by, cohort=cohort,
                 summary=(f"Swapped the posters of {names[0]} and {names[1]}" if swap_with is not None else
                          f"Moved {names[0]}'s poster") + f" in poster {label(schedule).lower()}",
                 before=check.before, after=check.after)
    if schedule.state == PUBLISHED:
        _tell(schedule, set(changes), changed=True)
    return check


# --- publishing -------------------------------------------------------------------------------------

def publish_schedule(schedule: PosterSchedule, *, by: User) -> PosterSchedule:
    """Make the schedule the cohort's: every student and assessor is told their slots (when it replaces
    a published one, only those whose slots changed). Refused while it breaks a rule of the cohort's
    input as it is now."""
    cohort = schedule.cohort
    _require_coordinator(cohort, by)
    services._lock(cohort)
    schedule = db.session.get(PosterSchedule, schedule.id, populate_existing=True)
    if schedule.state == PUBLISHED:
        return schedule  # the same form sent twice
    if schedule.state != SOLVED:
        raise InvalidState(f"{label(schedule)} is {STATE_LABELS[schedule.state].lower()}: only a schedule ready for "
                           "review can be published.")
    slots = slots_of(schedule)
    found = standing(schedule, slots)
    if found.problems:
        raise InvalidState(f"{label(schedule)} breaks the rules as things stand now: " + " ".join(found.problems)
                           + " Move those posters, or make a new schedule (it keeps what it can).")
    old = published_schedule(cohort)
    people_of = {int(p["id"][1:]): tuple(int(a[1:]) for a in p["assessors"]) for p in found.problem["posters"]}
    before: dict[int, tuple] = {}
    if old is not None:
        old_people = assessors_of(old)
        before = {s.student_id: (s.session_id, s.room_id, s.starts_at, s.board, old_people.get(s.student_id))
                  for s in slots_of(old)}
        old.state = SUPERSEDED
        db.session.flush()  # one published schedule per cohort (a partial unique index)
    schedule.problem = found.problem  # what it was checked against: the input of the published schedule
    schedule.state, schedule.published_at, schedule.published_by_id = PUBLISHED, clock.now(), by.id
    db.session.flush()
    now = {s.student_id: (s.session_id, s.room_id, s.starts_at, s.board, people_of.get(s.student_id)) for s in slots}
    changed = {sid for sid in set(now) | set(people_of) if old is None or before.get(sid) != now.get(sid)}
    told = _tell(schedule, changed, changed=old is not None,
                 formerly={sid: was[4] or () for sid, was in before.items()})
    audit.record("posters.schedule_published", schedule, actor=by, cohort=cohort,
                 summary=f"Published poster {label(schedule).lower()}: {len(slots)} posters placed, "
                         f"{len(found.result.unplaced)} without a slot"
                         + (f", replacing schedule {old.number}" if old else ""),
                 before={"published": old.number if old else None},
                 after={"published": schedule.number, "assessor_days": found.result.assessor_days,
                        "people_told": told})
    return schedule


def _tell(schedule: PosterSchedule, students: set[int], *, changed: bool,
          formerly: dict[int, tuple[int, ...]] | None = None) -> int:
    """Tell the students in ``students`` and the assessors of their posters their slots, in the app and
    by e-mail: the assessors now, and those ``formerly`` (student -> assessors in the schedule replaced),
    so that one taken off a poster hears of it too."""
    cohort = schedule.cohort
    zone = cohort.zone
    link = f"/cohorts/{cohort.id}/posters/mine"
    people_of = assessors_of(schedule)
    slots = {s.student_id: s for s in slots_of(schedule)}
    assessors: set[int] = set()
    for sid in students:
        assessors.update(people_of.get(sid, ()))
        assessors.update((formerly or {}).get(sid, ()))
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(students | assessors)))}
    verb = "has changed" if changed else "is set"
    told = 0
    for sid in sorted(students):
        student, slot = users.get(sid), slots.get(sid)
        if student is None or sid not in people_of:
            continue
        if slot is None:
            message = (f"The poster schedule of {cohort.title} is published, but your poster has no slot yet: the "
                       "coordinator will tell you when it has one.")
        else:
            who = " and ".join(users[a].name for a in people_of[sid] if a in users)
            message = (f"Your poster slot for {cohort.title} {verb}: {_when(slot, zone)} in {slot.room.name}, board "
                       f"{slot.board}, assessed by {who}.")
        told += notify([student], message, link=link, cohort=cohort, subject="projectflow: your poster slot")
    mine: dict[int, list[PosterSlot]] = defaultdict(list)
    for sid, slot in slots.items():
        for a in people_of.get(sid, ()):
            if a in assessors:
                mine[a].append(slot)
    for a in sorted(assessors):
        person = users.get(a)
        if person is None:
            continue
        own = sorted(mine.get(a, []), key=lambda s: s.starts_at)
        if own:
            days = len({s.starts_at.astimezone(zone).date() for s in own})
            message = (f"Your poster assessments for {cohort.title} {'have changed' if changed else 'are set'}: "
                       f"{counted(len(own), 'poster')} on {counted(days, 'day')}, the first {_when(own[0], zone)} in "
                       f"{own[0].room.name}.")
        else:
            message = f"You no longer assess any poster in the poster schedule of {cohort.title}."
        told += notify([person], message, link=link, cohort=cohort, subject="projectflow: your poster assessments")
    return told


def _when(slot: PosterSlot, zone) -> str:
    start, end = slot.starts_at.astimezone(zone), slot.ends_at.astimezone(zone)
    return f"{start:%a %d %b %Y}, {start:%H:%M}–{end:%H:%M}"


def in_use(session: PosterSession) -> PosterSchedule | None:
    """The published schedule with a poster in ``session``, if any."""
    return db.session.scalar(select(PosterSchedule).join(PosterSlot).where(
        PosterSlot.session_id == session.id, PosterSchedule.state == PUBLISHED).limit(1))


def target_from(schedule: PosterSchedule, value: str) -> Target:
    """``<room id>-<slot number>`` (the change form's choice) as a Target; ValidationFailed when it is
    not a room and slot of this cohort's sessions."""
    try:
        room_text, k_text = str(value).split("-", 1)
        room_id, k = int(room_text), int(k_text)
    except ValueError:
        raise ValidationFailed("Choose the room and time from the list.", field="target") from None
    room = db.session.get(PosterRoom, room_id) if 1 <= room_id < 2**31 else None
    if room is None or room.session.cohort_id != schedule.cohort_id or not 0 <= k < 10_000:
        raise ValidationFailed("That room is not one of this cohort's poster sessions: reload the page.",
                               field="target")
    return Target(room.session_id, room.id, room.session.starts_at + k * step_of(schedule))


def standing_against(schedule: PosterSchedule, problem) -> Schedule:
    """The schedule's placements as they stand, checked against ``problem`` (its own input: the file
    ``projectflow schedule-posters`` would have written, hand moves included)."""
    reasons = {u["poster"]: u["reason"] for u in schedule.summary.get("unplaced", [])}
    result = standing_schedule(problem, [_placement(s) for s in slots_of(schedule)], reasons)
    return replace(result, solve_seconds=schedule.solve_seconds or 0.0)
