"""The JSON file format of ``projectflow results``: marks.json in, results.json out.

marks.json::

    {"rules": {"components": [{"id": "report", "weight": 75}, {"id": "poster", "weight": 15},
                              {"id": "independence", "weight": 10}],
               "agree_within": 5, "third_marker_above": 10,
               "boundaries": [70, 60, 50, 40],
               "classes": [{"name": "Distinction", "from": 70}, {"name": "Merit", "from": 60},
                           {"name": "Pass", "from": 50}], "fail_name": "Fail",
               "discretion_below": 2.5, "moderation_near_below": 2,
               "penalty": {"preset": "per-day", "points": 5, "days": 5}},
     "students": [{"id": "s1", "components": {
         "report": {"marks": [67, 69], "reconciled": null, "third": null,
                    "late_working_days": 0, "extension": false},
         "poster": {"marks": [65, 66]}, "independence": {"marks": [70]}}}]}

Every field of ``rules`` is required. ``penalty.preset`` is ``per-day`` (with ``points`` and ``days``),
``ucl``, ``cap`` (with ``days``) or ``none``; ``ucl`` and ``cap`` take an optional ``pass_mark``
(default: the lowest class's ``from``). A component's ``marks`` are required; ``reconciled`` and
``third`` (default null), ``late_working_days`` (default 0) and ``extension`` (default false) are
optional. A component still awaiting its marks is left out. Reading is strict: a missing, unknown,
repeated or mistyped field, a number that is not a mark, an unknown component or a reconciled/third
mark outside the two marks' range is refused, every fault named with its student and component.
Numbers are read as decimals, never as binary floats.

results.json, one line per student::

    {"students": [
     {"id": "s1", "components": {"report": {"state": "agreed", "route": "automatic", "agreed": 68.0,
      "penalty": 0.0, "mark": 68.0}, ...}, "final": 67.83, "classification": "Merit",
      "flags": ["board_discretion"]}
    ]}

A component not agreed has only its ``state``; ``final`` and ``classification`` are null (and
``flags`` empty) until every component is agreed. Marks are written as JSON numbers, exact to two
decimals.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from .engine import (ClassBand, ComponentMarks, ComponentRule, Penalty, Rules, ResultsError, StudentMarks,
                     StudentResult, check_rules, check_student)

_RULE_FIELDS = ("components", "agree_within", "third_marker_above", "boundaries", "classes", "fail_name",
                "discretion_below", "moderation_near_below", "penalty")
_PENALTY_FIELDS = {"preset", "points", "days", "pass_mark"}
_COMPONENT_FIELDS = {"marks", "reconciled", "third", "late_working_days", "extension"}


class _Object(dict):
    """A JSON object that remembers the keys it held more than once (json keeps only the last)."""

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        obj.repeated = tuple(sorted({k for k, _ in pairs if k in seen or seen.add(k)}))
    return obj


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def decode(text: str | bytes) -> Any:
    """JSON from text or UTF-8 bytes (a byte-order mark allowed), numbers with a fraction as Decimal;
    ResultsError saying where it breaks."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ResultsError([f"The file is not UTF-8 text (byte {exc.start})."]) from None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise ResultsError([f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."]) from None
    except ValueError as exc:  # NaN or Infinity
        raise ResultsError([f"Not valid JSON: {exc}."]) from None


def parse_marks(text: str | bytes) -> tuple[Rules, tuple[StudentMarks, ...]]:
    """Read marks.json (text or bytes) into the rules and the students' marks; raise ResultsError
    listing every fault (the rules' and every student's, each named)."""
    return marks_from_dict(decode(text))


