"""Compact builders for allocation problems in tests."""

from __future__ import annotations

from projectflow.solvers.problem import Pair, Problem, Project, Student, Supervisor


def problem(students: dict[str, str], projects: dict[str, tuple[str, int]], supervisors: dict[str, int],
            *, rankings: dict[str, str] | None = None, fixed: dict[str, str] | None = None,
            forbidden: list[tuple[str, str]] | None = None) -> Problem:
    """``students={"s1": "A B"}`` (space-separated preferences), ``projects={"A": ("t1", 1)}``,
    ``supervisors={"t1": 2}``, ``rankings={"t1": "s2 s1"}``, ``fixed={"s9": "A"}``,
    ``forbidden=[("s1", "A")]``."""
    rankings = rankings or {}
    return Problem(
        students=tuple(Student(s, tuple(prefs.split())) for s, prefs in students.items()),
        projects=tuple(Project(p, t, cap) for p, (t, cap) in projects.items()),
        supervisors=tuple(Supervisor(t, cap, tuple(rankings[t].split()) if t in rankings else None)
                          for t, cap in supervisors.items()),
        fixed=tuple(Pair(s, p) for s, p in (fixed or {}).items()),
        forbidden=tuple(Pair(s, p) for s, p in (forbidden or [])),
    )


def placed(result) -> dict[str, str]:
    return {a.student: a.project for a in result.assignments}
