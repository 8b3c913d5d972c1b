"""The poster day's programme: a printable PDF of a schedule, by session and room (each slot time with
the posters assessed then, their boards and assessors), then a board-by-board list of each room for
whoever puts the posters up or walks the room with a floor plan.

Who is named: the published programme goes to the whole cohort and is printed and pinned up, so it
shows every student as a reader who knows nobody would see them under the one anonymity rule
(``matching.anonymity``): the candidate number while the cohort marks anonymously, else the name. It
is the same document whoever downloads it. A coordinators' copy of a schedule (a draft, or the
published one through its own page) names students as coordinators see them: by name, with the
candidate number.

Printed with the shared PDF machinery (``core.pdf``) and stylesheet (``templates/pdf/print.css``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask_login import AnonymousUserMixin
from sqlalchemy import select

from ..cohorts.models import Cohort
from ..core import clock, pdf
from ..extensions import db
from ..matching import anonymity
from ..matching.models import Allocation
from ..matching.services import published_run
from ..people.models import User
from ..proposals.models import Project
from . import schedules, services
from .models import PUBLISHED, SUPERSEDED, PosterSchedule, PosterSlot

# A run of this many free boards or more is one line of the board list ("Boards 12–40: free").
FREE_RUN = 3


@dataclass(frozen=True)
class Poster:
    """One poster in the programme: where, when, whose and who assesses it."""

    board: int
    starts_at: datetime  # in the cohort's zone
    ends_at: datetime
    student: str  # the name or "Candidate 123456" (see the module's docstring)
    project: str
    assessors: tuple[str, ...]


@dataclass(frozen=True)
class SlotTime:
    starts_at: datetime
    ends_at: datetime
    posters: tuple[Poster, ...]  # by board


@dataclass(frozen=True)
class BoardLine:
    """A line of a room's board list: one board with its poster, or a run of free boards."""

    first: int
    last: int
    poster: Poster | None

    @property
    def free(self) -> int:
        return self.last - self.first + 1 if self.poster is None else 0


@dataclass(frozen=True)
class RoomProgramme:
    name: str
    boards: int
    times: tuple[SlotTime, ...]
    board_list: tuple[BoardLine, ...]
    posters: int

    @property
    def free_boards(self) -> int:
        return sum(line.free for line in self.board_list)


@dataclass(frozen=True)
class SessionProgramme:
    label: str  # "Tue 14 Sep 2027, 10:00–12:00"
    starts_at: datetime  # in the cohort's zone
    ends_at: datetime
    rooms: tuple[RoomProgramme, ...]  # every room of the session, those without a poster too
    posters: int


@dataclass(frozen=True)
class Unplaced:
    student: str
    project: str
    assessors: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Programme:
    letterhead: pdf.Letterhead
    title: str
    schedule_label: str  # "Schedule 3"
    state: str  # the schedule's state
    is_draft: bool  # not the programme in force: everything but the published schedule
    published_at: datetime | None  # in the cohort's zone
    names_shown: bool  # students by name (a coordinators' copy of an anonymous cohort, or a named cohort)
    anonymous: bool  # the cohort marks anonymously
    zone: str  # "Europe/London"
    zone_hint: str  # "BST, UTC+01:00" at the first session
    sessions: tuple[SessionProgramme, ...]  # every session of the cohort, by start (some may have no poster)
    unplaced: tuple[Unplaced, ...]  # coordinators' copies only
    posters: int
    generated_at: datetime  # in the cohort's zone
    filename: str

    @property
    def busy_sessions(self) -> tuple[SessionProgramme, ...]:
        """The sessions with a poster: those the programme prints pages for."""
        return tuple(s for s in self.sessions if s.posters)


def has_slots(schedule: PosterSchedule) -> bool:
    return db.session.scalar(select(PosterSlot.id).where(PosterSlot.schedule_id == schedule.id).limit(1)) is not None


def _public_reader() -> AnonymousUserMixin:
    """Whoever reads a programme pinned to a wall: they know no student, under the anonymity rule."""
    return AnonymousUserMixin()


def _titles(cohort: Cohort, student_ids: set[int]) -> dict[int, str]:
    """Student id -> their project's title in the published allocation (two queries)."""
    run = published_run(cohort)
    if run is None or not student_ids:
        return {}
    return dict(db.session.execute(select(Allocation.student_id, Project.title)
                                   .join(Project, Project.id == Allocation.project_id)
                                   .where(Allocation.run_id == run.id, Allocation.student_id.in_(student_ids))).all())


def _board_list(boards: int, posters: list[Poster]) -> tuple[BoardLine, ...]:
    """Boards 1..n in order (n the room's boards, or a higher board a poster still holds after the room
    shrank), runs of FREE_RUN or more free boards as one line."""
    on = {p.board: p for p in posters}
    last = max([boards, *on])
    lines: list[BoardLine] = []
    board = 1
    while board <= last:
        if board in on:
            lines.append(BoardLine(board, board, on[board]))
            board += 1
            continue
        end = board
        while end + 1 <= last and end + 1 not in on:
            end += 1
        if end - board + 1 >= FREE_RUN:
            lines.append(BoardLine(board, end, None))
        else:
            lines += [BoardLine(b, b, None) for b in range(board, end + 1)]
        board = end + 1
    return tuple(lines)


