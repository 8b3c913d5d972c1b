"""Hypothesis strategies: small random allocation problems, with every optional part."""

from __future__ import annotations

from hypothesis import strategies as st

from projectflow.solvers.problem import Pair, Problem, Project, Student, Supervisor


@st.composite
def problems(draw, *, max_students: int = 7, max_projects: int = 5, max_supervisors: int = 3,
             max_prefs: int = 4, rankings: bool = False, extras: bool = True,
             capacities: tuple[int, int] = (0, 3), partial_rankings: bool = True) -> Problem:
    """A random problem. ``rankings``: every supervisor ranks the students (some of them only, when
    ``partial_rankings``); ``extras``: fixed and forbidden pairs may appear (fixed pairs can overfill a
    capacity: that is infeasible); ``capacities``: the range of project capacities (supervisors get
    up to one more)."""
    n_t = draw(st.integers(1, max_supervisors))
    n_p = draw(st.integers(1, max_projects))
    n_s = draw(st.integers(0, max_students))
    sups = [f"t{k}" for k in range(n_t)]
    projects = tuple(Project(f"p{j}", draw(st.sampled_from(sups)), draw(st.integers(*capacities)))
                     for j in range(n_p))
    pids = [p.id for p in projects]
    sids = [f"s{i}" for i in range(n_s)]
    students = tuple(Student(s, tuple(draw(st.lists(st.sampled_from(pids), unique=True,
                                                    max_size=min(max_prefs, n_p)))))
                     for s in sids)
    supervisors = []
    for t in sups:
        ranking = None
        if rankings:
            order = draw(st.permutations(sids))
            partial = partial_rankings and draw(st.booleans())
            ranking = tuple(order[:draw(st.integers(0, n_s))]) if partial else tuple(order)
        supervisors.append(Supervisor(t, draw(st.integers(capacities[0], capacities[1] + 1)), ranking))
    fixed, forbidden = (), ()
    if extras and n_s:
        chosen = draw(st.lists(st.sampled_from(sids), unique=True, max_size=2))
        fixed = tuple(Pair(s, draw(st.sampled_from(pids))) for s in chosen)
        pairs = draw(st.lists(st.tuples(st.sampled_from(sids), st.sampled_from(pids)), unique=True, max_size=3))
        forbidden = tuple(Pair(s, p) for s, p in pairs if Pair(s, p) not in fixed)
    return Problem(students, projects, tuple(supervisors), fixed, forbidden)
