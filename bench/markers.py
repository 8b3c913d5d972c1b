"""How fast the second-marker engine is, against a plain MILP solved by CBC.

``python -m bench.markers [--sizes 200x40 1000x200 ...] [--seed S] [--no-baseline]`` builds seeded
instances, runs the file interface end to end on each (read and check the JSON, assign, validate,
write) and reports the engine's time and proof, then solves the same instance as a sequential MILP
with PuLP's bundled CBC (most marked, then most overlap, then least load cost) and checks the two agree.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from projectflow.solvers.markers import (MarkedProject, Marker, MarkerPair, MarkerProblem, assign_markers,
                                         marker_load_cost)
from projectflow.solvers.markers_io import marker_problem_to_dict, marker_result_to_json, parse_marker_problem

DEFAULT_SIZES = ("200x40", "1000x200", "5000x1000")
# CBC proves the smallest size in seconds; at 1,000 x 200 (200,000 binaries) it did not prove even
# the first level within 300 s, and 5,000 x 1,000 has 5 million binaries. Ask for more with
# --baseline-sizes.
DEFAULT_BASELINE_SIZES = ("200x40",)


def make_marker_problem(n_projects: int, n_staff: int, seed: int = 1, *, vocabulary: int = 80,
                        zipf: float = 0.8) -> MarkerProblem:
    """A seeded instance: a vocabulary of ``vocabulary`` keywords with Zipf(``zipf``) popularity;
    each project has 2-5 keywords and a supervisor (plus a co-supervisor on ~10%), each member of staff
    3-8 expertise keywords and a capacity of fair share - 2 to fair share + 3 (about 1.1 places per
    project); ~3% of projects declare a conflict with one member of staff, and ~1% come with a fixed
    marker (an eligible one with room)."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, vocabulary + 1) ** zipf
    weights /= weights.sum()
    words = [f"kw{j}" for j in range(vocabulary)]

    def draw(low: int, high: int) -> tuple[str, ...]:
        k = int(rng.integers(low, high + 1))
        return tuple(words[j] for j in rng.choice(vocabulary, size=k, replace=False, p=weights))

    fair = math.ceil(n_projects / n_staff)
    capacity = rng.integers(max(0, fair - 2), fair + 4, size=n_staff)
    staff = tuple(Marker(f"t{k}", int(capacity[k]), draw(3, 8)) for k in range(n_staff))
    projects = []
    for i in range(n_projects):
        supervisors = [int(rng.integers(n_staff))]
        if rng.random() < 0.10 and n_staff > 1:
            supervisors.append(int((supervisors[0] + rng.integers(1, n_staff)) % n_staff))
        projects.append(MarkedProject(f"a{i}", tuple(f"t{k}" for k in supervisors), draw(2, 5)))
    conflicts = []
    for p in projects:
        if rng.random() < 0.03:
            k = f"t{int(rng.integers(n_staff))}"
            if k not in p.supervisors:
                conflicts.append(MarkerPair(p.id, k))
    conflicted = {(c.project, c.marker) for c in conflicts}
    fixed, load = [], dict.fromkeys((m.id for m in staff), 0)
    for p in projects:
        if rng.random() < 0.01:
            k = f"t{int(rng.integers(n_staff))}"
            if k not in p.supervisors and (p.id, k) not in conflicted and load[k] < capacity[int(k[1:])]:
                fixed.append(MarkerPair(p.id, k))
                load[k] += 1
    return MarkerProblem(tuple(projects), staff, tuple(conflicts), tuple(fixed))


def run_engine(path: Path, out: Path) -> dict:
    """The file interface end to end: read and check the JSON, assign, validate, write."""
    started = time.perf_counter()
    problem = parse_marker_problem(path.read_bytes())
    result = assign_markers(problem)
    out.write_text(marker_result_to_json(result), encoding="utf-8")
    total = time.perf_counter() - started
    loads = [n for _, n in result.loads]
    return {"status": result.status, "ok": result.verdict.ok, "solver_s": result.solver.solver_seconds,
            "assign_s": result.solve_seconds, "total_s": total, "rounds": result.solver.rounds,
            "marked": len(result.assignments), "overlap": result.overlap_total, "load_cost": result.load_cost,
            "fair": result.fair_share, "max_load": max(loads, default=0)}


