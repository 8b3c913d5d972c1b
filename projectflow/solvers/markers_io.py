"""The JSON file format of ``projectflow assign-markers``: markers.json in, result.json out.

markers.json::

    {"projects":  [{"id": "a1", "supervisors": ["t1"], "keywords": ["nlp"]}],
     "staff":     [{"id": "t2", "capacity": 6, "expertise": ["nlp", "vision"]}],
     "conflicts": [{"project": "a1", "marker": "t3"}],
     "fixed":     [{"project": "a2", "marker": "t4"}]}

``conflicts`` and ``fixed`` are optional; ids are strings. A project is one piece of work to mark;
``supervisors`` holds its supervisor and co-supervisors, each of whom must be listed in ``staff``
(with capacity 0 if they do not mark). ``capacity`` is the per-person maximum. Reading is strict, like
``problem_io``: a missing or unknown field, a wrong type, a negative capacity, an unknown id, a
duplicate, a project fixed twice or a fixed pair that breaks a rule (a supervisor, a conflict) is
refused with a sentence naming the entry.

result.json::

    {"status": "optimal",
     "assignments": [{"project": "a1", "marker": "t2", "overlap": 1}],
     "unassigned": ["a9"], "loads": {"t2": 6}, "fair_share": 5, "overlap_total": 1, "load_cost": 1,
     "solve_seconds": 0.03,
     "diagnosis": [{"reason": "no-eligible-marker", "message": "1 project has no eligible ...",
                    "projects": ["a9"]}],
     "message": "",
     "solver": {"rounds": 1, "seconds": 0.02, "proof": "OR-Tools min-cost flow OPTIMAL in 1 round(s) ..."},
     "validation": {"ok": true, "problems": []}}

``status`` is "optimal" (proven), "infeasible" (fixed pairs overfill a capacity; see ``message``) or
"error". ``assignments`` include the fixed pairs; ``loads`` cover every member of staff. ``diagnosis``
explains every unassigned project once; ``reason`` is one of no-eligible-marker, no-room, competition.
"""

from __future__ import annotations

import json
from typing import Any

from .markers import MarkedProject, Marker, MarkerPair, MarkerProblem, MarkerResult, check_marker_problem
from .problem import ProblemError
from .problem_io import decode_json, read_sections

_FIELDS = {
    "projects": {"id", "supervisors", "keywords"},
    "staff": {"id", "capacity", "expertise"},
    "conflicts": {"project", "marker"},
    "fixed": {"project", "marker"},
}
_REQUIRED_LISTS = ("projects", "staff")


def parse_marker_problem(text: str | bytes) -> MarkerProblem:
    """Read markers.json (text or bytes) into a MarkerProblem; raise ProblemError listing every fault."""
    return marker_problem_from_dict(decode_json(text))


def marker_problem_from_dict(data: Any) -> MarkerProblem:
    """Build a MarkerProblem from decoded JSON, checking its shape and then its meaning
    (check_marker_problem)."""
    sections = read_sections(data, {key: (required, set()) for key, required in _FIELDS.items()}, _REQUIRED_LISTS,
                             lambda _key, entry, where: _type_faults(entry, where),
                             "The file must hold a JSON object with projects and staff.")

    problem = MarkerProblem(
        projects=tuple(MarkedProject(e["id"], tuple(e["supervisors"]), tuple(e["keywords"]))
                       for e in sections["projects"]),
        staff=tuple(Marker(e["id"], e["capacity"], tuple(e["expertise"])) for e in sections["staff"]),
        conflicts=tuple(MarkerPair(e["project"], e["marker"]) for e in sections["conflicts"]),
        fixed=tuple(MarkerPair(e["project"], e["marker"]) for e in sections["fixed"]),
    )
    faults = check_marker_problem(problem)
    if faults:
        raise ProblemError(faults)
    return problem


def _type_faults(entry: dict, where: str) -> list[str]:
    faults = []
    for name in ("id", "project", "marker"):
        if name in entry and not isinstance(entry[name], str):
            faults.append(f"{where}: {name!r} must be a string, not {json.dumps(entry[name])}.")
    if "capacity" in entry:
        capacity = entry["capacity"]
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            faults.append(f"{where}: 'capacity' must be a whole number, not {json.dumps(capacity)}.")
        elif capacity < 0:
            faults.append(f"{where}: 'capacity' must not be negative ({capacity}).")
    for name in ("supervisors", "keywords", "expertise"):
        if name in entry:
            value = entry[name]
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                faults.append(f"{where}: {name!r} must be a list of strings.")
    return faults


def marker_problem_to_dict(problem: MarkerProblem) -> dict:
    """The JSON form of a MarkerProblem (what parse_marker_problem reads back)."""
    data: dict[str, Any] = {
        "projects": [{"id": p.id, "supervisors": list(p.supervisors), "keywords": list(p.keywords)}
                     for p in problem.projects],
        "staff": [{"id": m.id, "capacity": m.capacity, "expertise": list(m.expertise)} for m in problem.staff],
    }
    if problem.conflicts:
        data["conflicts"] = [{"project": c.project, "marker": c.marker} for c in problem.conflicts]
    if problem.fixed:
        data["fixed"] = [{"project": f.project, "marker": f.marker} for f in problem.fixed]
    return data


def marker_result_to_dict(result: MarkerResult) -> dict:
    """The JSON form of a MarkerResult: the assignment, its totals, the solver's account of its
    proof and the validator's verdict."""
    return {
        "status": result.status,
        "assignments": [{"project": a.project, "marker": a.marker, "overlap": a.overlap}
                        for a in result.assignments],
        "unassigned": list(result.unassigned),
        "loads": dict(result.loads),
        "fair_share": result.fair_share,
        "overlap_total": result.overlap_total,
        "load_cost": result.load_cost,
        "solve_seconds": round(result.solve_seconds, 4),
        "diagnosis": [{"reason": d.reason, "message": d.message, "projects": list(d.students)}
                      for d in result.diagnosis],
        "message": result.message,
        "solver": {"rounds": result.solver.rounds, "seconds": round(result.solver.solver_seconds, 4),
                   "proof": result.solver.proof},
        "validation": {"ok": result.verdict.ok if result.verdict else None,
                       "problems": list(result.verdict.problems) if result.verdict else []},
    }


def marker_result_to_json(result: MarkerResult) -> str:
    """result.json as text: one line per field, and one line per assignment or diagnosis, so a large
    result stays readable and diffable."""
    lines = []
    for key, value in marker_result_to_dict(result).items():
        if key in ("assignments", "diagnosis") and value:
            inner = ",\n  ".join(json.dumps(item, ensure_ascii=False) for item in value)
            lines.append(f' "{key}": [\n  {inner}\n ]')
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"
