"""The independent validator: does a Result obey the Problem, and does it say true things about itself?

It shares no code with the engines (only the definition of the load cost, which *is* the objective):
everything a result claims is recomputed here from the problem and the assignments alone.
"""

from __future__ import annotations

from collections import Counter

from .problem import OBJECTIVES, Problem, Result, Verdict, load_cost

# "adjusted": an engine result changed by hand (the app's manual moves); checked like a success,
# except that nobody claims it explains its unassigned students.
STATUSES = ("optimal", "stable", "adjusted", "infeasible", "error")
SUCCESSES = ("optimal", "stable", "adjusted")


def validate(problem: Problem, result: Result) -> Verdict:
    """Check ``result`` against ``problem``: every student once, capacities respected, fixed pairs
    kept, no forbidden pair, every assignment a ranked project of its student (or a fixed pair),
    and the profile, worst rank, loads, rank cost and load cost recomputed from scratch and equal to
    what the result claims; for `stable`, no blocking pair. The verdict lists every problem found."""
    problems: list[str] = []
    if result.status not in STATUSES:
        problems.append(f"Unknown status {result.status!r}.")
    if result.objective not in OBJECTIVES:
        problems.append(f"Unknown objective {result.objective!r}.")
    students = {s.id: s for s in problem.students}
    projects = {p.id: p for p in problem.projects}
    capacity = {t.id: t.capacity for t in problem.supervisors}
    fixed = {pair.student: pair.project for pair in problem.fixed}
    forbidden = {(pair.student, pair.project) for pair in problem.forbidden}

    if result.status == "infeasible":
        on_p = Counter(fixed.values())
        on_t = Counter(projects[p].supervisor for p in fixed.values() if p in projects)
        if not (any(n > projects[p].capacity for p, n in on_p.items() if p in projects)
                or any(n > capacity.get(t, 0) for t, n in on_t.items())):
            problems.append("The result says infeasible, but the fixed pairs fit every capacity.")

    seen = Counter([a.student for a in result.assignments] + list(result.unassigned))
    for sid, count in seen.items():
        if sid not in students:
            problems.append(f"Unknown student {sid!r} in the result.")
        elif count > 1:
            problems.append(f"Student {sid!r} appears {count} times in the result.")
    for sid in students:
        if sid not in seen:
            problems.append(f"Student {sid!r} is neither assigned nor unassigned.")

    ranks = []
    for a in result.assignments:
        if a.student not in students or a.project not in projects:
            problems.append(f"Assignment {a.student!r} -> {a.project!r} names an unknown project.")
            continue
        if projects[a.project].supervisor != a.supervisor:
            problems.append(f"Project {a.project!r} is supervised by {projects[a.project].supervisor!r}, "
                            f"not {a.supervisor!r}.")
        prefs = students[a.student].preferences
        true_rank = prefs.index(a.project) + 1 if a.project in prefs else None
        # A coordinator may place a student by hand on a project they did not rank; an engine may not.
        if true_rank is None and fixed.get(a.student) != a.project and result.status != "adjusted":
            problems.append(f"Student {a.student!r} got {a.project!r}, which they did not rank.")
        if a.rank != true_rank:
            problems.append(f"Student {a.student!r} is said to have rank {a.rank} for {a.project!r}, "
                            f"but it is {true_rank}.")
        if (a.student, a.project) in forbidden:
            problems.append(f"The forbidden pair {a.student!r} - {a.project!r} is used.")
        if true_rank is not None:
            ranks.append(true_rank)
    placed = {a.student: a.project for a in result.assignments}
    if result.status in SUCCESSES:
        for sid, pid in fixed.items():
            if placed.get(sid) != pid:
                problems.append(f"The fixed pair {sid!r} - {pid!r} is not kept.")

    on_project = Counter(a.project for a in result.assignments if a.project in projects)
    for pid, n in on_project.items():
        if n > projects[pid].capacity:
            problems.append(f"Project {pid!r} has {n} students but room for {projects[pid].capacity}.")
    loads = Counter(projects[a.project].supervisor for a in result.assignments if a.project in projects)
    for tid, n in loads.items():
        if n > capacity.get(tid, 0):
            problems.append(f"Supervisor {tid!r} has {n} students but a capacity of {capacity.get(tid, 0)}.")

    worst = max(ranks, default=None)
    profile = tuple(sum(1 for r in ranks if r == k) for k in range(1, (worst or 0) + 1))
    if result.status in SUCCESSES:
        if tuple(result.profile) != profile:
            problems.append(f"The profile is {list(profile)}, not {list(result.profile)}.")
        if result.worst_rank != worst:
            problems.append(f"The worst rank is {worst}, not {result.worst_rank}.")
        true_loads = {t.id: loads.get(t.id, 0) for t in problem.supervisors}
        if dict(result.loads) != true_loads:
            wrong = sorted(t for t in true_loads if dict(result.loads).get(t) != true_loads[t])
            problems.append(f"The loads of {', '.join(map(repr, wrong[:5]))} are wrong.")
        rank_cost = sum(r * r for r in ranks)
        if result.rank_cost != rank_cost:
            problems.append(f"The rank cost is {rank_cost}, not {result.rank_cost}.")
        cost = sum(load_cost(n, capacity[t]) for t, n in true_loads.items())
        if result.load_cost != cost:
            problems.append(f"The load cost is {cost}, not {result.load_cost}.")
        explained = Counter(s for d in result.diagnosis for s in d.students)
        if result.status != "adjusted" and set(explained) != set(result.unassigned) or any(n > 1 for n in explained.values()):
            problems.append("The diagnosis does not explain each unassigned student exactly once.")
    if result.objective == "stable" and result.status == "stable":
        blocking = blocking_pairs(problem, placed)
        if blocking:
            shown = ", ".join(f"{s!r} - {p!r}" for s, p in blocking[:5])
            problems.append(f"{len(blocking)} blocking pair(s): {shown}.")
    return Verdict(ok=not problems, problems=tuple(problems))