def programme(schedule: PosterSchedule, *, public: bool, reader: User | None = None) -> Programme:
    """The programme of ``schedule``: ``public`` for the cohort's published programme (students as a
    reader who knows nobody sees them, no unplaced posters), else the coordinators' copy as ``reader``
    sees it. A fixed number of queries, however many posters: nine (slots 3, sessions 2, people 1,
    candidate numbers 1, project titles 2), and one more for the reasons of posters without a slot."""
    cohort = schedule.cohort
    zone = cohort.zone
    slots = schedules.slots_of(schedule)
    assessors = schedules.assessors_of(schedule)
    sessions = services.sessions_of(cohort)
    placed = {s.student_id for s in slots}
    unplaced_ids = [sid for sid in assessors if sid not in placed] if not public else []
    people_ids = {a for group in assessors.values() for a in group} | set(unplaced_ids)
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people_ids)))} if people_ids else {}
    people |= {s.student.id: s.student for s in slots}
    names = anonymity.names_for(cohort, _public_reader() if public else reader)
    titles = _titles(cohort, placed | set(unplaced_ids))

    def student_label(student: User) -> str:
        return names.label(student, with_number=not public)

    def assessor_names(student_id: int) -> tuple[str, ...]:
        return tuple(people[a].name for a in assessors.get(student_id, ()) if a in people)

    by_room: dict[int, list[Poster]] = defaultdict(list)
    for s in slots:
        by_room[s.room_id].append(Poster(s.board, s.starts_at.astimezone(zone), s.ends_at.astimezone(zone),
                                         student_label(s.student), titles.get(s.student_id, ""),
                                         assessor_names(s.student_id)))
    shown = []
    for session in sessions:
        rooms = []
        for room in session.rooms:
            posters = sorted(by_room.get(room.id, []), key=lambda p: (p.starts_at, p.board))
            times: dict[tuple[datetime, datetime], list[Poster]] = defaultdict(list)
            for p in posters:
                times[p.starts_at, p.ends_at].append(p)
            rooms.append(RoomProgramme(room.name, room.boards,
                                       tuple(SlotTime(start, end, tuple(ps)) for (start, end), ps in times.items()),
                                       _board_list(room.boards, posters), len(posters)))
        shown.append(SessionProgramme(services.session_label(session, zone), session.starts_at.astimezone(zone),
                                      session.ends_at.astimezone(zone), tuple(rooms), sum(r.posters for r in rooms)))
    reasons = {u["poster"]: u["reason"] for u in schedule.summary.get("unplaced", [])}
    unplaced = ()
    if unplaced_ids:
        words = schedules.Names(cohort, schedule.problem, sessions)
        unplaced = tuple(sorted(
            (Unplaced(student_label(people[sid]), titles.get(sid, ""), assessor_names(sid),
                      words(reasons.get(f"P{sid}", "No slot in this schedule: place it by hand or make a new "
                                                   "schedule.")))
             for sid in unplaced_ids if sid in people), key=lambda u: u.student.lower()))
    first = sessions[0].starts_at.astimezone(zone) if sessions else clock.now().astimezone(zone)
    offset = first.strftime("%z")
    hint = f"{first:%Z}, UTC{offset[:3]}:{offset[3:]}" if offset else f"{first:%Z}"
    is_draft = schedule.state != PUBLISHED
    code = f"{cohort.programme_code}-{cohort.academic_year}"
    return Programme(
        letterhead=pdf.letterhead(cohort), title=f"Poster day programme — {cohort.title}",
        schedule_label=schedules.label(schedule), state=schedule.state, is_draft=is_draft,
        published_at=schedule.published_at.astimezone(zone) if schedule.published_at else None,
        names_shown=not cohort.marks_anonymously or not public, anonymous=cohort.marks_anonymously,
        zone=cohort.timezone, zone_hint=hint, sessions=tuple(shown), unplaced=unplaced,
        posters=len(slots), generated_at=clock.now().astimezone(zone),
        filename=(f"{code}-poster-programme.pdf" if public else
                  f"{code}-poster-programme-schedule-{schedule.number}{'-draft' if is_draft else ''}.pdf"))


def state_line(found: Programme) -> str:
    """What the status line under the title says about the schedule."""
    if not found.is_draft:
        return f"Published on {found.published_at:%d %B %Y}" if found.published_at else "Published"
    if found.state == SUPERSEDED:
        return f"DRAFT — {found.schedule_label} was replaced by a later schedule: not the programme in force"
    return f"DRAFT — {found.schedule_label} is not published: places and times may still change"


def programme_pdf(schedule: PosterSchedule, *, public: bool, reader: User | None = None) -> tuple[bytes, str]:
    """The programme printed: the PDF and its file name."""
    found = programme(schedule, public=public, reader=reader)
    html = pdf.render_html("poster_programme.html", programme=found, status=state_line(found), lang="en")
    return pdf.html_to_pdf(html), found.filename