def marks_from_dict(data: Any) -> tuple[Rules, tuple[StudentMarks, ...]]:
    """The rules and students of decoded marks.json, checking the shape, then the meaning
    (:func:`check_rules`, :func:`check_student`)."""
    if not isinstance(data, dict):
        raise ResultsError(["The file must hold a JSON object with 'rules' and 'students'."])
    faults = _object_faults(data, "The file", {"rules", "students"}, {"rules", "students"})
    rules, rule_faults = _read_rules(data.get("rules"))
    faults += rule_faults
    students: list[StudentMarks] = []
    raw = data.get("students")
    if "students" in data and not isinstance(raw, list):
        faults.append("'students' must be a list.")
    ids: dict[str, int] = {}
    for i, entry in enumerate(raw if isinstance(raw, list) else []):
        student, mistyped, student_faults = _read_student(entry, i)
        faults += student_faults
        if student is None:
            continue
        ids[student.id] = ids.get(student.id, 0) + 1
        if ids[student.id] == 2:
            faults.append(f"student {student.id!r} is listed more than once.")
        students.append(student)
        # Without the rules' components, check the marks but not the component names.
        faults += check_student(rules or _any_components(student), student)
        if rules is not None and mistyped:
            # A component whose marks did not read is still reported when the rules do not know its
            # name: check the names alone, each with one valid mark (0) so no other fault is found.
            names_only = StudentMarks(student.id, dict.fromkeys(mistyped, ComponentMarks((Decimal(0),))))
            faults += check_student(rules, names_only)
    if faults:
        raise ResultsError(faults)
    return rules, tuple(students)


def _any_components(student: StudentMarks) -> Rules:
    zero = Decimal(0)
    return Rules(tuple(ComponentRule(cid, Decimal(1)) for cid in student.components), zero, zero, (), (), "",
                 zero, zero)


def _object_faults(obj: dict, where: str, required: set[str], allowed: set[str]) -> list[str]:
    faults = [f"{where} is missing {name!r}." for name in sorted(required - obj.keys())]
    faults += [f"{where} has an unknown field {name!r}." for name in sorted(obj.keys() - allowed)]
    faults += [f"{where} has {name!r} more than once." for name in getattr(obj, "repeated", ())]
    return faults


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _number(value: Any, what: str, faults: list[str]) -> Decimal | None:
    if not _is_number(value):
        faults.append(f"{what} must be a number, not {_show(value)}.")
        return None
    return Decimal(value)


def _whole(value: Any, what: str, faults: list[str]) -> int | None:
    if not isinstance(value, int) or isinstance(value, bool):
        faults.append(f"{what} must be a whole number, not {_show(value)}.")
        return None
    return value


def _show(value: Any) -> str:
    """A value as the file spelled it (near enough: a number read as a decimal keeps its digits)."""
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, default=str)


def _read_rules(raw: Any) -> tuple[Rules | None, list[str]]:
    """The rules and their faults. When only some fields are wrong the rules come back anyway (their
    numbers zero), so that every student's components can still be checked against them; when the
    components themselves cannot be read, None."""
    if raw is None:
        return None, []  # reported as missing by the caller
    if not isinstance(raw, dict):
        return None, ["rules: must be an object."]
    faults = _object_faults(raw, "rules", set(_RULE_FIELDS), set(_RULE_FIELDS))
    components = [ComponentRule(e["id"], e["weight"] if e["weight"] is not None else Decimal(1))
                  for e in _entries(raw, "components", ("id", "weight"), faults)]
    classes = [ClassBand(e["name"], e["from"]) for e in _entries(raw, "classes", ("name", "from"), faults)
               if e["from"] is not None]
    numbers = {name: _number(raw[name], f"rules: {name!r}", faults) for name in
               ("agree_within", "third_marker_above", "discretion_below", "moderation_near_below") if name in raw}
    boundaries = []
    if isinstance(raw.get("boundaries"), list):
        boundaries = [b for b in (_number(b, "rules: a boundary", faults) for b in raw["boundaries"]) if b is not None]
    elif "boundaries" in raw:
        faults.append("rules: 'boundaries' must be a list of numbers.")
    if "fail_name" in raw and not isinstance(raw["fail_name"], str):
        faults.append(f"rules: 'fail_name' must be a string, not {_show(raw['fail_name'])}.")
    penalty = _read_penalty(raw["penalty"], faults) if "penalty" in raw else None
    if not isinstance(raw.get("components"), list):
        return None, faults
    if faults:
        zero = Decimal(0)
        return Rules(tuple(components), zero, zero, (), (), "", zero, zero), faults
    rules = Rules(tuple(components), numbers["agree_within"], numbers["third_marker_above"], tuple(boundaries),
                  tuple(classes), raw["fail_name"], numbers["discretion_below"], numbers["moderation_near_below"],
                  penalty)
    return rules, check_rules(rules)


