"""Poster sessions: each poster in one session, room, board and slot, assessed by all its assessors
together, with nobody in two places at once.

``schedule_posters(problem, time_limit, previous) -> Schedule``. The rules that are never broken:

* a poster gets one session, one room, one board of that room (a board holds one poster for the
  whole session) and one slot of ``slot_minutes`` within the session;
* all its people (its assessors and, when given, its student) are available in that session: not
  marked unavailable there ("if needed" counts as available);
* nobody is in two places in one slot;
* no more posters in a room than it has boards, and at most ``max_per_assessor_per_session`` posters
  per assessor per session.

Goals, in strict order: (1) place every poster; (2) when rescheduling, keep each poster's previous
placement; (3) use "if needed" availability as little as possible (counted once per person and
session used); (4) the fewest assessor-days (for each assessor, the distinct days with a poster of
theirs), then the fewest assessor-sessions, so that an assessor's posters are close together in
time; within a session, (5) the fewest idle slots between an assessor's first and last poster; and
(6) rooms filled in proportion to their boards.

The model is decomposed, as measured in the research notes (one model over posters x slots needs
about a minute only to place every poster at 1,000 posters):

*Stage 1*, posters to sessions: a Boolean per (poster, session where all its people are
available); presence per (assessor, session) and per (assessor, day). An assessor does at most
``min(max_per_assessor_per_session, slots in the session)`` posters in a session, a session holds at
most its boards. A greedy start (a tenth of a second at 1,000 posters) and a descent; then CP-SAT
solves goals (1)-(3) one after another, each optimum (or the best found in its share of the time)
becoming a constraint of the next; then goal (4) by a local search that clears assessors' days
(descent and simulated annealing, never worsening goals (1)-(3)), and CP-SAT once more from its
answer (which proves small instances optimal). Measured on the benchmark, CP-SAT with two workers
barely improves a start in a minute; the local search does most of the work.

*Stage 2*, within each session, posters to slots, no person twice in a slot: a greedy slotting (CP-SAT
when it leaves a poster out), then CP-SAT from it: the previous slots kept when possible, then the
fewest idle slots (the span from an assessor's first to last slot).
Per-person limits do not guarantee a clash-free slotting (three posters pairing three assessors in a
2-slot session cannot be slotted): when stage 2 leaves a poster out, a set of posters proven unable to
share the session (a core, shrunk by CP-SAT) becomes a constraint of stage 1 (never all of them there
at once), and stage 1 solves again from its last answer. Rooms and boards are then given without a
solver: previous boards kept, the rest shared in proportion to boards, each assessor's posters on
neighbouring boards.

``precheck(problem)`` says, before any solving, which posters cannot be placed at all and why, and
which groups of posters exceed the boards or an assessor's slots. ``lower_bound(problem)`` is the
figure the result is reported against (see there). The validator (``posters_validate``) shares no
code with this module and checks every result before it is returned.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from itertools import combinations

from ortools.sat.python import cp_model

from .problem import ProblemError, Verdict

SCHEDULE_STATUSES = ("complete", "partial", "error")

# Sessions whose distinct candidate sets are checked exhaustively by the pre-check (2**12 subsets).
_EXHAUSTIVE_SESSIONS = 12
_MAX_CAPACITY_ISSUES = 20
_REPAIR_ROUNDS = 6


# --- The problem and its result -----------------------------------------------------------------


@dataclass(frozen=True)
class Room:
    id: str
    boards: int  # poster boards in this room during this session


@dataclass(frozen=True)
class Session:
    id: str
    start: datetime  # aware (with a UTC offset); the day of a session is start's date at that offset
    end: datetime
    rooms: tuple[Room, ...]


@dataclass(frozen=True)
class Poster:
    id: str
    assessors: tuple[str, ...]  # person ids; all assess the poster together in one slot
    student: str | None = None  # the presenter, when their availability counts too

    @property
    def people(self) -> tuple[str, ...]:
        return self.assessors + ((self.student,) if self.student is not None else ())


@dataclass(frozen=True)
class PersonSession:
    person: str
    session: str


@dataclass(frozen=True)
class Problem:
    sessions: tuple[Session, ...]
    posters: tuple[Poster, ...]
    slot_minutes: int = 15
    max_per_assessor_per_session: int = 8
    unavailable: tuple[PersonSession, ...] = ()  # never scheduled there
    if_needed: tuple[PersonSession, ...] = ()  # available, but used as little as possible


@dataclass(frozen=True)
class Placement:
    poster: str
    session: str
    room: str
    board: int  # 1 .. the room's boards
    start: datetime  # session start + k * slot_minutes
    end: datetime  # start + slot_minutes


@dataclass(frozen=True)
class Unplaced:
    poster: str
    reason: str  # a sentence for the coordinator


@dataclass(frozen=True)
class CapacityIssue:
    """A group of posters that together need more than there is: at least ``excess`` of ``posters``
    cannot be placed, whichever they are."""

    message: str
    posters: tuple[str, ...]
    excess: int


@dataclass(frozen=True)
class Precheck:
    impossible: tuple[Unplaced, ...] = ()  # posters with no session where all their people are free
    capacity: tuple[CapacityIssue, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.impossible and not self.capacity


@dataclass(frozen=True)
class Stage:
    """One CP-SAT solve: what it optimised, how far it got, and how long it took."""

    name: str  # placed, kept, if-needed, days (stage 1); slots S1 ... (stage 2)
    status: str  # CP-SAT's status name
    value: int
    seconds: float


@dataclass(frozen=True)
class Schedule:
    status: str  # "complete" | "partial" (some posters unplaced) | "error" (the validator refused it)
    placements: tuple[Placement, ...] = ()  # by session, start, room, board
    unplaced: tuple[Unplaced, ...] = ()  # in the problem's poster order
    assessor_days: int = 0
    lower_bound: int = 0  # lower_bound(problem): assessor_days can be no smaller when complete
    if_needed_used: int = 0  # (person, session) "if needed" pairs with a poster of theirs
    assessor_sessions: int = 0
    idle_slots: int = 0  # empty slots between an assessor's first and last poster, summed
    solve_seconds: float = 0.0
    moved: int | None = None  # previous placements not kept exactly (None when there was none)
    warnings: tuple[str, ...] = ()  # the pre-check's capacity sentences
    stages: tuple[Stage, ...] = ()
    message: str = ""
    verdict: Verdict | None = None


# --- Definitions shared by the engine, the pre-check and the bound ------------------------------


def slot_count(session: Session, slot_minutes: int) -> int:
    """Whole slots of ``slot_minutes`` from the session's start (a remainder at the end is unused)."""
    return max(0, (session.end - session.start) // timedelta(minutes=slot_minutes))


def session_day(session: Session) -> date:
    return session.start.date()


def check_problem(problem: Problem) -> list[str]:
    """Every reason the problem is malformed, each naming the offending entry; empty when sound.

    Checks: slot length and per-session maximum of at least 1; duplicate ids; a session without a
    UTC offset, ending before it starts, or overlapping another (someone could be in both at once:
    make them one session with both rooms); duplicate rooms; negative boards; a poster without
    assessors, naming one twice, or whose student is also an assessor; availability entries naming an
    unknown session or a person on no poster, given twice, or both unavailable and "if needed".
    """
    faults: list[str] = []
    for name in ("slot_minutes", "max_per_assessor_per_session"):
        value = getattr(problem, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            faults.append(f"{name!r} must be a whole number of at least 1, not {value!r}.")
    for kind, items in (("session", problem.sessions), ("poster", problem.posters)):
        for ident, count in Counter(item.id for item in items).items():
            if count > 1:
                faults.append(f"The {kind} id {ident!r} appears {count} times.")
    timed = []
    for s in problem.sessions:
        if s.start.utcoffset() is None or s.end.utcoffset() is None:
            faults.append(f"Session {s.id!r}: start and end need a UTC offset (e.g. 2026-09-14T10:00:00+01:00).")
            continue
        if s.end <= s.start:
            faults.append(f"Session {s.id!r} ends before it starts.")
            continue
        timed.append(s)
        for ident, count in Counter(r.id for r in s.rooms).items():
            if count > 1:
                faults.append(f"Session {s.id!r} lists room {ident!r} {count} times.")
        for r in s.rooms:
            if isinstance(r.boards, bool) or not isinstance(r.boards, int) or r.boards < 0:
                faults.append(f"Session {s.id!r}, room {r.id!r}: boards must be a whole number of at least 0.")
    timed.sort(key=lambda s: s.start)
    latest = None
    for s in timed:
        if latest is not None and s.start < latest.end:
            faults.append(f"Sessions {latest.id!r} and {s.id!r} overlap in time: someone could be in both at once "
                          f"(make them one session with both rooms).")
        if latest is None or s.end > latest.end:
            latest = s
    people: set[str] = set()
    for p in problem.posters:
        if not p.assessors:
            faults.append(f"Poster {p.id!r} has no assessor.")
        for ident, count in Counter(p.assessors).items():
            if count > 1:
                faults.append(f"Poster {p.id!r} names assessor {ident!r} {count} times.")
        if p.student is not None and p.student in p.assessors:
            faults.append(f"Poster {p.id!r}: its student {p.student!r} is also one of its assessors.")
        people.update(p.people)
    sessions = {s.id for s in problem.sessions}
    for kind, pairs in (("unavailable", problem.unavailable), ("if_needed", problem.if_needed)):
        for pair in pairs:
            if pair.session not in sessions:
                faults.append(f"An {kind} entry names an unknown session {pair.session!r} (person {pair.person!r}).")
            if pair.person not in people:
                faults.append(f"An {kind} entry names {pair.person!r}, who is on no poster (session {pair.session!r}).")
        for pair, count in Counter(pairs).items():
            if count > 1:
                faults.append(f"The {kind} entry {pair.person!r} in {pair.session!r} appears {count} times.")
    for pair in sorted(set(problem.unavailable) & set(problem.if_needed), key=lambda q: (q.person, q.session)):
        faults.append(f"{pair.person!r} is both unavailable and \"if needed\" in session {pair.session!r}.")
    return faults


class _Index:
    """Look-ups over a (sound) problem, built once per call."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.posters = {p.id: p for p in problem.posters}
        self.order_of_poster = {p.id: i for i, p in enumerate(problem.posters)}
        self.sessions = {s.id: s for s in problem.sessions}
        self.order = {s.id: i for i, s in enumerate(problem.sessions)}
        self.slot = timedelta(minutes=problem.slot_minutes)
        self.slots = {s.id: slot_count(s, problem.slot_minutes) for s in problem.sessions}
        self.boards = {s.id: sum(r.boards for r in s.rooms) for s in problem.sessions}
        self.day = {s.id: session_day(s) for s in problem.sessions}
        self.usable = tuple(s.id for s in problem.sessions if self.slots[s.id] > 0 and self.boards[s.id] > 0)
        # What one assessor can do in one session: every poster needs its own slot.
        self.cap = {s: min(problem.max_per_assessor_per_session, self.slots[s]) for s in self.sessions}
        self.away: dict[str, set[str]] = defaultdict(set)
        for pair in problem.unavailable:
            self.away[pair.person].add(pair.session)
        self.if_needed = {(pair.person, pair.session) for pair in problem.if_needed}
        self.assessors = sorted({a for p in problem.posters for a in p.assessors})
        self.candidates = {p.id: tuple(s for s in self.usable if not any(s in self.away[q] for q in p.people))
                           for p in problem.posters}


def _names(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _why_impossible(poster: Poster, index: _Index) -> str:
    """Why a poster has no session where all its people are available (its candidate set is empty)."""
    if not index.problem.sessions:
        return "There is no session."
    if not index.usable:
        return (f"No session has both a poster board and a whole slot of {index.problem.slot_minutes} minutes.")
    away = {q: [s for s in index.usable if s in index.away[q]] for q in poster.people}
    involved = [q for q in poster.people if away[q]]
    whole = [q for q in involved if len(away[q]) == len(index.usable)]

    def role(people):
        assessors = [q for q in people if q in poster.assessors]
        parts = []
        if assessors:
            parts.append(f"its assessor{'s' if len(assessors) > 1 else ''} {_names(assessors)}")
        if poster.student in people:
            parts.append(f"its student {poster.student}")
        return " and ".join(parts)

    if whole:
        text = role(whole)
        verb = "are" if len(whole) > 1 else "is"
        return f"{text[0].upper()}{text[1:]} {verb} unavailable in every session ({', '.join(index.usable)})."
    text = role(involved)
    detail = "; ".join((f"{q} is unavailable in " if i == 0 else f"{q} in ") + ", ".join(away[q])
                       for i, q in enumerate(involved))
    return f"{text[0].upper()}{text[1:]} share no session: {detail}."


def precheck(problem: Problem) -> Precheck:
    """Every poster that cannot be placed at all, and why; and every group of posters that needs more
    boards, or more of one assessor's slots, than there are (raises ProblemError when malformed).

    The group checks are necessary conditions only: a schedule can still leave a poster out for a
    reason they miss (e.g. three posters pairing three assessors in a session of two slots).
    """
    faults = check_problem(problem)
    if faults:
        raise ProblemError(faults)
    started = time.perf_counter()
    index = _Index(problem)
    impossible, capacity = _precheck(index)
    return Precheck(impossible, capacity, time.perf_counter() - started)


def _precheck(index: _Index) -> tuple[tuple[Unplaced, ...], tuple[CapacityIssue, ...]]:
    impossible = tuple(Unplaced(p.id, _why_impossible(p, index)) for p in index.problem.posters
                       if not index.candidates[p.id])
    return impossible, _board_issues(index) + _person_issues(index)


def _board_issues(index: _Index) -> tuple[CapacityIssue, ...]:
    """Hall's condition on boards: for a set T of sessions, the posters that can only go to T need at
    most the boards of T. Exhaustive over subsets up to 12 usable sessions, else over the candidate
    sets that occur and their union."""
    bit = {s: 1 << i for i, s in enumerate(index.usable)}
    masks: dict[int, list[str]] = defaultdict(list)
    for p in index.problem.posters:
        if index.candidates[p.id]:
            masks[sum(bit[s] for s in index.candidates[p.id])].append(p.id)
    if not masks:
        return ()
    n = len(index.usable)
    boards = [index.boards[s] for s in index.usable]
    if n <= _EXHAUSTIVE_SESSIONS:
        count = [0] * (1 << n)
        for m, ps in masks.items():
            count[m] += len(ps)
        for i in range(n):  # sum over subsets
            step = 1 << i
            for m in range(1 << n):
                if m & step:
                    count[m] += count[m ^ step]
        subsets = range(1, 1 << n)
        within = count.__getitem__
    else:
        subsets = sorted(set(masks) | {(1 << n) - 1})

        def within(t: int) -> int:
            return sum(len(ps) for m, ps in masks.items() if m & ~t == 0)
    violations = []
    for t in subsets:
        room = sum(b for i, b in enumerate(boards) if t >> i & 1)
        excess = within(t) - room
        if excess > 0:
            violations.append((bin(t).count("1"), t, excess))
    issues: list[tuple[int, int]] = []
    for _, t, excess in sorted(violations):
        # A larger set is worth reporting only if it shows more posters left out than a subset of it.
        if any(r & ~t == 0 and e >= excess for r, e in issues):
            continue
        issues.append((t, excess))
    result = []
    full = (1 << n) - 1
    for t, excess in issues[:_MAX_CAPACITY_ISSUES]:
        posters = tuple(p for m, ps in masks.items() if m & ~t == 0 for p in ps)
        names = [s for s in index.usable if t & bit[s]]
        room = sum(index.boards[s] for s in names)
        if t == full:
            message = (f"{len(posters)} posters but only {room} board{'s' if room != 1 else ''} in all sessions: at "
                       f"least {excess} cannot be placed.")
        else:
            message = (f"{len(posters)} posters can only go to {'session' if len(names) == 1 else 'sessions'} "
                       f"{', '.join(names)}, which {'holds' if len(names) == 1 else 'hold'} {room} boards "
                       f"in all: at least {excess} cannot be placed.")
        order = {p.id: i for i, p in enumerate(index.problem.posters)}
        result.append(CapacityIssue(message, tuple(sorted(posters, key=order.__getitem__)), excess))
    return tuple(result)


def _person_issues(index: _Index) -> tuple[CapacityIssue, ...]:
    """A person's posters need more slots than they have in the sessions those posters can go to
    (an assessor: at most min(max per session, slots) a session; a student: one per slot)."""
    posters: dict[str, list[str]] = defaultdict(list)
    for p in index.problem.posters:
        if index.candidates[p.id]:
            for q in p.people:
                posters[q].append(p.id)
    assessors = set(index.assessors)
    issues = []
    for person, mine in posters.items():
        if len(mine) < 2:
            continue
        sessions = [s for s in index.usable if any(s in index.candidates[p] for p in mine)]
        per = {s: index.cap[s] if person in assessors else index.slots[s] for s in sessions}
        most = sum(per.values())
        if len(mine) > most:
            rule = (f"one poster a slot, at most {index.problem.max_per_assessor_per_session} a session"
                    if person in assessors else "one poster a slot")
            issues.append(CapacityIssue(
                f"{person} is on {len(mine)} posters but can be at most {most} in the sessions those posters "
                f"can go to (" + ", ".join(f"{n} in {s}" for s, n in per.items()) + f"; {rule}): at least "
                f"{len(mine) - most} cannot be placed.", tuple(mine), len(mine) - most))
    return tuple(issues[:_MAX_CAPACITY_ISSUES])


def days_needed(load: int, day_capacities: list[int]) -> int:
    """The fewest days whose capacities add up to ``load`` (all days with any capacity if none do)."""
    total, days = 0, 0
    for capacity in sorted((c for c in day_capacities if c > 0), reverse=True):
        if total >= load:
            break
        total += capacity
        days += 1
    return days


def lower_bound(problem: Problem, *, availability: bool = True) -> int:
    """A lower bound on assessor-days for any schedule placing every poster the pre-check does not
    rule out: the sum over assessors of the fewest days each could do their posters in, on their own.

    An assessor's posters are those with some session where all the poster's people are available.
    In a session they can do at most min(max per assessor per session, slots in the session). The
    fewest days for them alone is the smallest set of days such that each of their posters can go to a
    session on one of those days where all its people are available, and all of them fit those
    sessions within that limit (a small matching, tried for sets of 1, 2, ... days; after 4,096 sets
    the size reached is taken, still a bound). ``availability=False`` gives the simple bound of the
    issue: ceil(posters / what a full day holds), with every session of a day counted for everyone
    (on days unlike each other, the fewest days whose capacities add up to the posters).
    """
    faults = check_problem(problem)
    if faults:
        raise ProblemError(faults)
    return _lower_bound(_Index(problem), availability)


def _lower_bound(index: _Index, availability: bool = True) -> int:
    mine: dict[str, list[str]] = defaultdict(list)
    for p in index.problem.posters:
        if index.candidates[p.id]:
            for a in p.assessors:
                mine[a].append(p.id)
    days = sorted({index.day[s] for s in index.usable})
    total = 0
    for a, posters in mine.items():
        per_day = [sum(index.cap[s] for s in index.usable
                       if index.day[s] == d and not (availability and s in index.away[a])) for d in days]
        fewest = days_needed(len(posters), per_day)
        total += _fewest_days(index, posters, fewest) if availability else fewest
    return total


def _fewest_days(index: _Index, posters: list[str], start: int) -> int:
    """The fewest days one assessor can do ``posters`` in, alone (see ``lower_bound``); ``start`` is
    known not to be too many."""
    days_of = {p: {index.day[s] for s in index.candidates[p]} for p in posters}
    useful = sorted(set().union(*days_of.values()))
    tried = 0
    for k in range(max(1, start), len(useful) + 1):
        for chosen in combinations(useful, k):
            tried += 1
            if tried > 4096:
                return k  # every smaller set was ruled out
            chosen = set(chosen)
            if all(days_of[p] & chosen for p in posters) and _all_fit(index, posters, chosen):
                return k
    return len(useful)


def _all_fit(index: _Index, posters: list[str], days: set) -> bool:
    """Whether one assessor's posters fit sessions on ``days`` (where all their people are available),
    at most ``index.cap`` in a session: a bipartite matching by augmenting paths."""
    options = {p: [s for s in index.candidates[p] if index.day[s] in days] for p in posters}
    holding: dict[str, list[str]] = defaultdict(list)

    def place(p: str, seen: set) -> bool:
        for s in options[p]:
            if s in seen:
                continue
            seen.add(s)
            if len(holding[s]) < index.cap[s]:
                holding[s].append(p)
                return True
            for r in list(holding[s]):
                if place(r, seen):
                    holding[s].remove(r)
                    holding[s].append(p)
                    return True
        return False

    return all(place(p, set()) for p in posters)


# --- The engine ---------------------------------------------------------------------------------


def schedule_posters(problem: Problem, time_limit: float = 30.0, previous=None, *, seed: int = 1,
                     workers: int = 2, progress: Callable[[float, str], None] | None = None) -> Schedule:
    """Schedule the posters; the result carries the validator's verdict.

    ``time_limit`` (seconds) is shared out: about 80% to stage 1, the rest to stage 2, session by
    session (a solve proven optimal stops early; a repair round may add up to a tenth more).
    ``previous``: placements of an earlier schedule (e.g. before an assessor fell ill); each is kept
    where the rules still allow, ahead of every goal but placing posters. Placements of posters or
    sessions no longer in the problem are ignored. ``progress(fraction, message)``, when given, hears
    of each stage as it starts (a job's progress bar). ``seed`` seeds CP-SAT and the local search; with two
    workers and wall-clock limits, two runs agree when their solves finish (are proven optimal) within
    their limits, and may differ slightly otherwise. Raises ProblemError when the problem is malformed.
    """
    faults = check_problem(problem)
    if faults:
        raise ProblemError(faults)
    started = time.perf_counter()
    tell = progress or (lambda fraction, message: None)
    tell(0.0, "Checking which posters can go where")
    index = _Index(problem)
    impossible, capacity = _precheck(index)
    solver = _Solver(seed, workers)
    before = {p.poster: p for p in (previous or ()) if p.poster in index.posters and p.session in index.sessions}
    sessions_before = {p: pl.session for p, pl in before.items()}
    candidates = {p: list(c) for p, c in index.candidates.items() if c}
    cuts: list[tuple[str, frozenset]] = []  # (session, posters that cannot all be slotted there)

    deadline = started + time_limit
    # At most this many can be placed: each group of the pre-check leaves out its excess (groups
    # taken with no poster in common, so that the excesses add up).
    most, counted = len(candidates), set()
    for issue in sorted(capacity, key=lambda i: -i.excess):
        if counted.isdisjoint(issue.posters):
            most -= issue.excess
            counted.update(issue.posters)
    tell(0.05, f"Choosing a session for each of {len(problem.posters)} posters (up to {0.8 * time_limit:.0f} s)")
    sessions_of = _StageOne(index, candidates, sessions_before, solver, most).solve(0.8 * time_limit)
    solved: dict[str, tuple[frozenset, dict[str, int]]] = {}
    for repair in range(_REPAIR_ROUNDS + 1):
        groups: dict[str, list[str]] = defaultdict(list)
        for p, s in sessions_of.items():
            groups[s].append(p)
        pending = [s for s in index.usable if s in groups and solved.get(s, ((),))[0] != frozenset(groups[s])]
        share = max(0.2, (deadline - time.perf_counter()) / max(1, len(pending)))
        failed = []
        for k, s in enumerate(pending):
            tell(0.8 + 0.15 * k / len(pending), f"Slots within session {k + 1} of {len(pending)}"
                 + (f" (repair round {repair})" if repair else ""))
            got, cores = _stage_two(index, s, groups[s], before, solver, share)
            solved[s] = (frozenset(groups[s]), got)
            failed += [(p, s) for p in groups[s] if p not in got]
            cuts += [(s, core) for core in cores]
        if not failed:
            break
        if repair == _REPAIR_ROUNDS:
            for p, _s in failed:
                del sessions_of[p]
            break
        # Stage 1 again, never again with all of a core in its session, from the answer so far less
        # the posters left without a slot.
        failed_pairs = set(failed)
        hint = {p: s for p, s in sessions_of.items() if (p, s) not in failed_pairs}
        sessions_of = _StageOne(index, candidates, sessions_before, solver, most, cuts).solve(
            max(1.0, min(0.1 * time_limit, deadline - time.perf_counter())), hint)
    slots = {p: solved[s][1][p] for p, s in sessions_of.items()}

    tell(0.95, "Giving out the boards and checking every rule")
    placements = _boards(index, sessions_of, slots, before)
    placed = {pl.poster for pl in placements}
    kept = set(placements) & set(before.values())
    reasons = {u.poster: u.reason for u in impossible}
    for issue in capacity:
        for p in issue.posters:
            reasons.setdefault(p, issue.message)
    unplaced = tuple(Unplaced(p.id, reasons.get(p.id) or _why_left_out(index, p, placements, cuts))
                     for p in problem.posters if p.id not in placed)
    schedule = Schedule(
        status="complete" if not unplaced else "partial",
        placements=placements, unplaced=unplaced,
        lower_bound=_lower_bound(index), warnings=tuple(i.message for i in capacity),
        stages=tuple(solver.stages),
        moved=len(before) - len(kept) if previous is not None else None,
        **_figures(index, placements))
    schedule = replace(schedule, solve_seconds=time.perf_counter() - started)
    from .posters_validate import validate_schedule  # beside, not part of, the engine

    verdict = validate_schedule(problem, schedule)
    if not verdict.ok:
        # A schedule the validator refuses is never reported as a success.
        schedule = replace(schedule, status="error",
                           message="The validator rejected the schedule: " + " ".join(verdict.problems))
    return replace(schedule, verdict=verdict)


def standing_schedule(problem: Problem, placements, reasons: dict[str, str] | None = None) -> Schedule:
    """The schedule made of ``placements`` as they stand (changed by hand, or checked against a
    changed problem): its figures against the lower bound, the posters without a placement (with
    ``reasons`` where known) and the validator's verdict. Placements the problem cannot account for
    (an unknown poster, session or room) are kept for the validator to name, and left out of the
    figures. Raises ProblemError when the problem is malformed."""
    faults = check_problem(problem)
    if faults:
        raise ProblemError(faults)
    index = _Index(problem)
    placements = tuple(sorted(placements, key=lambda pl: (index.order.get(pl.session, len(index.order)), pl.start,
                                                          pl.room, pl.board, pl.poster)))
    known = tuple(pl for pl in placements if pl.poster in index.posters and pl.session in index.sessions)
    placed = {pl.poster for pl in placements}
    unplaced = tuple(Unplaced(p.id, (reasons or {}).get(p.id, "It has no place in this schedule."))
                     for p in problem.posters if p.id not in placed)
    schedule = Schedule(status="complete" if not unplaced else "partial", placements=placements, unplaced=unplaced,
                        lower_bound=_lower_bound(index), **_figures(index, known))
    from .posters_validate import validate_schedule

    return replace(schedule, verdict=validate_schedule(problem, schedule))


class _Solver:
    """CP-SAT with the call's settings, recording every solve (and the local search's runs)."""

    def __init__(self, seed: int, workers: int):
        self.seed, self.workers = seed, workers
        self.stages: list[Stage] = []

    def solve(self, model: cp_model.CpModel, seconds: float, name: str) -> tuple[cp_model.CpSolver, int]:
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = self.seed
        solver.parameters.max_time_in_seconds = max(0.05, seconds)
        began = time.perf_counter()
        status = solver.Solve(model)
        value = round(solver.ObjectiveValue()) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else 0
        self.stages.append(Stage(name, solver.StatusName(status), value, time.perf_counter() - began))
        return solver, status


class _StageOne:
    """Posters to sessions, one goal after another."""

    def __init__(self, index: _Index, candidates: dict[str, list[str]], before: dict[str, str], solver: _Solver,
                 most: int | None = None, cuts: list[tuple[str, frozenset]] = ()):
        self.index, self.solver, self.candidates, self.before = index, solver, candidates, before
        self.most = most  # an upper bound on posters placed, when known
        self.cuts = cuts
        m = self.model = cp_model.CpModel()
        self.x: dict[tuple[str, str], cp_model.IntVar] = {}
        self.rows: list[list] = []
        by_person: dict[tuple[str, str], list] = defaultdict(list)
        for p in index.problem.posters:
            if p.id not in candidates:
                continue
            row = []
            for s in candidates[p.id]:
                v = self.x[p.id, s] = m.NewBoolVar(f"x_{p.id}_{s}")
                row.append(v)
                for q in p.people:
                    by_person[q, s].append(v)
            m.AddAtMostOne(row)
            self.rows.append(row)
        per_session: dict[str, list] = defaultdict(list)
        for (p, s), v in self.x.items():
            per_session[s].append(v)
        for s, vs in per_session.items():
            if len(vs) > index.boards[s]:
                m.Add(sum(vs) <= index.boards[s])
        assessors = set(index.assessors)
        self.y: dict[tuple[str, str], cp_model.IntVar] = {}  # person present in session
        for (q, s), vs in by_person.items():
            limit = index.cap[s] if q in assessors else index.slots[s]
            if q not in assessors and (q, s) not in index.if_needed:
                if len(vs) > limit:
                    m.Add(sum(vs) <= limit)
                continue
            y = self.y[q, s] = m.NewBoolVar(f"y_{q}_{s}")
            for v in vs:
                m.AddImplication(v, y)
            m.Add(sum(vs) <= min(limit, len(vs)) * y)
            m.Add(sum(vs) >= y)
        self.z: dict[tuple[str, date], cp_model.IntVar] = {}
        days: dict[tuple[str, date], list] = defaultdict(list)
        for (q, s), y in self.y.items():
            if q in assessors:
                days[q, index.day[s]].append(y)
        for (q, d), ys in days.items():
            z = self.z[q, d] = m.NewBoolVar(f"z_{q}_{d}")
            for y in ys:
                m.AddImplication(y, z)
            m.Add(sum(ys) >= z)
        for session, posters in cuts:
            m.Add(sum(self.x[p, session] for p in posters if (p, session) in self.x) <= len(posters) - 1)
        self.kept = [self.x[p, s] for p, s in before.items() if (p, s) in self.x]
        self.if_needed = [y for key, y in self.y.items() if key in index.if_needed]
        self.presence = [y for (q, _s), y in self.y.items() if q in assessors]

    def solve(self, budget: float, hint: dict[str, str] | None = None) -> dict[str, str]:
        """The sessions of the placed posters after goals (1)-(4), within about ``budget`` seconds,
        starting from ``hint`` (a feasible answer, maybe partial) completed by ``_LocalSearch.fill``.

        Goals (1)-(3) are CP-SAT solves, each optimum (or best found) a constraint of the next; goal
        (1) needs no solve when the start places every poster that has a session. Goal (4) is a
        local search (descent, then annealing; it never breaks a rule nor worsens goals (1)-(3))
        followed by a CP-SAT solve from its answer, which also proves small instances optimal."""
        m, started = self.model, time.perf_counter()
        deadline = started + budget
        search = _LocalSearch(self.index, self.candidates, self.before, hint or {}, self.solver, self.cuts)
        search.fill()
        chosen = search.descend(deadline)
        self._hint(chosen)
        levels = []
        if len(chosen) == len(self.rows):
            for row in self.rows:  # every poster that has a session is placed: proven optimal
                m.AddExactlyOne(row)
            self.solver.stages.append(Stage("placed", "OPTIMAL", len(chosen), 0.0))
        elif len(chosen) == self.most:
            m.Add(sum(self.x.values()) >= len(chosen))
            self.solver.stages.append(Stage("placed", "OPTIMAL", len(chosen), 0.0))
        else:
            levels.append(("placed", sum(self.x.values()), -1, 0.3))
        if self.kept:
            levels.append(("kept", sum(self.kept), -1, 0.1))
        if self.if_needed:
            levels.append(("if-needed", sum(self.if_needed), 1, 0.1))
        weight = len(self.presence) + 1  # days first, then sessions, exactly
        days = weight * sum(self.z.values()) + sum(self.presence)
        for name, expr, sign, share in levels:
            seconds = min(deadline - time.perf_counter(), max(1.0, share * budget))
            found = self._level(name, expr, sign, seconds)
            if found is None:  # out of time: the start's value holds for the goals below
                figure = {"placed": len(chosen), "kept": sum(1 for p, s in chosen.items() if self.before.get(p) == s),
                          "if-needed": len({(q, s) for p, s in chosen.items() for q in self.index.posters[p].people}
                                           & self.index.if_needed)}[name]
                m.Add(expr >= figure) if sign < 0 else m.Add(expr <= figure)
            else:
                chosen = found
        search = _LocalSearch(self.index, self.candidates, self.before, chosen, self.solver, self.cuts)
        chosen = search.anneal(time.perf_counter() + 0.8 * (deadline - time.perf_counter()))
        self._hint(chosen)
        found = self._level("days", days, 1, deadline - time.perf_counter())
        return found if found is not None else chosen

    def _level(self, name: str, expr, sign: int, seconds: float) -> dict[str, str] | None:
        """Optimise one goal within ``seconds``; its value becomes a constraint; None if nothing found."""
        m = self.model
        m.Maximize(expr) if sign < 0 else m.Minimize(expr)
        solver, status = self.solver.solve(m, seconds, name)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        value = round(solver.ObjectiveValue())
        m.Add(expr >= value) if sign < 0 else m.Add(expr <= value)
        chosen = {p: s for (p, s), v in self.x.items() if solver.BooleanValue(v)}
        self._hint(chosen)
        return chosen

    def _hint(self, chosen: dict[str, str]) -> None:
        """Hint every variable from posters' sessions (presence and days follow from them)."""
        m = self.model
        m.ClearHints()
        present = {(q, s) for p, s in chosen.items() for q in self.index.posters[p].people}
        for (p, s), v in self.x.items():
            m.AddHint(v, chosen.get(p) == s)
        for key, v in self.y.items():
            m.AddHint(v, key in present)
        days = {(q, self.index.day[s]) for q, s in present}
        for key, v in self.z.items():
            m.AddHint(v, key in days)


class _LocalSearch:
    """Moves placed posters between sessions, never breaking a rule, never unplacing a poster, never
    losing a kept placement nor using more "if needed" sessions; it lowers assessor-days, then
    assessor-sessions.

    The move that matters is *clearing a day*: every poster of assessor a on day d goes, one by one,
    to the session (on another day, or on a given one) that costs its other people least. Measured on
    the benchmark, CP-SAT with two workers barely improves the greedy start in a minute, while these
    moves take off about 7% of the greedy start's assessor-days in under a second (descent) and
    another 5-7% by annealing.
    """

    HEAT = (1.0, 0.02)  # the annealing's temperature, first and last (in assessor-days)
    TO_A_DAY = 0.3  # how often a day is cleared onto one other day chosen at random
    MOVES_PER_POSTER = 300  # the annealing's length at most (it stops at its deadline before that)

    def __init__(self, index: _Index, candidates: dict[str, list[str]], before: dict[str, str],
                 assign: dict[str, str], solver: _Solver, cuts: list[tuple[str, frozenset]] = ()):
        self.index, self.candidates, self.before, self.solver, self.cuts = index, candidates, before, solver, cuts
        self.assessors = set(index.assessors)
        self.assign = dict(assign)
        self.room = {s: index.boards[s] for s in index.usable}
        self.load: Counter[tuple[str, str]] = Counter()
        self.on_day: Counter[tuple[str, date]] = Counter()
        self.mine: dict[str, list[str]] = defaultdict(list)
        for p in candidates:
            for a in index.posters[p].assessors:
                self.mine[a].append(p)
        # Sets of posters stage 2 found cannot all be slotted in a session: never all there at once.
        self.cut_of: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, (session, posters) in enumerate(cuts):
            for p in posters:
                self.cut_of[p, session].append(i)
        self.in_cut = [0] * len(cuts)
        for p, s in self.assign.items():
            self._add(p, s)
        self.days = sorted(set(index.day[s] for s in index.usable))
        self.rng = random.Random(solver.seed)

    def _add(self, p: str, s: str) -> None:
        self.room[s] -= 1
        for i in self.cut_of.get((p, s), ()):
            self.in_cut[i] += 1
        for q in self.index.posters[p].people:
            self.load[q, s] += 1
        for a in self.index.posters[p].assessors:
            self.on_day[a, self.index.day[s]] += 1

    def _remove(self, p: str, s: str) -> None:
        self.room[s] += 1
        for i in self.cut_of.get((p, s), ()):
            self.in_cut[i] -= 1
        for q in self.index.posters[p].people:
            self.load[q, s] -= 1
        for a in self.index.posters[p].assessors:
            self.on_day[a, self.index.day[s]] -= 1

    def _fits(self, p: str, s: str) -> bool:
        return (self.room[s] > 0
                and all(self.load[q, s] < (self.index.cap[s] if q in self.assessors else self.index.slots[s])
                        for q in self.index.posters[p].people)
                and all(self.in_cut[i] < len(self.cuts[i][1]) - 1 for i in self.cut_of.get((p, s), ())))

    def _gain(self, p: str, s: str, sign: int) -> tuple[int, int, int, int]:
        """What putting p in s (sign 1, p not there) or taking it out (sign -1, p there) changes:
        (placements lost, "if needed" sessions, assessor-days, assessor-sessions)."""
        poster, d, edge = self.index.posters[p], self.index.day[s], 0 if sign > 0 else 1
        return (sign * (self.before.get(p, s) != s),
                sign * sum(1 for q in poster.people if (q, s) in self.index.if_needed and self.load[q, s] == edge),
                sign * sum(1 for a in poster.assessors if self.on_day[a, d] == edge),
                sign * sum(1 for a in poster.assessors if self.load[a, s] == edge))

    def _clear(self, a: str, d: date, to: date | None = None):
        """Move a's posters off day d (onto day ``to`` if given); (change, undo), or (None, None)."""
        moving = sorted((p for p in self.mine[a] if p in self.assign and self.index.day[self.assign[p]] == d),
                        key=lambda p: len(self.candidates[p]))
        undo: list[tuple[str, str, str]] = []
        change = (0, 0, 0, 0)
        for p in moving:
            old = self.assign[p]
            out = self._gain(p, old, -1)
            self._remove(p, old)
            best, best_cost = None, None
            for s in self.candidates[p]:
                if self.index.day[s] == d or (to is not None and self.index.day[s] != to) or not self._fits(p, s):
                    continue
                cost = self._gain(p, s, 1)
                if best_cost is None or cost < best_cost:
                    best, best_cost = s, cost
            if best is None:
                self._add(p, old)
                self._undo(undo)
                return None, None
            self._add(p, best)
            self.assign[p] = best
            undo.append((p, old, best))
            change = tuple(c + o + b for c, o, b in zip(change, out, best_cost))
        return change, undo

    def _undo(self, undo) -> None:
        for p, old, new in reversed(undo):
            self._remove(p, new)
            self._add(p, old)
            self.assign[p] = old

    def _relocate(self, p: str) -> bool:
        old = self.assign[p]
        out = self._gain(p, old, -1)
        self._remove(p, old)
        best, best_cost = old, (0, 0, 0, 0)
        for s in self.candidates[p]:
            if s != old and self._fits(p, s):
                cost = tuple(o + g for o, g in zip(out, self._gain(p, s, 1)))
                if cost[0] <= 0 and cost[1] <= 0 and cost < best_cost:
                    best, best_cost = s, cost
        self._add(p, best)
        self.assign[p] = best
        return best != old

    def _insert(self, p: str) -> bool:
        """Place an unplaced poster, in a session with room or by moving one poster out of its way."""
        poster = self.index.posters[p]
        options = sorted(self.candidates[p], key=lambda s: self._gain(p, s, 1))
        for s in options:
            if self._fits(p, s):
                self._add(p, s)
                self.assign[p] = s
                return True
        for s in options:
            full = {q for q in poster.people
                    if self.load[q, s] >= (self.index.cap[s] if q in self.assessors else self.index.slots[s])}
            for r in list(self.placed_in[s]):
                if self.assign.get(r) != s or not full <= set(self.index.posters[r].people):
                    continue
                self._remove(r, s)
                if self._fits(p, s):
                    targets = [t for t in self.candidates[r] if t != s and self._fits(r, t)]
                    if targets:
                        self._add(p, s)
                        self.assign[p] = s
                        t = min(targets, key=lambda t: self._gain(r, t, 1))
                        self._add(r, t)
                        self.assign[r] = t
                        return True
                self._add(r, s)
        return False

    def descend(self, deadline: float) -> dict[str, str]:
        """Improving moves only, until none is left (or the deadline): placing unplaced posters
        (moving one other poster if need be), clearing days, moving single posters."""
        began, improved = time.perf_counter(), True
        while improved and time.perf_counter() < deadline:
            improved = False
            unplaced = sorted(set(self.candidates) - set(self.assign), key=self.index.order_of_poster.__getitem__)
            if unplaced:
                self.placed_in = defaultdict(list)
                for r, where in self.assign.items():
                    self.placed_in[where].append(r)
                for p in unplaced:
                    improved |= self._insert(p)
            pairs = sorted(key for key, n in self.on_day.items() if n)
            self.rng.shuffle(pairs)
            for a, d in pairs:
                if self.on_day[a, d]:
                    change, undo = self._clear(a, d)
                    if change is None:
                        continue
                    if change[0] <= 0 and change[1] <= 0 and change < (0, 0, 0, 0):
                        improved = True
                    else:
                        self._undo(undo)
            posters = sorted(self.assign)
            self.rng.shuffle(posters)
            for p in posters:
                improved |= self._relocate(p)
        self.solver.stages.append(Stage("descent", "FEASIBLE", self.figures()[1], time.perf_counter() - began))
        return dict(self.assign)

    def anneal(self, deadline: float) -> dict[str, str]:
        """Simulated annealing over day-clearing moves (to the best other days, or to one chosen at
        random), worse moves accepted with a probability falling from e^-1 to e^-50 per extra day;
        at most ``MOVES_PER_POSTER`` moves per poster; then a descent from the best answer seen."""
        began = time.perf_counter()
        people = sorted(a for a in self.mine if any(p in self.assign for p in self.mine[a]))
        if not people or len(self.days) < 2:
            return self.descend(deadline)
        current = best = self.figures()
        kept = dict(self.assign)
        moves, limit = 0, self.MOVES_PER_POSTER * len(self.assign)
        heat = self.HEAT[0]
        while moves < limit:
            moves += 1
            if moves % 128 == 0:
                now = time.perf_counter()
                if now >= deadline:
                    break
                heat = self.HEAT[0] * (self.HEAT[1] / self.HEAT[0]) ** ((now - began) / max(1e-9, deadline - began))
            a = self.rng.choice(people)
            days = [d for d in self.days if self.on_day[a, d]]
            if not days:
                continue
            d = self.rng.choice(days)
            to = self.rng.choice([e for e in self.days if e != d]) if self.rng.random() < self.TO_A_DAY else None
            change, undo = self._clear(a, d, to)
            if change is None:
                continue
            worse = change[2] * 100 + change[3]
            if change[0] > 0 or change[1] > 0 or (worse > 0 and self.rng.random() >= math.exp(-worse / (100 * heat))):
                self._undo(undo)
                continue
            current = (current[0] + change[1], current[1] + change[2], current[2] + change[3])
            if current < best:
                best, kept = current, dict(self.assign)
        self.solver.stages.append(Stage("annealing", "FEASIBLE", best[1], time.perf_counter() - began))
        best_seen = _LocalSearch(self.index, self.candidates, self.before, kept, self.solver, self.cuts)
        return best_seen.descend(deadline + 1.0)

    def fill(self) -> dict[str, str]:
        """The greedy start, in a tenth of a second at 1,000 posters: posters with the fewest candidate
        sessions first, each where it breaks the fewest goals (its previous session, no new "if
        needed" session, no new day or session for its assessors), ties to the day where its
        assessors have the most posters still to place, then to the emptiest session."""
        pending: dict[str, Counter] = defaultdict(Counter)
        for p, sessions in self.candidates.items():
            if p not in self.assign:
                for a in self.index.posters[p].assessors:
                    for d in {self.index.day[s] for s in sessions}:
                        pending[a][d] += 1
        waiting = sorted((p for p in self.candidates if p not in self.assign),
                         key=lambda p: (len(self.candidates[p]), self.index.order_of_poster[p]))
        for p in waiting:
            poster = self.index.posters[p]
            options = [s for s in self.candidates[p] if self._fits(p, s)]
            if options:
                best = min(options, key=lambda s: (self._gain(p, s, 1),
                                                   -sum(pending[a][self.index.day[s]] for a in poster.assessors),
                                                   -self.room[s]))
                self._add(p, best)
                self.assign[p] = best
            for a in poster.assessors:
                for d in {self.index.day[s] for s in self.candidates[p]}:
                    pending[a][d] -= 1
        return dict(self.assign)

    def figures(self) -> tuple[int, int, int]:
        """("if needed" sessions used, assessor-days, assessor-sessions) of the current answer."""
        used = sum(1 for key, n in self.load.items() if n and key in self.index.if_needed)
        return (used, sum(1 for n in self.on_day.values() if n),
                sum(1 for (q, _s), n in self.load.items() if n and q in self.assessors))


def _stage_two(index: _Index, session: str, posters: list[str], before: dict[str, Placement], solver: _Solver,
               seconds: float) -> tuple[dict[str, int], list[frozenset]]:
    """Slots for the posters of one session: ({poster: slot}, cores). A poster missing from the slots
    could not be slotted; each core is a set of the session's posters proven unable to be slotted
    together, for stage 1 to avoid.

    A greedy slotting first (most-booked people first, each poster in the free slot that widens its
    assessors' spans least, a clashing poster moved aside if that frees one); if it leaves a poster
    out, a CP-SAT feasibility solve (given at least 2 s), and if that fails too, the most posters
    CP-SAT can slot, and a core around each poster left out. Then, from the slotting found, previous
    slots kept and idle slots fewest, within what is left of ``seconds``."""
    began = time.perf_counter()
    s = index.sessions[session]
    n = index.slots[session]
    people: dict[str, list[str]] = defaultdict(list)
    for p in posters:
        for q in index.posters[p].people:
            people[q].append(p)
    previous = {}
    for p in posters:
        old = before.get(p)
        if old is not None and old.session == session:
            k, rest = divmod(old.start - s.start, index.slot)
            if not rest and 0 <= k < n and old.end - old.start == index.slot:
                previous[p] = k

    def answer(result, t) -> dict[str, int]:
        return {p: k for (p, k), v in t.items() if result.BooleanValue(v)}

    first = _greedy_slots(index, posters, people, n, previous)
    m, t = _slot_model(index, posters, n, True)
    if len(first) < len(posters):
        for p, k in first.items():
            m.AddHint(t[p, k], True)
        result, status = solver.solve(m, max(2.0, seconds / 2), f"slots {session}")
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            most, t_most = _slot_model(index, posters, n, False)
            most.Maximize(sum(t_most.values()))
            for p, k in first.items():
                most.AddHint(t_most[p, k], True)
            result, status = solver.solve(most, max(2.0, seconds / 2), f"most slotted {session}")
            found = answer(result, t_most) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else {}
            found = found if len(found) > len(first) else first
            proven = status == cp_model.OPTIMAL
            cores = []
            for p in posters:
                if p not in found and not any(p in core for core in cores) and len(cores) < 5:
                    cores.append(_core(index, posters, people, n, p, solver, proven))
            return found, cores
        first = answer(result, t)
    spans = []
    for q, mine in people.items():
        if len(mine) > 1 and q in index.posters[mine[0]].assessors:
            low, high = m.NewIntVar(0, n - 1, f"f_{q}"), m.NewIntVar(0, n - 1, f"l_{q}")
            for p in mine:
                position = sum(k * t[p, k] for k in range(1, n))
                m.Add(low <= position)
                m.Add(high >= position)
            spans.append(high - low)
    kept = [t[p, k] for p, k in previous.items()]
    m.Minimize((len(spans) * max(0, n - 1) + 1) * (len(kept) - sum(kept)) + sum(spans))
    m.ClearHints()
    for (p, k), v in t.items():
        m.AddHint(v, first[p] == k)
    better, status = solver.solve(m, seconds - (time.perf_counter() - began), f"idle {session}")
    return (answer(better, t) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else first), []


def _slot_model(index: _Index, posters, n: int, everyone: bool):
    """Posters to the n slots of a session, nobody twice in a slot; every poster slotted, or at most once."""
    m = cp_model.CpModel()
    t = {(p, k): m.NewBoolVar(f"t_{p}_{k}") for p in posters for k in range(n)}
    people: dict[str, list[str]] = defaultdict(list)
    for p in posters:
        (m.AddExactlyOne if everyone else m.AddAtMostOne)(t[p, k] for k in range(n))
        for q in index.posters[p].people:
            people[q].append(p)
    for mine in people.values():
        if len(mine) > 1:
            for k in range(n):
                m.AddAtMostOne(t[p, k] for p in mine)
    return m, t


def _core(index: _Index, posters: list[str], people: dict[str, list[str]], n: int, poster: str, solver: _Solver,
          proven: bool) -> frozenset:
    """A set of posters, with ``poster``, that cannot all be slotted in n slots: its neighbourhood (posters
    sharing a person with it, and theirs) if proven so, else all the session's posters; then shrunk,
    one poster at a time, while what is left is still proven impossible. When nothing is proven (the
    solves ran out of time) the whole session is returned: a guess stage 1 then avoids."""

    def impossible(group) -> bool:
        m, _t = _slot_model(index, group, n, True)
        checker = cp_model.CpSolver()
        checker.parameters.num_workers = solver.workers
        checker.parameters.max_time_in_seconds = 1.0
        return checker.Solve(m) == cp_model.INFEASIBLE

    near = {poster}
    for _ in range(2):
        near |= {r for p in near for q in index.posters[p].people for r in people[q]}
    order = [p for p in posters if p in near]
    if not impossible(order):
        if not proven:
            return frozenset(posters)
        order = list(posters)
    for p in list(order):
        if p != poster and impossible([r for r in order if r != p]):
            order.remove(p)
    return frozenset(order)


def _greedy_slots(index: _Index, posters: list[str], people: dict[str, list[str]], n: int,
                  previous: dict[str, int]) -> dict[str, int]:
    """A clash-free slotting of as many posters as a greedy pass manages (see ``_stage_two``)."""
    busy: dict[str, dict[int, str]] = defaultdict(dict)  # person -> slot -> poster
    slot_of: dict[str, int] = {}

    def free(p: str, k: int) -> bool:
        return all(k not in busy[q] for q in index.posters[p].people)

    def put(p: str, k: int) -> None:
        slot_of[p] = k
        for q in index.posters[p].people:
            busy[q][k] = p

    def take(p: str) -> None:
        k = slot_of.pop(p)
        for q in index.posters[p].people:
            del busy[q][k]

    def widening(p: str, k: int) -> int:
        grow = 0
        for a in index.posters[p].assessors:
            if busy[a]:
                low, high = min(busy[a]), max(busy[a])
                grow += max(high, k) - min(low, k) - (high - low)
        return grow

    order = sorted(posters, key=lambda p: (p not in previous, -max(len(people[q]) for q in index.posters[p].people),
                                           index.order_of_poster[p]))
    for p in order:
        options = [k for k in range(n) if free(p, k)]
        if previous.get(p) in options:
            put(p, previous[p])
            continue
        if options:
            put(p, min(options, key=lambda k: (widening(p, k), k)))
            continue
        for k in range(n):  # one clashing poster moved to another slot frees k
            clashing = {busy[q][k] for q in index.posters[p].people if k in busy[q]}
            if len(clashing) != 1:
                continue
            r = clashing.pop()
            take(r)
            elsewhere = [j for j in range(n) if j != k and free(r, j)]
            if elsewhere:
                put(r, elsewhere[0])
                put(p, k)
                break
            put(r, k)
    return slot_of


def _boards(index: _Index, sessions_of: dict[str, str], slots: dict[str, int],
            before: dict[str, Placement]) -> tuple[Placement, ...]:
    """Rooms and boards: previous boards kept, then each room filled in proportion to its boards
    (largest remainder), posters sorted by their first assessor so theirs sit side by side."""
    groups: dict[str, list[str]] = defaultdict(list)
    for p, s in sessions_of.items():
        groups[s].append(p)
    placements = []
    for s_id, posters in groups.items():
        s = index.sessions[s_id]
        rooms = [r for r in s.rooms if r.boards > 0]
        used: dict[str, set[int]] = {r.id: set() for r in rooms}
        room_of: dict[str, tuple[str, int]] = {}
        sizes = {r.id: r.boards for r in rooms}
        for p in posters:
            old = before.get(p)
            if (old is not None and old.session == s_id and old.room in sizes and 1 <= old.board <= sizes[old.room]
                    and old.board not in used[old.room]):
                used[old.room].add(old.board)
                room_of[p] = (old.room, old.board)
        total = sum(sizes.values())
        n = len(posters)
        exact = {r: n * b / total for r, b in sizes.items()}
        target = {r: math.floor(v) for r, v in exact.items()}
        for r in sorted(sizes, key=lambda r: -(exact[r] - target[r]))[:n - sum(target.values())]:
            target[r] += 1
        for r in sizes:  # rooms holding more kept boards than their share give the excess back
            target[r] = max(target[r], len(used[r]))
        while sum(target.values()) > n:
            r = max((r for r in sizes if target[r] > len(used[r])), key=lambda r: target[r] / sizes[r])
            target[r] -= 1
        free = sorted((p for p in posters if p not in room_of),
                      key=lambda p: (index.posters[p].assessors[0], slots[p], p))
        queue = iter(free)
        for r in sizes:
            boards = (b for b in range(1, sizes[r] + 1) if b not in used[r])
            for _ in range(target[r] - len(used[r])):
                room_of[next(queue)] = (r, next(boards))
        for p in posters:
            r, b = room_of[p]
            start = s.start + slots[p] * index.slot
            placements.append(Placement(p, s_id, r, b, start, start + index.slot))
    room_order = {(s.id, r.id): i for s in index.problem.sessions for i, r in enumerate(s.rooms)}
    placements.sort(key=lambda pl: (index.order[pl.session], pl.start, room_order[pl.session, pl.room], pl.board))
    return tuple(placements)


def _figures(index: _Index, placements: tuple[Placement, ...]) -> dict:
    """assessor_days, assessor_sessions, if_needed_used and idle_slots of a set of placements."""
    days, sessions, used = set(), set(), set()
    slots_of: dict[tuple[str, str], list[int]] = defaultdict(list)
    for pl in placements:
        poster = index.posters[pl.poster]
        for q in poster.people:
            if (q, pl.session) in index.if_needed:
                used.add((q, pl.session))
        for a in poster.assessors:
            days.add((a, index.day[pl.session]))
            sessions.add((a, pl.session))
            slots_of[a, pl.session].append((pl.start - index.sessions[pl.session].start) // index.slot)
    idle = sum(max(ks) - min(ks) + 1 - len(ks) for ks in slots_of.values())
    return {"assessor_days": len(days), "assessor_sessions": len(sessions), "if_needed_used": len(used),
            "idle_slots": idle}


def _why_left_out(index: _Index, poster: Poster, placements: tuple[Placement, ...],
                  cuts: list[tuple[str, frozenset]]) -> str:
    """Why a poster the pre-check did not rule out was still left out, from the final schedule."""
    taken = Counter(pl.session for pl in placements)
    load: Counter[tuple[str, str]] = Counter()
    where = {pl.poster: pl.session for pl in placements}
    for pl in placements:
        for q in index.posters[pl.poster].people:
            load[q, pl.session] += 1
    clash = {s for s, core in cuts if poster.id in core and all(where.get(p) == s for p in core - {poster.id})}
    said = []
    for s in index.candidates[poster.id]:
        if s in clash:
            said.append(f"in {s} no slot is free for all its people at once")
        elif taken[s] >= index.boards[s]:
            said.append(f"{s} is full ({index.boards[s]} boards)")
        else:
            busy = [a for a in poster.assessors if load[a, s] >= index.cap[s]]
            if busy:
                said.append(f"in {s} {_names(busy)} already {'has' if len(busy) == 1 else 'have'} "
                            f"{index.cap[s]} posters, the most there")
    if said:
        return "Every session where all its people are free is taken: " + "; ".join(said) + "."
    return ("It was not placed within the time limit, though " + ", ".join(index.candidates[poster.id])
            + " still had room: run the scheduler for longer.")
