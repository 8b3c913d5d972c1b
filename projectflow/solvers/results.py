"""From the project chosen for each student to a full Result: ranks, profile, loads, costs, diagnosis."""

from __future__ import annotations

from .diagnosis import explain_unassigned
from .problem import Assignment, Problem, Result, SolverReport, load_cost


def build_result(problem: Problem, objective: str, status: str, chosen: dict[str, str],
                 solver: SolverReport, message: str = "", diagnose: bool = True) -> Result:
    """Build a Result from the project chosen for each student (fixed pairs included): ranks,
    profile, loads, costs and the diagnosis of whoever is left out. Shared by every objective."""
    projects = {p.id: p for p in problem.projects}
    assignments, unassigned = [], []
    for s in problem.students:
        project = chosen.get(s.id)
        if project is None:
            unassigned.append(s.id)
            continue
        rank = s.preferences.index(project) + 1 if project in s.preferences else None
        assignments.append(Assignment(s.id, project, projects[project].supervisor, rank))
    ranks = [a.rank for a in assignments if a.rank is not None]
    worst = max(ranks, default=None)
    profile = [0] * (worst or 0)
    for r in ranks:
        profile[r - 1] += 1
    load = {t.id: 0 for t in problem.supervisors}
    for a in assignments:
        load[a.supervisor] += 1
    capacity = {t.id: t.capacity for t in problem.supervisors}
    diagnosis = explain_unassigned(problem, objective, chosen, unassigned) if unassigned and diagnose else ()
    return Result(
        status=status, objective=objective, assignments=tuple(assignments), unassigned=tuple(unassigned),
        profile=tuple(profile), worst_rank=worst, loads=tuple(load.items()),
        rank_cost=sum(r * r for r in ranks),
        load_cost=sum(load_cost(n, capacity[t]) for t, n in load.items()),
        diagnosis=diagnosis, message=message, solver=solver)
