"""What the allocation pages show, read in a few eager queries (no lazy loads in template loops)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort, Enrolment
from ..extensions import db
from ..people.models import User
from ..proposals.models import Project
from ..solvers import Result
from . import services
from .models import PUBLISHED, SECOND, Allocation, AllocationRun, MarkerAssignment


KEY = re.compile(r"\b[pt]\d+\b")


@dataclass(frozen=True)
class Unplaced:
    student: User
    candidate_number: str
    reason: str


@dataclass(frozen=True)
class SupervisorRow:
    supervisor: User
    load: int
    capacity: int
    students: tuple[Allocation, ...]

    @property
    def percent(self) -> int:
        return round(100 * self.load / self.capacity) if self.capacity else 0


@dataclass(frozen=True)
class Comparison:
    """This run against the previous one with a result."""

    previous: AllocationRun
    rows: tuple[tuple[str, object, object], ...]  # (figure, previous, this)
    changed: int  # students whose project differs


@dataclass
class Review:
    run: AllocationRun
    standing: Result
    allocations: list[Allocation]
    unplaced: list[Unplaced]
    supervisors: list[SupervisorRow]
    candidate_of: dict[int, str]
    comparison: Comparison | None
    proof: str
    projects: list[Project] = field(default_factory=list)

    @property
    def first_choice_share(self) -> int:
        total = len(self.standing.assignments) + len(self.standing.unassigned)
        return round(100 * (self.standing.profile[0] if self.standing.profile else 0) / total) if total else 0


def review(run: AllocationRun) -> Review:
    """Everything the run page shows about a solved (or published) run."""
    problem = services.run_problem(run)
    allocations = list(db.session.scalars(
        select(Allocation).where(Allocation.run_id == run.id)
        .options(selectinload(Allocation.project).selectinload(Project.owner))))
    enrolments = db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == run.cohort_id)
                                    .options(selectinload(Enrolment.student))).all()
    candidate_of = {e.user_id: e.candidate_number for e in enrolments}
    student_of = {e.candidate_number: e.student for e in enrolments}
    chosen = {candidate_of[a.student_id]: f"p{a.project_id}" for a in allocations}
    standing = services.standing_result(run, problem, chosen)

    ids = [int(t.id[1:]) for t in problem.supervisors]
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    projects = list(db.session.scalars(select(Project).where(Project.id.in_([int(p.id[1:]) for p in problem.projects]))
                                       .order_by(Project.title)))
    names = {**{f"p{p.id}": f"“{p.title}”" for p in projects}, **{f"t{uid}": u.name for uid, u in people.items()}}

    def readable(message: str) -> str:
        # The engine names projects and supervisors by key (p12, t7); the coordinator reads titles and names.
        return KEY.sub(lambda m: names.get(m.group(0), m.group(0)), message)

    engine_reasons = {s: readable(d["message"]) for d in (run.result or {}).get("diagnosis", []) for s in d["students"]}
    unplaced = [Unplaced(student_of[c], c, engine_reasons.get(c, "Taken off their project by hand."))
                for c in standing.unassigned if c in student_of]
    unplaced.sort(key=lambda u: u.student.name.lower())

    by_supervisor: dict[int, list[Allocation]] = {}
    for a in allocations:
        by_supervisor.setdefault(a.supervisor_id, []).append(a)
    loads = dict(standing.loads)
    supervisors = [SupervisorRow(people[int(t.id[1:])], loads.get(t.id, 0), t.capacity,
                                 tuple(sorted(by_supervisor.get(int(t.id[1:]), []), key=lambda a: a.student.name)))
                   for t in problem.supervisors if int(t.id[1:]) in people]
    supervisors.sort(key=lambda r: (-r.percent, r.supervisor.name.lower()))
    allocations.sort(key=lambda a: a.student.name.lower())
    solver = (run.result or {}).get("solver", {})
    return Review(run, standing, allocations, unplaced, supervisors, candidate_of,
                  _compare(run, standing, chosen), solver.get("proof", ""), projects)


def published_allocations(cohort: Cohort) -> dict[int, Allocation]:
    """Student id -> their allocation in the cohort's published run, in one query for a whole page
    (``services.allocation_of`` answers for one student)."""
    return {a.student_id: a for a in db.session.scalars(
        select(Allocation).join(AllocationRun)
        .where(AllocationRun.cohort_id == cohort.id, AllocationRun.state == PUBLISHED))}


ALLOCATION_COLUMNS = ("Candidate number", "Student", "E-mail", "Project", "Supervisor", "Co-supervisors", "Rank",
                      "Second marker")


def allocation_rows(run: AllocationRun) -> list[tuple]:
    """The run's allocation as export rows (``ALLOCATION_COLUMNS``), one per allocated student, by
    name; read in four queries whatever the cohort's size."""
    allocations = list(db.session.scalars(
        select(Allocation).where(Allocation.run_id == run.id)
        .options(selectinload(Allocation.project).selectinload(Project.co_supervisors))))
    candidate_of = dict(db.session.execute(select(Enrolment.user_id, Enrolment.candidate_number)
                                           .where(Enrolment.cohort_id == run.cohort_id)).all())
    marker_of = {m.allocation_id: m.marker.name for m in db.session.scalars(
        select(MarkerAssignment).join(Allocation).where(Allocation.run_id == run.id, MarkerAssignment.role == SECOND))}

    def rank(a: Allocation):
        if a.rank is not None:
            return a.rank
        return "own proposal" if a.is_fixed else "placed by hand" if a.is_moved else ""

    allocations.sort(key=lambda a: (a.student.name.lower(), a.student_id))
    return [(candidate_of.get(a.student_id, ""), a.student.name, a.student.email, a.project.title, a.supervisor.name,
             "; ".join(sorted(u.name for u in a.project.co_supervisors)), rank(a), marker_of.get(a.id, ""))
            for a in allocations]


def _compare(run: AllocationRun, standing: Result, chosen: dict[str, str]) -> Comparison | None:
    previous = services.previous_run(run)
    if previous is None:
        return None
    theirs = services.current_choice(previous)
    changed = sum(1 for s in set(chosen) | set(theirs) if chosen.get(s) != theirs.get(s))
    width = max(len(standing.profile), len(previous.profile or []))

    def at(profile, k):
        return profile[k] if k < len(profile) else 0

    rows = [("Objective", previous.objective, run.objective),
            ("Students placed", previous.assigned_count, len(standing.assignments)),
            ("Without a project", previous.unassigned_count, len(standing.unassigned)),
            ("Worst choice given", previous.worst_rank, standing.worst_rank),
            ("Sum of rank squared", previous.rank_cost, standing.rank_cost)]
    rows += [(f"Got their choice {k + 1}", at(previous.profile, k), at(standing.profile, k)) for k in range(width)]
    return Comparison(previous, tuple(rows), changed)
