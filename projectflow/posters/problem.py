"""The scheduler's input, built from the cohort's poster set-up and answers (``problem_file``, the file
format of ``projectflow schedule-posters``); the pre-check of what stops a complete schedule, before
any solving; what the coordinator's poster page shows (``overview``); and the engine's identifiers
(``u12``, ``P40``, ``S3``, ``R7``) in people's words (``Names``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from ..cohorts.models import Cohort
from ..core.text import counted
from ..extensions import db
from ..matching.services import published_run
from ..people.models import User
from ..solvers.posters import precheck as solver_precheck
from ..solvers.posters_io import poster_problem_from_dict
from .availability import Counts, counts
from .models import ACCEPTED, IF_NEEDED, UNAVAILABLE, Availability, PosterSession, PosterSettings
from .services import Poster, posters, session_label, sessions_of, settings_of

# How many posters with no common session the pre-check names before summing up the rest.
NAMED_IMPOSSIBLE = 10


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
