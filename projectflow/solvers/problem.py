"""The allocation problem and its result, as frozen dataclasses: what goes into and comes out of
:func:`projectflow.solvers.allocation.allocate`.

Nothing here knows about Flask, the ORM or files: the CLI's JSON interface (``problem_io``) and the web
app's services translate to and from these classes, so one engine is tested, benchmarked and used.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

OBJECTIVES = ("min-cost", "greedy", "generous", "stable")

# Load cost of a supervisor: the j-th student of a supervisor with capacity c costs
# round(LOAD_SCALE * (2j - 1) / c), so a load L costs about LOAD_SCALE * L**2 / c. Summed over
# supervisors that is the capacity-weighted spread of their utilisation (load / capacity), and it is
# convex in each load, which is what lets a flow network carry it as parallel arcs. The scale only
# has to separate neighbouring marginals (2 * LOAD_SCALE / c >= 1 for capacities up to 2,000).
LOAD_SCALE = 1000


def load_unit_cost(j: int, capacity: int) -> int:
    """The cost of a supervisor's j-th student (1-based) when the supervisor can take ``capacity``."""
    return (2 * LOAD_SCALE * (2 * j - 1) + capacity) // (2 * capacity)  # round half up, in integers


def load_cost(load: int, capacity: int) -> int:
    """The load cost of a supervisor carrying ``load`` students (see :data:`LOAD_SCALE`)."""
    return sum(load_unit_cost(j, capacity) for j in range(1, load + 1))


class ProblemError(ValueError):
    """The problem is malformed: each entry of ``problems`` is a sentence naming the offending entry."""

    def __init__(self, problems: list[str] | tuple[str, ...]):
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Student:
    id: str
    preferences: tuple[str, ...] = ()  # project ids, 1st choice first


@dataclass(frozen=True)
class Project:
    id: str
    supervisor: str
    capacity: int


@dataclass(frozen=True)
class Supervisor:
    id: str
    capacity: int
    # Student ids, most preferred first; None when the supervisor did not rank (only `stable` needs it).
    # A student left off a supervisor's list is not acceptable to that supervisor under `stable`.
    preferences: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Pair:
    student: str
    project: str


@dataclass(frozen=True)
class Problem:
    students: tuple[Student, ...]
    projects: tuple[Project, ...]
    supervisors: tuple[Supervisor, ...]
    fixed: tuple[Pair, ...] = ()  # approved self-proposals, coordinator decisions: always kept
    forbidden: tuple[Pair, ...] = ()  # never used


@dataclass(frozen=True)
class Assignment:
    student: str
    project: str
    supervisor: str
    rank: int | None  # position of the project in the student's list; None for a fixed, unranked pair


@dataclass(frozen=True)
class Diagnosis:
    """Why a group of students stayed unassigned, in words a coordinator can act on."""

    reason: str  # a stable code: no-preferences, only-forbidden, no-places, competition, ...
    message: str
    students: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    """The independent validator's answer about one result."""

    ok: bool
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class SolverReport:
    """How the engine reached the result: what proves it (or does not)."""

    rounds: int = 0  # min-cost-flow solves (greedy/generous need several)
    solver_seconds: float = 0.0  # time inside the flow solver and the optimality certificates
    proof: str = ""


@dataclass(frozen=True)
class Result:
    status: str  # "optimal" | "stable" | "adjusted" (changed by hand) | "infeasible" | "error"
    objective: str
    assignments: tuple[Assignment, ...] = ()
    unassigned: tuple[str, ...] = ()
    profile: tuple[int, ...] = ()  # profile[r - 1] students got their r-th choice
    worst_rank: int | None = None
    loads: tuple[tuple[str, int], ...] = ()  # (supervisor, load) for every supervisor, fixed pairs included
    rank_cost: int = 0  # sum of rank squared over ranked assignments (the `min-cost` objective)
    load_cost: int = 0  # sum of load_cost(load, capacity) over supervisors (the tie-breaker)
    solve_seconds: float = 0.0
    diagnosis: tuple[Diagnosis, ...] = ()
    message: str = ""  # for "infeasible" and "error": what went wrong
    solver: SolverReport = field(default_factory=SolverReport)
    verdict: Verdict | None = None

    def load_of(self) -> dict[str, int]:
        return dict(self.loads)


def check_problem(problem: Problem, objective: str = "min-cost") -> list[str]:
    """Every reason the problem is malformed, each naming the offending entry; empty when it is sound.

    Checks: duplicate ids, unknown ids anywhere, a project ranked twice by one student (or a student
    twice by one supervisor), negative capacities, a student fixed twice, a pair both fixed and
    forbidden, and `stable` without supervisors' rankings.
    """
    problems: list[str] = []
    if objective not in OBJECTIVES:
        problems.append(f"Unknown objective {objective!r}: choose one of {', '.join(OBJECTIVES)}.")
    for kind, items in (("student", problem.students), ("project", problem.projects),
                        ("supervisor", problem.supervisors)):
        for ident, count in Counter(item.id for item in items).items():
            if count > 1:
                problems.append(f"The {kind} id {ident!r} appears {count} times.")
    students = {s.id for s in problem.students}
    projects = {p.id: p for p in problem.projects}
    supervisors = {t.id for t in problem.supervisors}
    for p in problem.projects:
        if p.supervisor not in supervisors:
            problems.append(f"Project {p.id!r} names an unknown supervisor {p.supervisor!r}.")
        if p.capacity < 0:
            problems.append(f"Project {p.id!r} has a negative capacity ({p.capacity}).")
    for t in problem.supervisors:
        if t.capacity < 0:
            problems.append(f"Supervisor {t.id!r} has a negative capacity ({t.capacity}).")
        for ident, count in Counter(t.preferences or ()).items():
            if ident not in students:
                problems.append(f"Supervisor {t.id!r} ranks an unknown student {ident!r}.")
            if count > 1:
                problems.append(f"Supervisor {t.id!r} ranks student {ident!r} {count} times.")
    for s in problem.students:
        for ident, count in Counter(s.preferences).items():
            if ident not in projects:
                problems.append(f"Student {s.id!r} ranks an unknown project {ident!r}.")
            if count > 1:
                problems.append(f"Student {s.id!r} ranks project {ident!r} {count} times.")
    for kind, pairs in (("fixed", problem.fixed), ("forbidden", problem.forbidden)):
        for pair in pairs:
            if pair.student not in students:
                problems.append(f"A {kind} pair names an unknown student {pair.student!r}.")
            if pair.project not in projects:
                problems.append(f"A {kind} pair names an unknown project {pair.project!r}.")
    for ident, count in Counter(pair.student for pair in problem.fixed).items():
        if count > 1:
            problems.append(f"Student {ident!r} is fixed to {count} projects.")
    for pair in set(problem.fixed) & set(problem.forbidden):
        problems.append(f"The pair {pair.student!r} - {pair.project!r} is both fixed and forbidden.")
    if objective == "stable":
        # Only supervisors whose projects someone could get need a ranking.
        wanted = {projects[p].supervisor for s in problem.students for p in s.preferences if p in projects}
        for t in problem.supervisors:
            if t.preferences is None and t.id in wanted:
                problems.append(f"Objective 'stable' needs every supervisor's ranking of students: "
                                f"supervisor {t.id!r} has none.")
    return problems