def run_cbc(problem: MarkerProblem, budget: float) -> dict:
    """The baseline: one binary per eligible (project, marker) pair and per load unit above the fair
    share, in PuLP with its bundled CBC, one solve per lexicographic level (the level's optimum fixed
    as a constraint for the next); it stops when ``budget`` seconds are spent."""
    import pulp

    started = time.perf_counter()
    staff = {m.id: m for m in problem.staff}
    conflicts = {(c.project, c.marker) for c in problem.conflicts}
    fixed = {f.project: f.marker for f in problem.fixed}
    fixed_load = {m.id: 0 for m in problem.staff}
    for marker in fixed.values():
        fixed_load[marker] += 1
    able = sum(1 for m in problem.staff if m.capacity > 0)
    fair = math.ceil(len(problem.projects) / able) if able else 0
    expertise = {m.id: {w.strip().casefold() for w in m.expertise} - {""} for m in problem.staff}
    model = pulp.LpProblem("markers", pulp.LpMinimize)
    x, gain = {}, {}
    for p in problem.projects:
        if p.id in fixed:
            continue
        words = {w.strip().casefold() for w in p.keywords} - {""}
        for m in problem.staff:
            if m.id not in p.supervisors and (p.id, m.id) not in conflicts and fixed_load[m.id] < m.capacity:
                x[p.id, m.id] = pulp.LpVariable(f"x{len(x)}", cat="Binary")
                gain[p.id, m.id] = len(words & expertise[m.id])
    by_p, by_m = {}, {}
    for (pid, mid), v in x.items():
        by_p.setdefault(pid, []).append(v)
        by_m.setdefault(mid, []).append(v)
    for vs in by_p.values():
        model += pulp.lpSum(vs) <= 1
    load_terms = []
    for mid, vs in by_m.items():
        f, cap = fixed_load[mid], staff[mid].capacity
        free = max(0, min(fair, cap) - f)
        above = [pulp.LpVariable(f"u{mid}_{j}", cat="Binary") for j in range(f + free + 1, cap + 1)]
        model += pulp.lpSum(vs) <= free + len(above)
        model += pulp.lpSum(vs) - pulp.lpSum(above) <= free
        load_terms += [(marker_load_cost(j, fair) - marker_load_cost(j - 1, fair)) * u
                       for j, u in zip(range(f + free + 1, cap + 1), above)]
    levels = [(-1, pulp.lpSum(x.values())), (-1, pulp.lpSum(g * x[k] for k, g in gain.items() if g)),
              (1, pulp.lpSum(load_terms))]
    build = time.perf_counter() - started
    proved = 0
    for sign, expr in levels:
        remaining = budget - (time.perf_counter() - started)
        if remaining <= 1:
            break
        model.setObjective(sign * expr)
        model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=remaining))
        # sol_status, not status: PuLP reports a time-limited feasible solution as status "Optimal".
        if model.sol_status != pulp.LpSolutionOptimal:
            break
        proved += 1
        model += sign * expr <= round(pulp.value(model.objective) or 0) + 0.5
    if proved < len(levels):
        return {"status": f"{proved}/{len(levels)} proved", "build_s": build,
                "total_s": time.perf_counter() - started}
    chosen = {k: gain[k] for k, v in x.items() if v.value() > 0.5}
    load = dict(fixed_load)
    for _, mid in chosen:
        load[mid] += 1
    fixed_gain = sum(len({w.strip().casefold() for w in p.keywords} & expertise[fixed[p.id]])
                     for p in problem.projects if p.id in fixed)
    return {"status": "Optimal", "build_s": build, "total_s": time.perf_counter() - started,
            "marked": len(chosen) + len(fixed), "overlap": sum(chosen.values()) + fixed_gain,
            "load_cost": sum(marker_load_cost(n, fair) for n in load.values())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES),
                        help="PROJECTSxSTAFF, e.g. 1000x200 (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-baseline", action="store_true", help="skip the PuLP/CBC baseline")
    parser.add_argument("--baseline-sizes", nargs="*", default=list(DEFAULT_BASELINE_SIZES),
                        help="sizes the CBC baseline runs on (default: %(default)s)")
    parser.add_argument("--baseline-budget", type=float, default=300.0,
                        help="seconds CBC may spend on one instance (default 300)")
    args = parser.parse_args(argv)
    print("second-marker engine (solver = flow solves + optimality certificates; end to end = read JSON, "
          "check, assign, validate, write JSON)")
    print(f"{'projects':>8} {'staff':>5} {'status':>8} {'rounds':>6} {'solver s':>9} {'assign s':>9} "
          f"{'end-to-end s':>12} {'valid':>5} {'marked':>6} {'overlap':>7} {'fair':>4} {'max load':>8} "
          f"{'load cost':>9}  {'CBC status':>10} {'CBC s':>7} {'agree':>5}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            n_p, n_s = (int(v) for v in size.lower().split("x"))
            problem = make_marker_problem(n_p, n_s, args.seed)
            path = Path(tmp) / f"markers-{size}.json"
            path.write_text(json.dumps(marker_problem_to_dict(problem)), encoding="utf-8")
            ours = run_engine(path, Path(tmp) / "result.json")
            row = (f"{n_p:>8} {n_s:>5} {ours['status']:>8} {ours['rounds']:>6} {ours['solver_s']:>9.3f} "
                   f"{ours['assign_s']:>9.3f} {ours['total_s']:>12.3f} {str(ours['ok']):>5} {ours['marked']:>6} "
                   f"{ours['overlap']:>7} {ours['fair']:>4} {ours['max_load']:>8} {ours['load_cost']:>9}")
            if args.no_baseline or size not in args.baseline_sizes:
                print(row + f"  {'-':>10} {'-':>7} {'-':>5}", flush=True)
                continue
            cbc = run_cbc(problem, args.baseline_budget)
            agree = (all(ours[k] == cbc[k] for k in ("marked", "overlap", "load_cost"))
                     if cbc["status"] == "Optimal" else "-")
            print(row + f"  {cbc['status']:>10} {cbc['total_s']:>7.2f} {str(agree):>5}", flush=True)


if __name__ == "__main__":
    main()
