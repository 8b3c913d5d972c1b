"""The student-optimal stable allocation when supervisors rank students (SPA-S).

Our implementation of the SPA-student algorithm of Abraham, Irving & Manlove, "Two algorithms for
the Student-Project Allocation problem", Journal of Discrete Algorithms 5 (2007) 73-90. Free
students apply to the first project left on their list; an over-subscribed project (or supervisor)
rejects its worst student by the supervisor's ranking; once a project or a supervisor is full, every
student the supervisor ranks below its worst one is deleted from its list(s) for good.

Linear in the total length of the preference lists: a deletion only moves the end of a list (the
students after the end are the deleted ones), and finding the worst student of a full project or
supervisor scans from that end towards the front, past students who are about to be deleted anyway.

Fixed pairs take their places first and stay outside the stability condition. A pair is acceptable
when the student ranked the project, it is not forbidden, both the project and its supervisor have
room, and the supervisor ranked the student.
"""

from __future__ import annotations

import time

from .problem import Problem, Result, SolverReport
from .results import build_result


def stable_allocation(problem: Problem) -> Result:
    """The student-optimal stable matching of ``problem`` (supervisors' rankings required)."""
    started = time.perf_counter()
    fixed = {pair.student: pair.project for pair in problem.fixed}
    forbidden = {(pair.student, pair.project) for pair in problem.forbidden}
    sup_index = {t.id: k for k, t in enumerate(problem.supervisors)}
    proj_index = {p.id: j for j, p in enumerate(problem.projects)}
    proj_sup = [sup_index[p.supervisor] for p in problem.projects]
    room_p = [p.capacity for p in problem.projects]
    room_t = [t.capacity for t in problem.supervisors]
    for project in fixed.values():
        room_p[proj_index[project]] -= 1
        room_t[proj_sup[proj_index[project]]] -= 1

    free = [s for s in problem.students if s.id not in fixed]
    stu_index = {s.id: i for i, s in enumerate(free)}
    # L_k: supervisor k's ranking restricted to free students; rank_in[k][i] = position of student i.
    ranking = [[stu_index[s] for s in (t.preferences or ()) if s in stu_index] for t in problem.supervisors]
    rank_in = [{i: pos for pos, i in enumerate(order)} for order in ranking]

    # Each student's acceptable projects, in preference order.
    lists: list[list[int]] = []
    for i, s in enumerate(free):
        acceptable = []
        for pid in s.preferences:
            j = proj_index[pid]
            k = proj_sup[j]
            if (s.id, pid) not in forbidden and room_p[j] > 0 and room_t[k] > 0 and i in rank_in[k]:
                acceptable.append(j)
        lists.append(acceptable)

    # L_k^j: the students who find project j acceptable, in supervisor k's order (built by walking
    # L_k once, so no sorting); pos_in_project[i][j] is student i's position in it.
    wants: list[dict[int, list[int]]] = [{} for _ in free]
    for i, acceptable in enumerate(lists):
        for j in acceptable:
            wants[i].setdefault(proj_sup[j], []).append(j)
    project_list: list[list[int]] = [[] for _ in problem.projects]
    pos_in_project: list[dict[int, int]] = [{} for _ in free]
    for k, order in enumerate(ranking):
        for i in order:
            for j in wants[i].get(k, ()):
                pos_in_project[i][j] = len(project_list[j])
                project_list[j].append(i)

    # Deletions: pair (i, j) is deleted once i's position in L_k^j reaches end_p[j] or its position
    # in L_k reaches end_t[k]; both ends only move towards the front.
    end_p = [len(lst) for lst in project_list]
    end_t = [len(order) for order in ranking]
    assigned = [-1] * len(free)
    load_p = [0] * len(problem.projects)
    load_t = [0] * len(problem.supervisors)
    next_choice = [0] * len(free)

    def deleted(i: int, j: int) -> bool:
        return pos_in_project[i][j] >= end_p[j] or rank_in[proj_sup[j]][i] >= end_t[proj_sup[j]]

    def worst_on_project(j: int) -> int:
        lst = project_list[j]
        while assigned[lst[end_p[j] - 1]] != j:
            end_p[j] -= 1  # not on j and ranked below its worst: deleted by the caller's rule anyway
        return lst[end_p[j] - 1]

    def worst_of_supervisor(k: int) -> int:
        order = ranking[k]
        while assigned[order[end_t[k] - 1]] == -1 or proj_sup[assigned[order[end_t[k] - 1]]] != k:
            end_t[k] -= 1
        return order[end_t[k] - 1]

    def unassign(i: int) -> None:
        j = assigned[i]
        assigned[i] = -1
        load_p[j] -= 1
        load_t[proj_sup[j]] -= 1
        waiting.append(i)

    waiting = list(range(len(free)))
    # Every application ends with the pair kept or deleted for good, so there are at most as many
    # applications as acceptable pairs: a guard against a bug turning into an endless loop.
    applications_left = sum(len(acceptable) for acceptable in lists)
    while waiting:
        i = waiting.pop()
        acceptable = lists[i]
        while next_choice[i] < len(acceptable) and deleted(i, acceptable[next_choice[i]]):
            next_choice[i] += 1
        if next_choice[i] == len(acceptable):
            continue  # the student's list is exhausted: they stay unassigned
        applications_left -= 1
        if applications_left < 0:
            raise RuntimeError("SPA-student made more applications than there are acceptable pairs.")
        j = acceptable[next_choice[i]]
        k = proj_sup[j]
        assigned[i] = j
        load_p[j] += 1
        load_t[k] += 1
        if load_p[j] > room_p[j]:
            unassign(worst_on_project(j))
        elif load_t[k] > room_t[k]:
            unassign(worst_of_supervisor(k))
        if load_p[j] == room_p[j]:
            end_p[j] = pos_in_project[worst_on_project(j)][j] + 1
        if load_t[k] == room_t[k]:
            end_t[k] = rank_in[k][worst_of_supervisor(k)] + 1

    chosen = dict(fixed)
    for i, j in enumerate(assigned):
        if j != -1:
            chosen[free[i].id] = problem.projects[j].id
    report = SolverReport(rounds=1, solver_seconds=time.perf_counter() - started,
                          proof="SPA-student algorithm (Abraham, Irving & Manlove 2007): the student-optimal "
                                "stable matching; no blocking pair by the validator's independent check")
    return build_result(problem, "stable", "stable", chosen, report)
