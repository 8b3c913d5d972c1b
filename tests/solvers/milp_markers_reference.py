"""A reference second-marker assignment by sequential MILPs in HiGHS: slow, obviously correct, for
cross-checks of ``assign_markers``.

One binary per (project, marker) pair the project may get (not a supervisor, no conflict, the marker
has room after the fixed pairs); one binary per load unit of each marker, priced by its marginal load
cost. Each lexicographic level is one solve, and its optimum is then fixed as a constraint for the
next: the textbook method the flow engine must agree with. The overlap is computed here a third time.
"""

from __future__ import annotations

import math

import highspy

from projectflow.solvers.markers import MarkerProblem, marker_load_cost


def _words(words) -> set[str]:
    return {w.strip().casefold() for w in words} - {""}


def marker_reference(problem: MarkerProblem) -> dict:
    """Number marked, total overlap and load cost (fixed pairs included) of a lexicographically
    optimal assignment: most marked, then most overlap, then least load cost."""
    fixed = {f.project: f.marker for f in problem.fixed}
    conflicts = {(c.project, c.marker) for c in problem.conflicts}
    expertise = {m.id: _words(m.expertise) for m in problem.staff}
    keywords = {p.id: _words(p.keywords) for p in problem.projects}
    able = sum(1 for m in problem.staff if m.capacity > 0)
    fair = math.ceil(len(problem.projects) / able) if able else 0
    fixed_load = {m.id: 0 for m in problem.staff}
    for mid in fixed.values():
        fixed_load[mid] += 1

    h = highspy.Highs()
    h.silent()
    h.setOptionValue("mip_rel_gap", 0.0)
    x = {}  # (project, marker) -> (variable, overlap)
    for p in problem.projects:
        if p.id in fixed:
            continue
        for m in problem.staff:
            if m.id not in p.supervisors and (p.id, m.id) not in conflicts and fixed_load[m.id] < m.capacity:
                x[p.id, m.id] = (h.addBinary(), len(keywords[p.id] & expertise[m.id]))
    by_project, by_marker = {}, {}
    for (pid, mid), (v, _) in x.items():
        by_project.setdefault(pid, []).append(v)
        by_marker.setdefault(mid, []).append(v)
    for vs in by_project.values():
        h.addConstr(sum(vs[1:], vs[0]) <= 1)
    load_terms = []
    for m in problem.staff:
        vs = by_marker.get(m.id)
        if not vs:
            continue
        units = [(h.addBinary(), marker_load_cost(j, fair) - marker_load_cost(j - 1, fair))
                 for j in range(fixed_load[m.id] + 1, m.capacity + 1)]
        h.addConstr(sum(vs[1:], vs[0]) - sum(u for u, _ in units) == 0)
        load_terms += [c * u for u, c in units if c]

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

    marked = optimise([v for v, _ in x.values()], "max")
    overlap = optimise([o * v for v, o in x.values() if o], "max")
    load = optimise(load_terms, "min")
    # The totals count every project, so the fixed pairs' overlap and load units are added back.
    fixed_overlap = sum(len(keywords[pid] & expertise[mid]) for pid, mid in fixed.items())
    fixed_cost = sum(marker_load_cost(n, fair) for n in fixed_load.values())
    return {"marked": marked + len(fixed), "overlap_total": overlap + fixed_overlap,
            "load_cost": load + fixed_cost}
