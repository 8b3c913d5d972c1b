"""A reference allocation by sequential MILPs in HiGHS: slow, obviously correct, for cross-checks.

One binary per (student, project) pair the student may get; one binary per load unit of each
supervisor, priced by the load cost. Each lexicographic level is one solve, and its optimum is
then fixed as a constraint for the next: the textbook method the flow engine must agree with.
"""

from __future__ import annotations

import highspy

from projectflow.solvers.problem import Problem, load_unit_cost


def reference(problem: Problem, objective: str) -> dict:
    """Number assigned, rank cost, profile (over ranked pairs, fixed ones included) and load cost of
    a lexicographically optimal allocation for ``objective`` (min-cost, greedy or generous)."""
    fixed = {f.student: f.project for f in problem.fixed}
    forbidden = {(f.student, f.project) for f in problem.forbidden}
    projects = {p.id: p for p in problem.projects}
    room_p = {p.id: p.capacity for p in problem.projects}
    room_t = {t.id: t.capacity for t in problem.supervisors}
    fixed_t = {t.id: 0 for t in problem.supervisors}
    for pid in fixed.values():
        room_p[pid] -= 1
        room_t[projects[pid].supervisor] -= 1
        fixed_t[projects[pid].supervisor] += 1

    h = highspy.Highs()
    h.silent()
    h.setOptionValue("mip_rel_gap", 0.0)
    x = {}  # (student, project) -> (variable, rank)
    for s in problem.students:
        if s.id in fixed:
            continue
        for r, pid in enumerate(s.preferences, start=1):
            if (s.id, pid) not in forbidden and room_p[pid] > 0:
                x[s.id, pid] = (h.addBinary(), r)
    by_student, by_project, by_supervisor = {}, {}, {}
    for (sid, pid), (v, _) in x.items():
        by_student.setdefault(sid, []).append(v)
        by_project.setdefault(pid, []).append(v)
        by_supervisor.setdefault(projects[pid].supervisor, []).append(v)
    for vs in by_student.values():
        h.addConstr(sum(vs[1:], vs[0]) <= 1)
    for pid, vs in by_project.items():
        h.addConstr(sum(vs[1:], vs[0]) <= room_p[pid])
    load_terms = []
    for t in problem.supervisors:
        vs = by_supervisor.get(t.id)
        if not vs:
            continue
        units = [(h.addBinary(), load_unit_cost(j, t.capacity))
                 for j in range(fixed_t[t.id] + 1, t.capacity + 1)]
        if units:
            h.addConstr(sum(vs[1:], vs[0]) - sum(u for u, _ in units) == 0)
        else:
            h.addConstr(sum(vs[1:], vs[0]) <= 0)
        load_terms += [c * u for u, c in units]

    def optimise(terms, sense):
        if not terms:
            return 0
        expr = sum(terms[1:], terms[0])
        (h.maximize if sense == "max" else h.minimize)(expr)
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, h.getModelStatus()
        best = round(h.getInfo().objective_function_value)
        # Keep the optimum as a constraint for the levels below (half a unit of slack for rounding).
        h.addConstr(expr >= best - 0.5) if sense == "max" else h.addConstr(expr <= best + 0.5)
        return best

    assigned = optimise([v for v, _ in x.values()], "max")
    max_rank = max((r for _, r in x.values()), default=0)
    if objective == "min-cost":
        optimise([r * r * v for v, r in x.values()], "min")
    elif objective == "greedy":
        for k in range(1, max_rank):
            optimise([v for v, r in x.values() if r == k], "max")
    elif objective == "generous":
        for k in range(max_rank, 1, -1):
            optimise([v for v, r in x.values() if r == k], "min")
    load = optimise(load_terms, "min") if load_terms else 0

    values = h.getSolution().col_value
    ranks = [r for (_, _), (v, r) in x.items() if values[v.index] > 0.5]
    for sid, pid in fixed.items():
        prefs = next(s.preferences for s in problem.students if s.id == sid)
        if pid in prefs:
            ranks.append(prefs.index(pid) + 1)
    worst = max(ranks, default=0)
    profile = tuple(sum(1 for r in ranks if r == k) for k in range(1, worst + 1))
    # The load cost counts every student, so the units the fixed pairs take are added back.
    load_total = load + sum(load_unit_cost(j, t.capacity) for t in problem.supervisors
                            for j in range(1, fixed_t[t.id] + 1))
    return {"assigned": assigned + len(fixed), "rank_cost": sum(r * r for r in ranks), "profile": profile,
            "load_cost": load_total}
