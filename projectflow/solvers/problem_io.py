"""The JSON file format of ``projectflow allocate``: problem.json in, result.json out.

problem.json::

    {"students":    [{"id": "s1", "preferences": ["p3", "p7"]}],
     "projects":    [{"id": "p3", "supervisor": "t1", "capacity": 1}],
     "supervisors": [{"id": "t1", "capacity": 4, "preferences": ["s1", "s2"]}],
     "fixed":       [{"student": "s9", "project": "p12"}],
     "forbidden":   [{"student": "s1", "project": "p3"}]}

Supervisors' ``preferences``, ``fixed`` and ``forbidden`` are optional; ids are strings. Reading is
strict: a missing or unknown field, a wrong type, a negative capacity, an unknown id or a duplicate is
refused with a sentence naming the entry, so a typo never silently changes an allocation.

result.json::

    {"status": "optimal", "objective": "min-cost",
     "assignments": [{"student": "s1", "project": "p3", "supervisor": "t1", "rank": 1}],
     "unassigned": ["s5"], "profile": [640, 270, 79], "worst_rank": 3,
     "loads": {"t1": 4}, "solve_seconds": 0.03,
     "diagnosis": [{"reason": "competition", "message": "4 students ranked only ...", "students": [...]}],
     "rank_cost": 1517, "load_cost": 912000, "message": "",
     "solver": {"rounds": 1, "seconds": 0.02, "proof": "OR-Tools min-cost flow OPTIMAL in 1 round(s) ..."},
     "validation": {"ok": true, "problems": []}}

``status`` is "optimal" (proven), "stable", "infeasible" (fixed pairs overfill a capacity; see
``message``) or "error". ``rank`` is null for a fixed pair the student did not rank; such pairs are
left out of ``profile`` and ``rank_cost``. ``loads`` include fixed pairs. ``diagnosis`` explains every
unassigned student once; ``reason`` is one of no-preferences, only-forbidden, no-places, competition
(flow objectives), not-ranked and outranked (``stable``).
"""

from __future__ import annotations

import json
from typing import Any

from .problem import Pair, Problem, ProblemError, Project, Result, Student, Supervisor, check_problem

_FIELDS = {
    "students": ({"id", "preferences"}, set()),
    "projects": ({"id", "supervisor", "capacity"}, set()),
    "supervisors": ({"id", "capacity"}, {"preferences"}),
    "fixed": ({"student", "project"}, set()),
    "forbidden": ({"student", "project"}, set()),
}
_REQUIRED_LISTS = ("students", "projects", "supervisors")


def parse_problem(text: str | bytes, objective: str = "min-cost") -> Problem:
    """Read problem.json (text or bytes) into a Problem; raise ProblemError listing every fault."""
    return problem_from_dict(decode_json(text), objective)