def _entries(raw: dict, key: str, fields: tuple[str, str], faults: list[str]) -> list[dict]:
    """The entries of the rules' list ``key`` (components or classes), each an object of a string
    ``fields[0]`` and a number ``fields[1]`` (None when missing or mistyped: a fault is recorded)."""
    if key not in raw:
        return []
    if not isinstance(raw[key], list):
        faults.append(f"rules: {key!r} must be a list.")
        return []
    name, number = fields
    entries = []
    for i, entry in enumerate(raw[key]):
        where = f"rules: {key}[{i}]"
        if not isinstance(entry, dict):
            faults.append(f"{where} must be an object.")
            continue
        faults += _object_faults(entry, where, set(fields), set(fields))
        if not isinstance(entry.get(name), str):
            if name in entry:
                faults.append(f"{where}: {name!r} must be a string, not {_show(entry[name])}.")
            continue
        value = (_number(entry[number], f"rules: {key}[{i}] ({entry[name]!r}): {number!r}", faults)
                 if number in entry else None)
        entries.append({name: entry[name], number: value})
    return entries


def _read_penalty(raw: Any, faults: list[str]) -> Penalty | None:
    if not isinstance(raw, dict):
        faults.append("rules: 'penalty' must be an object.")
        return None
    before = len(faults)
    faults += _object_faults(raw, "rules: penalty", {"preset"}, _PENALTY_FIELDS)
    preset = raw.get("preset")
    if "preset" in raw and not isinstance(preset, str):
        faults.append(f"rules: penalty 'preset' must be a string, not {_show(preset)}.")
    points = _number(raw["points"], "rules: penalty 'points'", faults) if "points" in raw else None
    days = _whole(raw["days"], "rules: penalty 'days'", faults) if "days" in raw else None
    pass_mark = _number(raw["pass_mark"], "rules: penalty 'pass_mark'", faults) if "pass_mark" in raw else None
    if len(faults) > before:
        return None
    return Penalty(preset, points, days, pass_mark)


def _read_student(entry: Any, i: int) -> tuple[StudentMarks | None, list[str], list[str]]:
    """The student with the components that read, the names of those that did not, and the faults."""
    if not isinstance(entry, dict):
        return None, [], [f"students[{i}] must be an object."]
    if not isinstance(entry.get("id"), str) or not entry["id"]:
        return None, [], [f"students[{i}]: 'id' must be a non-empty string, not {_show(entry.get('id'))}."]
    sid = entry["id"]
    faults = _object_faults(entry, f"student {sid!r}", {"id", "components"}, {"id", "components"})
    raw = entry.get("components")
    if "components" in entry and not isinstance(raw, dict):
        faults.append(f"student {sid!r}: 'components' must be an object (component id -> its marks).")
    components: dict[str, ComponentMarks] = {}
    mistyped: list[str] = []
    for name in getattr(raw, "repeated", ()):
        faults.append(f"student {sid!r}, component {name!r}: given more than once.")
    for cid, given in (raw.items() if isinstance(raw, dict) else ()):
        where = f"student {sid!r}, component {cid!r}"
        if not isinstance(given, dict):
            faults.append(f"{where}: must be an object with 'marks'.")
            mistyped.append(cid)
            continue
        before = len(faults)
        faults += _object_faults(given, where, {"marks"}, _COMPONENT_FIELDS)
        marks = given.get("marks", [])
        if not isinstance(marks, list):
            faults.append(f"{where}: 'marks' must be a list of one or two numbers, not {_show(marks)}.")
            marks = []
        marks = [_number(m, f"{where}: a mark", faults) for m in marks]
        extra = {}
        for name in ("reconciled", "third"):
            if given.get(name) is not None:
                extra[name] = _number(given[name], f"{where}: {name!r}", faults)
        late = _whole(given.get("late_working_days", 0), f"{where}: 'late_working_days'", faults)
        extension = given.get("extension", False)
        if not isinstance(extension, bool):
            faults.append(f"{where}: 'extension' must be true or false, not {_show(extension)}.")
        if len(faults) == before:
            components[cid] = ComponentMarks(tuple(marks), late_working_days=late, extension=extension, **extra)
        else:
            mistyped.append(cid)
    return StudentMarks(sid, components), mistyped, faults


