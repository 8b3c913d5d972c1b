"""Allocate students to projects (and so to supervisors): ``allocate(problem, objective) -> Result``.

Objectives (the coordinator picks one per run):

``min-cost``
    as many students as possible; then the smallest sum of rank squared (a 1st choice costs 1, a
    2nd 4, ...); then supervisor loads as even as possible relative to capacity.
``greedy``
    as many students as possible; then as many 1st choices as possible, then 2nd, and so on.
``generous``
    as many students as possible; then as few students at the worst rank as possible, then at the
    next worst, and so on.
``stable``
    the student-optimal stable matching when supervisors rank students (see ``stable.py``).

The first three are one flow network (student -> project -> supervisor -> sink, plus an "unassigned"
arc from each student straight to the sink) with lexicographic cost levels, solved exactly by
``flow.solve_lexicographic``; ``greedy`` and ``generous`` also break their last ties by load, like
``min-cost``. Fixed pairs are taken out first and their places reserved; forbidden pairs get no arc.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from . import flow
from .problem import OBJECTIVES, Problem, ProblemError, Result, SolverReport, check_problem, load_unit_cost
from .results import build_result
from .stable import stable_allocation
from .validate import validate


def allocate(problem: Problem, objective: str = "min-cost") -> Result:
    """Solve ``problem`` for ``objective`` and return the result with the validator's verdict.

    Raises ProblemError when the problem is malformed (unknown ids, duplicates, negative capacities,
    ``stable`` without supervisors' rankings). A problem the engine cannot solve comes back as a
    Result with status "infeasible" (fixed pairs overfill a capacity) or "error"; "optimal" is only
    reported when every round of the flow solver was proven optimal by its dual certificate.
    """
    problems = check_problem(problem, objective)
    if problems:
        raise ProblemError(problems)
    started = time.perf_counter()
    overfull = _overfilled_by_fixed_pairs(problem)
    if overfull:
        result = Result(status="infeasible", objective=objective,
                        unassigned=tuple(s.id for s in problem.students),
                        message=" ".join(overfull))
    elif objective == "stable":
        result = stable_allocation(problem)
    else:
        result = _flow_allocation(problem, objective)
    result = replace(result, solve_seconds=time.perf_counter() - started)
    verdict = validate(problem, result)
    if not verdict.ok and result.status in ("optimal", "stable"):
        # A claim the validator cannot confirm is not reported as a success.
        result = replace(result, status="error",
                         message="The validator rejected the engine's result: " + " ".join(verdict.problems))
    return replace(result, verdict=verdict)


def _overfilled_by_fixed_pairs(problem: Problem) -> list[str]:
    projects = {p.id: p for p in problem.projects}
    on_project: dict[str, int] = {}
    on_supervisor: dict[str, int] = {}
    for pair in problem.fixed:
        on_project[pair.project] = on_project.get(pair.project, 0) + 1
        sup = projects[pair.project].supervisor
        on_supervisor[sup] = on_supervisor.get(sup, 0) + 1
    messages = [f"Fixed pairs put {n} students on project {p!r}, which has room for {projects[p].capacity}."
                for p, n in on_project.items() if n > projects[p].capacity]
    capacity = {t.id: t.capacity for t in problem.supervisors}
    messages += [f"Fixed pairs give supervisor {t!r} {n} students, more than their capacity of {capacity[t]}."
                 for t, n in on_supervisor.items() if n > capacity[t]]
    return messages


def _flow_allocation(problem: Problem, objective: str) -> Result:
    assert objective in OBJECTIVES
    fixed = {pair.student: pair.project for pair in problem.fixed}
    forbidden = {(pair.student, pair.project) for pair in problem.forbidden}
    project_index = {p.id: i for i, p in enumerate(problem.projects)}
    supervisor_index = {t.id: i for i, t in enumerate(problem.supervisors)}
    free = [s for s in problem.students if s.id not in fixed]
    n_s, n_p, n_t = len(free), len(problem.projects), len(problem.supervisors)
    project_node = n_s
    supervisor_node = n_s + n_p
    sink = n_s + n_p + n_t

    # Places left once the fixed pairs have taken theirs.
    project_room = np.array([p.capacity for p in problem.projects], dtype=np.int64)
    supervisor_fixed = np.zeros(n_t, dtype=np.int64)
    for project in fixed.values():
        project_room[project_index[project]] -= 1
        supervisor_fixed[supervisor_index[problem.projects[project_index[project]].supervisor]] += 1

    tails, heads, ranks = [], [], []
    for i, s in enumerate(free):
        for r, project in enumerate(s.preferences, start=1):
            if (s.id, project) not in forbidden and project_room[project_index[project]] > 0:
                tails.append(i)
                heads.append(project_node + project_index[project])
                ranks.append(r)
    n_pref = len(tails)
    rank = np.array(ranks, dtype=np.int64)
    pref_tails = np.array(tails, dtype=np.int64)
    pref_projects = np.array(heads, dtype=np.int64) - project_node

    # Each supervisor's load units as parallel arcs of rising cost (a convex load cost), but no more
    # of them than the students who could possibly come.
    asked = np.bincount(pref_projects, minlength=n_p) if n_pref else np.zeros(n_p, dtype=np.int64)
    project_use = np.minimum(project_room, asked)
    supervisor_of = np.array([supervisor_index[p.supervisor] for p in problem.projects], dtype=np.int64)
    reachable = np.bincount(supervisor_of, weights=project_use, minlength=n_t).astype(np.int64) \
        if n_p else np.zeros(n_t, dtype=np.int64)
    unit_tails, unit_costs = [], []
    for k, t in enumerate(problem.supervisors):
        first = int(supervisor_fixed[k]) + 1
        last = min(t.capacity, int(supervisor_fixed[k] + reachable[k]))
        for j in range(first, last + 1):
            unit_tails.append(supervisor_node + k)
            unit_costs.append(load_unit_cost(j, t.capacity))
    used_projects = np.flatnonzero(project_use > 0)

    n_unit = len(unit_tails)
    tails_all = np.concatenate([
        pref_tails,  # student -> project
        np.arange(n_s),  # student -> sink: "unassigned"
        project_node + used_projects,  # project -> supervisor
        np.array(unit_tails, dtype=np.int64),  # supervisor -> sink, one arc per load unit
    ]).astype(np.int32)
    heads_all = np.concatenate([
        pref_projects + project_node,
        np.full(n_s, sink),
        supervisor_node + supervisor_of[used_projects],
        np.full(n_unit, sink),
    ]).astype(np.int32)
    capacities = np.concatenate([np.ones(n_pref + n_s, dtype=np.int64), project_use[used_projects],
                                 np.ones(n_unit, dtype=np.int64)])
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n_s] = 1
    supplies[sink] = -n_s

    n_arcs = len(tails_all)
    pref_arcs = slice(0, n_pref)
    unassigned_arcs = slice(n_pref, n_pref + n_s)

    def level(values, where) -> np.ndarray:
        cost = np.zeros(n_arcs, dtype=np.int64)
        cost[where] = values
        return cost

    levels = [level(1, unassigned_arcs)]
    spans = [n_s]
    best_rank_sq = np.zeros(n_s, dtype=np.int64)
    if n_pref:
        np.maximum.at(best_rank_sq, pref_tails, rank * rank)
    max_rank = int(rank.max()) if n_pref else 0
    if objective == "min-cost":
        levels.append(level(rank * rank, pref_arcs))
        spans.append(int(best_rank_sq.sum()))
    else:
        # Counting rank r at every level but the last is enough: with the number of students fixed,
        # the counts of all other ranks decide the last one.
        order = range(1, max_rank) if objective == "greedy" else range(max_rank, 1, -1)
        sign = -1 if objective == "greedy" else 1
        for r in order:
            at_rank = rank == r
            levels.append(level(sign * at_rank.astype(np.int64), pref_arcs))
            spans.append(int(np.unique(pref_tails[at_rank]).size))
    unit = np.array(unit_costs, dtype=np.int64)
    levels.append(level(unit, slice(n_arcs - n_unit, n_arcs)))
    spans.append(int(min(unit.sum() if n_unit else 0, n_s * (unit.max() if n_unit else 0))))

    network = flow.Network(num_nodes=sink + 1, tails=tails_all, heads=heads_all, capacities=capacities,
                           supplies=supplies, levels=tuple(levels), spans=tuple(spans))
    outcome = flow.solve_lexicographic(network)
    report = SolverReport(
        rounds=outcome.rounds, solver_seconds=outcome.solver_seconds,
        proof=(f"OR-Tools min-cost flow OPTIMAL in {outcome.rounds} round(s) over {len(levels)} "
               f"lexicographic level(s); each round certified by node potentials with no negative "
               f"reduced cost on its residual network" if outcome.status == "optimal" else outcome.message))
    chosen = dict(fixed)
    if outcome.flows is not None and outcome.status == "optimal":
        for arc in np.flatnonzero(outcome.flows[pref_arcs]):
            chosen[free[pref_tails[arc]].id] = problem.projects[pref_projects[arc]].id
        return build_result(problem, objective, "optimal", chosen, report)
    status = "infeasible" if outcome.status == "infeasible" else "error"
    return Result(status=status, objective=objective, unassigned=tuple(s.id for s in problem.students),
                  message=outcome.message, solver=report)
