"""How fast and how good the allocation engine is, against a plain MILP solved by CBC.

``python -m bench.allocation [--students N ...] [--seed S] [--no-baseline]`` builds seeded instances
(Zipf-like project popularity, so a few projects are heavily over-subscribed), solves each with every
objective and reports the engine's time and proof, then solves the same instances as a MILP with
PuLP's bundled CBC (lexicographic objectives as sequential MILPs) and checks the two agree.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from projectflow.solvers import OBJECTIVES, allocate
from projectflow.solvers.problem import Problem, Project, Student, Supervisor, load_unit_cost
from projectflow.solvers.problem_io import parse_problem, problem_to_dict, result_to_json


def make_problem(n_students: int, seed: int = 1, *, n_supervisors: int | None = None,
                 n_projects: int | None = None, min_prefs: int = 5, max_prefs: int = 10,
                 zipf: float = 0.6) -> Problem:
    """A seeded instance: n/5 supervisors (capacity 3-8, about 1.1 places per student), 3n projects
    (15 per supervisor, capacity 1-2), each student ranking 5-10 projects drawn with Zipf(``zipf``)
    popularity; supervisors rank the students who applied by a shared merit plus their own noise."""
    rng = np.random.default_rng(seed)
    n_t = n_supervisors or max(1, n_students // 5)
    n_p = n_projects or 3 * n_students
    supervisors_cap = rng.integers(3, 9, size=n_t)
    project_sup = np.arange(n_p) % n_t
    project_cap = rng.integers(1, 3, size=n_p)
    weights = 1.0 / np.arange(1, n_p + 1) ** zipf
    weights = weights[rng.permutation(n_p)]
    weights /= weights.sum()
    prefs = []
    for _ in range(n_students):
        k = int(rng.integers(min_prefs, max_prefs + 1))
        picked: list[int] = []
        while len(picked) < k:
            for j in rng.choice(n_p, size=3 * k, p=weights):
                if j not in picked:
                    picked.append(int(j))
                    if len(picked) == k:
                        break
        prefs.append(picked)
    merit = rng.random(n_students)
    applicants: list[set[int]] = [set() for _ in range(n_t)]
    for i, picked in enumerate(prefs):
        for j in picked:
            applicants[project_sup[j]].add(i)
    supervisors = []
    for t in range(n_t):
        who = sorted(applicants[t])
        score = merit[who] + 0.3 * rng.random(len(who)) if who else []
        order = [who[i] for i in np.argsort(score)[::-1]] if who else []
        supervisors.append(Supervisor(f"t{t}", int(supervisors_cap[t]), tuple(f"s{i}" for i in order)))
    return Problem(
        students=tuple(Student(f"s{i}", tuple(f"p{j}" for j in picked)) for i, picked in enumerate(prefs)),
        projects=tuple(Project(f"p{j}", f"t{project_sup[j]}", int(project_cap[j])) for j in range(n_p)),
        supervisors=tuple(supervisors))


def run_engine(path: Path, objective: str, out: Path) -> dict:
    """The file interface end to end: read and check problem.json, allocate, validate, write."""
    started = time.perf_counter()
    problem = parse_problem(path.read_bytes(), objective)
    result = allocate(problem, objective)
    out.write_text(result_to_json(result), encoding="utf-8")
    total = time.perf_counter() - started
    return {"status": result.status, "ok": result.verdict.ok, "solver_s": result.solver.solver_seconds,
            "allocate_s": result.solve_seconds, "total_s": total, "rounds": result.solver.rounds,
            "assigned": len(result.assignments), "rank_cost": result.rank_cost, "profile": result.profile,
            "load_cost": result.load_cost, "worst": result.worst_rank}


def run_cbc(problem: Problem, objective: str, budget: float) -> dict:
    """The baseline: the plain MILP in PuLP, solved by its bundled CBC, one solve per lexicographic
    level (the level's optimum fixed as a constraint for the next). CBC gets no threads option: on 2
    cores ``threads=2`` made a 300-student solve 100 times slower (research notes). The run stops
    when ``budget`` seconds are spent, and then says how many levels it proved."""
    import pulp

    started = time.perf_counter()
    projects = {p.id: p for p in problem.projects}
    forbidden = {(f.student, f.project) for f in problem.forbidden}
    model = pulp.LpProblem("allocation", pulp.LpMinimize)
    x, rank = {}, {}
    for s in problem.students:
        for r, pid in enumerate(s.preferences, start=1):
            if (s.id, pid) not in forbidden and projects[pid].capacity > 0:
                x[s.id, pid] = pulp.LpVariable(f"x{len(x)}", cat="Binary")
                rank[s.id, pid] = r
    by_s, by_p, by_t = {}, {}, {}
    for (sid, pid), v in x.items():
        by_s.setdefault(sid, []).append(v)
        by_p.setdefault(pid, []).append(v)
        by_t.setdefault(projects[pid].supervisor, []).append(v)
    for vs in by_s.values():
        model += pulp.lpSum(vs) <= 1
    for pid, vs in by_p.items():
        model += pulp.lpSum(vs) <= projects[pid].capacity
    load_terms = []
    for t in problem.supervisors:
        if t.id in by_t:
            units = [pulp.LpVariable(f"u{t.id}_{j}", cat="Binary") for j in range(1, t.capacity + 1)]
            model += pulp.lpSum(by_t[t.id]) == pulp.lpSum(units)
            load_terms += [load_unit_cost(j, t.capacity) * u for j, u in enumerate(units, start=1)]
    max_rank = max(rank.values(), default=0)
    assigned = pulp.lpSum(x.values())
    levels = [(-1, assigned)]
    if objective == "min-cost":
        levels.append((1, pulp.lpSum(r * r * x[k] for k, r in rank.items())))
    else:
        order = range(1, max_rank) if objective == "greedy" else range(max_rank, 1, -1)
        for level in order:
            levels.append((-1 if objective == "greedy" else 1,
                           pulp.lpSum(x[k] for k, r in rank.items() if r == level)))
    levels.append((1, pulp.lpSum(load_terms)))
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
        # The level's optimum (minimised as sign * expr) becomes a constraint for the next level.
        model += sign * expr <= round(pulp.value(model.objective) or 0) + 0.5
    if proved < len(levels):
        return {"status": f"{proved}/{len(levels)} proved", "build_s": build, "solves": proved,
                "total_s": time.perf_counter() - started}
    ranks = [r for k, r in rank.items() if x[k].value() > 0.5]
    worst = max(ranks, default=0)
    return {"status": "Optimal",
            "build_s": build, "total_s": time.perf_counter() - started, "solves": len(levels),
            "assigned": len(ranks), "rank_cost": sum(r * r for r in ranks),
            "profile": tuple(sum(1 for r in ranks if r == k) for k in range(1, worst + 1)),
            "load_cost": round(pulp.value(pulp.lpSum(load_terms)) or 0)}


def agree(ours: dict, theirs: dict, objective: str) -> bool | None:
    if theirs["status"] != "Optimal":
        return None
    key = "rank_cost" if objective == "min-cost" else "profile"
    return all(ours[k] == theirs[k] for k in ("assigned", key, "load_cost"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-baseline", action="store_true", help="skip the PuLP/CBC baseline")
    parser.add_argument("--baseline-budget", type=float, default=300.0,
                        help="seconds CBC may spend on one objective (default 300)")
    args = parser.parse_args(argv)
    print("allocation engine (solver = flow solves + optimality certificates; end to end = read JSON, "
          "check, allocate, validate, write JSON)")
    print(f"{'students':>8} {'objective':>9} {'status':>8} {'rounds':>6} {'solver s':>9} {'allocate s':>10} "
          f"{'end-to-end s':>12} {'valid':>5} {'placed':>6} {'worst':>5}  "
          f"{'CBC status':>10} {'CBC solves':>10} {'CBC s':>7} {'agree':>5}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.students:
            problem = make_problem(n, args.seed)
            path = Path(tmp) / f"problem-{n}.json"
            path.write_text(json.dumps(problem_to_dict(problem)), encoding="utf-8")
            for objective in OBJECTIVES:
                ours = run_engine(path, objective, Path(tmp) / "result.json")
                row = (f"{n:>8} {objective:>9} {ours['status']:>8} {ours['rounds']:>6} {ours['solver_s']:>9.3f} "
                       f"{ours['allocate_s']:>10.3f} {ours['total_s']:>12.3f} {str(ours['ok']):>5} "
                       f"{ours['assigned']:>6} {ours['worst']:>5}")
                if args.no_baseline or objective == "stable":
                    print(row + f"  {'-':>10} {'-':>10} {'-':>7} {'-':>5}", flush=True)
                    continue
                cbc = run_cbc(problem, objective, args.baseline_budget)
                print(row + f"  {cbc['status']:>10} {cbc['solves']:>10} {cbc['total_s']:>7.2f} "
                      f"{str(agree(ours, cbc, objective) if cbc['status'] == 'Optimal' else '-'):>5}", flush=True)


if __name__ == "__main__":
    main()