# --- Writing ------------------------------------------------------------------------------------


def _number_out(value: Decimal | None) -> float | None:
    # A two-decimal Decimal converts to the float whose shortest repr is those same digits.
    return None if value is None else float(value)


def result_to_dict(result: StudentResult) -> dict:
    """The JSON form of one student's result."""
    components = {}
    for o in result.components:
        entry: dict[str, Any] = {"state": o.state}
        if o.route is not None:
            entry.update(route=o.route, agreed=_number_out(o.agreed), penalty=_number_out(o.penalty),
                         mark=_number_out(o.mark))
        components[o.component] = entry
    return {"id": result.id, "components": components, "final": _number_out(result.final),
            "classification": result.classification, "flags": list(result.flags)}


def results_to_json(results: tuple[StudentResult, ...] | list[StudentResult]) -> str:
    """results.json as text, one line per student so that a large file stays readable and diffable."""
    if not results:
        return '{"students": []}\n'
    lines = ",\n ".join(json.dumps(result_to_dict(r), ensure_ascii=False) for r in results)
    return '{"students": [\n ' + lines + "\n]}\n"


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def rules_to_dict(rules: Rules) -> dict:
    """The JSON form of Rules (what :func:`marks_from_dict` reads back)."""
    penalty: dict[str, Any] = {"preset": rules.penalty.preset}
    for name in ("points", "days", "pass_mark"):
        value = getattr(rules.penalty, name)
        if value is not None:
            penalty[name] = value if isinstance(value, int) else _json_number(value)
    return {"components": [{"id": c.id, "weight": _json_number(c.weight)} for c in rules.components],
            "agree_within": _json_number(rules.agree_within),
            "third_marker_above": _json_number(rules.third_marker_above),
            "boundaries": [_json_number(b) for b in rules.boundaries],
            "classes": [{"name": c.name, "from": _json_number(c.start)} for c in rules.classes],
            "fail_name": rules.fail_name, "discretion_below": _json_number(rules.discretion_below),
            "moderation_near_below": _json_number(rules.moderation_near_below), "penalty": penalty}


def marks_to_dict(rules: Rules, students: tuple[StudentMarks, ...] | list[StudentMarks]) -> dict:
    """The JSON form of a marks file (what :func:`parse_marks` reads back): an app export, or a
    generated benchmark."""
    def component(m: ComponentMarks) -> dict:
        entry: dict[str, Any] = {"marks": [_json_number(v) for v in m.marks]}
        for name in ("reconciled", "third"):
            if getattr(m, name) is not None:
                entry[name] = _json_number(getattr(m, name))
        if m.late_working_days:
            entry["late_working_days"] = m.late_working_days
        if m.extension:
            entry["extension"] = True
        return entry

    return {"rules": rules_to_dict(rules),
            "students": [{"id": s.id, "components": {cid: component(m) for cid, m in s.components.items()}}
                         for s in students]}