def blocking_pairs(problem: Problem, placed: dict[str, str]) -> list[tuple[str, str]]:
    """Every (student, project) pair that blocks the allocation ``placed`` (student -> project) in
    the SPA-S sense (Abraham, Irving & Manlove 2007). Students on fixed pairs, and the places those
    take, are outside the stability condition; a student the supervisor did not rank, or a
    forbidden pair, is not acceptable. The pair (s, p) of supervisor t blocks when s ranked p, s is
    unassigned or prefers p to their project, and either
      (a) p and t both have room; or
      (b) p has room, t is full, and s is already one of t's students or t prefers s to its worst; or
      (c) p is full and t prefers s to the worst student on p.
    """
    projects = {p.id: p for p in problem.projects}
    fixed = {pair.student: pair.project for pair in problem.fixed}
    forbidden = {(pair.student, pair.project) for pair in problem.forbidden}
    room_p = {p.id: p.capacity for p in problem.projects}
    room_t = {t.id: t.capacity for t in problem.supervisors}
    for pid in fixed.values():
        room_p[pid] -= 1
        room_t[projects[pid].supervisor] -= 1
    rank = {t.id: {s: i for i, s in enumerate(t.preferences or ())} for t in problem.supervisors}
    on_p: dict[str, list[str]] = {}
    on_t: dict[str, list[str]] = {}
    for sid, pid in placed.items():
        if sid in fixed:
            continue
        on_p.setdefault(pid, []).append(sid)
        on_t.setdefault(projects[pid].supervisor, []).append(sid)
    big = float("inf")

    def worst(t: str, group: list[str]) -> float:
        return max((rank[t].get(s, big) for s in group), default=-1)

    blocking = []
    for s in problem.students:
        if s.id in fixed:
            continue
        current = placed.get(s.id)
        for pid in s.preferences:
            if pid == current:
                break  # only projects the student prefers to the one they have
            t = projects[pid].supervisor
            if (s.id, pid) in forbidden or s.id not in rank[t] or room_p[pid] <= 0 or room_t[t] <= 0:
                continue
            mine = rank[t][s.id]
            p_has_room = len(on_p.get(pid, ())) < room_p[pid]
            t_has_room = len(on_t.get(t, ())) < room_t[t]
            if p_has_room and t_has_room:
                blocking.append((s.id, pid))
            elif p_has_room and (current is not None and projects[current].supervisor == t
                                 or mine < worst(t, on_t.get(t, []))):
                blocking.append((s.id, pid))
            elif not p_has_room and mine < worst(t, on_p.get(pid, [])):
                blocking.append((s.id, pid))
    return blocking
