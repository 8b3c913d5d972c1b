"""Why students stayed unassigned, grouped and in plain words.

The simple reasons come first (no preferences, only forbidden projects, only projects with no places
left). For the flow objectives the rest is a *competition group*: starting from an unassigned student,
follow every project they ranked, every student placed on such a project, every supervisor of a
project that still has room and every project where that supervisor has students. Because the
allocation has as many students as possible, every project and supervisor reached is full, and the
group's students outnumber its places: that is the proof (Hall's condition) that no allocation can
place all of them, said as "these students competed for these places".
"""

from __future__ import annotations

from collections import defaultdict, deque

from .problem import Diagnosis, Problem


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _names(ids, limit: int = 5) -> str:
    ids = sorted(ids)
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def explain_unassigned(problem: Problem, objective: str, chosen: dict[str, str],
                       unassigned: list[str]) -> tuple[Diagnosis, ...]:
    """Group the ``unassigned`` students of an allocation (``chosen``: student -> project, fixed pairs
    included) by the reason they were left out."""
    projects = {p.id: p for p in problem.projects}
    students = {s.id: s for s in problem.students}
    forbidden = {(pair.student, pair.project) for pair in problem.forbidden}
    fixed = {pair.student for pair in problem.fixed}
    room_p = {p.id: p.capacity for p in problem.projects}
    room_t = {t.id: t.capacity for t in problem.supervisors}
    for pair in problem.fixed:
        room_p[pair.project] -= 1
        room_t[projects[pair.project].supervisor] -= 1
    ranked_by = {t.id: set(t.preferences) for t in problem.supervisors if t.preferences is not None}

    groups: dict[str, list[str]] = defaultdict(list)
    competing = []
    for sid in unassigned:
        allowed = [p for p in students[sid].preferences if (sid, p) not in forbidden]
        open_ = [p for p in allowed if room_p[p] > 0 and room_t[projects[p].supervisor] > 0]
        if not students[sid].preferences:
            groups["no-preferences"].append(sid)
        elif not allowed:
            groups["only-forbidden"].append(sid)
        elif not open_:
            groups["no-places"].append(sid)
        elif objective == "stable":
            if not any(sid in ranked_by.get(projects[p].supervisor, ()) for p in open_):
                groups["not-ranked"].append(sid)
            else:
                groups["outranked"].append(sid)
        else:
            competing.append(sid)

    words = {
        "no-preferences": ("has no preferences", "have no preferences"),
        "only-forbidden": ("ranked only projects forbidden to them",) * 2,
        "no-places": ("ranked only projects with no places left (capacity 0, or taken by fixed pairs)",) * 2,
        "not-ranked": ("ranked only projects whose supervisors did not rank them",) * 2,
        "outranked": ("was turned down by every project they ranked: each was full with students its "
                      "supervisor ranks higher, or its supervisor was",
                      "were turned down by every project they ranked: each was full with students its "
                      "supervisor ranks higher, or its supervisor was"),
    }
    out = []
    for reason, (one, many) in words.items():
        ids = groups.get(reason)
        if ids:
            verb = one if len(ids) == 1 else many
            out.append(Diagnosis(reason, f"{_n(len(ids), 'student', 'students')} {verb}.", tuple(ids)))
    if competing:
        out.extend(_competition_groups(problem, chosen, competing, forbidden, fixed, room_p, room_t))
    return tuple(out)


def _competition_groups(problem, chosen, competing, forbidden, fixed, room_p, room_t):
    projects = {p.id: p for p in problem.projects}
    students = {s.id: s for s in problem.students}
    on_project: dict[str, list[str]] = defaultdict(list)
    projects_in_use: dict[str, set[str]] = defaultdict(set)
    for sid, pid in chosen.items():
        if sid not in fixed:
            on_project[pid].append(sid)
            projects_in_use[projects[pid].supervisor].add(pid)

    owner: dict[tuple[str, str], int] = {}
    parent: list[int] = []

    def find(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    for start in competing:
        if ("s", start) in owner:
            continue
        group = len(parent)
        parent.append(group)
        owner[("s", start)] = group
        queue = deque([("s", start)])
        while queue:
            kind, ident = queue.popleft()
            if kind == "s":
                nxt = [("p", p) for p in students[ident].preferences
                       if (ident, p) not in forbidden and room_p[p] > 0]
            elif kind == "p":
                nxt = [("s", s) for s in on_project[ident]]
                if len(on_project[ident]) < room_p[ident]:
                    nxt.append(("t", projects[ident].supervisor))
            else:
                nxt = [("p", p) for p in projects_in_use[ident]]
            for node in nxt:
                seen = owner.get(node)
                if seen is None:
                    owner[node] = group
                    queue.append(node)
                elif find(seen) != group:
                    parent[find(seen)] = group

    members: dict[int, dict[str, set[str]]] = defaultdict(lambda: {"s": set(), "p": set(), "t": set()})
    for (kind, ident), g in owner.items():
        members[find(g)][kind].add(ident)
    out = []
    for g in sorted(members, key=lambda g: min(members[g]["s"])):
        group = members[g]
        left_out = [s for s in competing if s in group["s"]]
        full_projects = {p for p in group["p"] if projects[p].supervisor not in group["t"]}
        places = sum(room_p[p] for p in full_projects) + sum(room_t[t] for t in group["t"])
        detail = []
        if full_projects:
            detail.append(f"full projects: {_names(full_projects)}")
        if group["t"]:
            detail.append(f"full supervisors: {_names(group['t'])}")
        message = (f"{_n(len(left_out), 'student', 'students')} ranked only projects that are full or whose "
                   f"supervisors are full: {len(group['s'])} students in all competed for the "
                   f"{_n(places, 'place', 'places')} there, so no allocation can place more of them"
                   + (f" ({'; '.join(detail)})." if detail else "."))
        out.append(Diagnosis("competition", message, tuple(left_out)))
    return out