def decode_json(text: str | bytes) -> Any:
    """JSON from text or UTF-8 bytes (a byte-order mark allowed), or ProblemError saying where it breaks."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ProblemError([f"The file is not UTF-8 text (byte {exc.start})."]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProblemError([f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."]) from None


def problem_from_dict(data: Any, objective: str = "min-cost") -> Problem:
    """Build a Problem from decoded JSON, checking its shape and then its meaning (check_problem)."""
    sections = read_sections(data, _FIELDS, _REQUIRED_LISTS,
                             _type_faults,
                             "The file must hold a JSON object with students, projects and supervisors.")
    problem = Problem(
        students=tuple(Student(e["id"], tuple(e["preferences"])) for e in sections["students"]),
        projects=tuple(Project(e["id"], e["supervisor"], e["capacity"]) for e in sections["projects"]),
        supervisors=tuple(Supervisor(e["id"], e["capacity"],
                                     tuple(e["preferences"]) if "preferences" in e else None)
                          for e in sections["supervisors"]),
        fixed=tuple(Pair(e["student"], e["project"]) for e in sections["fixed"]),
        forbidden=tuple(Pair(e["student"], e["project"]) for e in sections["forbidden"]),
    )
    faults = check_problem(problem, objective)
    if faults:
        raise ProblemError(faults)
    return problem


def read_sections(data: Any, fields: dict[str, tuple[set[str], set[str]]], required_lists: tuple[str, ...],
                  type_faults, not_an_object: str) -> dict[str, list[dict]]:
    """The lists of a problem file, each entry checked for missing, unknown and mistyped fields;
    ProblemError naming every faulty entry (``fields``: list name -> (required, optional) keys;
    ``type_faults(list name, entry, where)`` -> sentences)."""
    if not isinstance(data, dict):
        raise ProblemError([not_an_object])
    faults: list[str] = [f"Unknown top-level field {key!r} (expected: {', '.join(fields)})."
                         for key in data if key not in fields]
    sections: dict[str, list[dict]] = {}
    for key, (required, optional) in fields.items():
        sections[key] = []
        if key not in data:
            if key in required_lists:
                faults.append(f"The field {key!r} is missing.")
            continue
        if not isinstance(data[key], list):
            faults.append(f"The field {key!r} must be a list.")
            continue
        for i, entry in enumerate(data[key]):
            where = f"{key}[{i}]"
            if not isinstance(entry, dict):
                faults.append(f"{where} must be an object.")
                continue
            if isinstance(entry.get("id"), str):
                where += f" (id {entry['id']!r})"
            missing = sorted(required - entry.keys())
            unknown = sorted(entry.keys() - required - optional)
            if missing:
                faults.append(f"{where} is missing {', '.join(map(repr, missing))}.")
            if unknown:
                faults.append(f"{where} has unknown field(s) {', '.join(map(repr, unknown))}.")
            bad = type_faults(key, entry, where)
            faults.extend(bad)
            if not missing and not bad:
                sections[key].append(entry)
    if faults:
        raise ProblemError(faults)
    return sections


def _type_faults(key: str, entry: dict, where: str) -> list[str]:
    faults = []
    for name in ("id", "supervisor", "student", "project"):
        if name in entry and not isinstance(entry[name], str):
            faults.append(f"{where}: {name!r} must be a string, not {json.dumps(entry[name])}.")
    if "capacity" in entry:
        capacity = entry["capacity"]
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            faults.append(f"{where}: 'capacity' must be a whole number, not {json.dumps(capacity)}.")
        elif capacity < 0:
            faults.append(f"{where}: 'capacity' must not be negative ({capacity}).")
    if "preferences" in entry:
        prefs = entry["preferences"]
        if not isinstance(prefs, list) or not all(isinstance(x, str) for x in prefs):
            faults.append(f"{where}: 'preferences' must be a list of id strings.")
    return faults


def problem_to_dict(problem: Problem) -> dict:
    """The JSON form of a Problem (what parse_problem reads back)."""
    data: dict[str, Any] = {
        "students": [{"id": s.id, "preferences": list(s.preferences)} for s in problem.students],
        "projects": [{"id": p.id, "supervisor": p.supervisor, "capacity": p.capacity} for p in problem.projects],
        "supervisors": [{"id": t.id, "capacity": t.capacity,
                         **({"preferences": list(t.preferences)} if t.preferences is not None else {})}
                        for t in problem.supervisors],
    }
    if problem.fixed:
        data["fixed"] = [{"student": f.student, "project": f.project} for f in problem.fixed]
    if problem.forbidden:
        data["forbidden"] = [{"student": f.student, "project": f.project} for f in problem.forbidden]
    return data


def result_to_dict(result: Result) -> dict:
    """The JSON form of a Result: the fields of issue 4's result.json, then the costs, the solver's
    account of its proof and the validator's verdict."""
    return {
        "status": result.status,
        "objective": result.objective,
        "assignments": [{"student": a.student, "project": a.project, "supervisor": a.supervisor, "rank": a.rank}
                        for a in result.assignments],
        "unassigned": list(result.unassigned),
        "profile": list(result.profile),
        "worst_rank": result.worst_rank,
        "loads": dict(result.loads),
        "solve_seconds": round(result.solve_seconds, 4),
        "diagnosis": [{"reason": d.reason, "message": d.message, "students": list(d.students)}
                      for d in result.diagnosis],
        "rank_cost": result.rank_cost,
        "load_cost": result.load_cost,
        "message": result.message,
        "solver": {"rounds": result.solver.rounds, "seconds": round(result.solver.solver_seconds, 4),
                   "proof": result.solver.proof},
        "validation": {"ok": result.verdict.ok if result.verdict else None,
                       "problems": list(result.verdict.problems) if result.verdict else []},
    }


def result_to_json(result: Result) -> str:
    """result.json as text: one line per field, and one line per assignment or diagnosis, so a
    large result stays readable and diffable."""
    data = result_to_dict(result)
    lines = []
    for key, value in data.items():
        if key in ("assignments", "diagnosis") and value:
            inner = ",\n  ".join(json.dumps(item, ensure_ascii=False) for item in value)
            lines.append(f' "{key}": [\n  {inner}\n ]')
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"
