"""The JSON file format of ``projectflow schedule-posters``: posters.json in, schedule.json out.

posters.json::

    {"slot_minutes": 15, "max_per_assessor_per_session": 8,
     "sessions": [{"id": "S1", "start": "2026-09-14T10:00:00+01:00", "end": "2026-09-14T12:00:00+01:00",
                   "rooms": [{"id": "R1", "boards": 20}]}],
     "posters": [{"id": "P1", "assessors": ["t1", "t7"], "student": "s1"}],
     "unavailable": [{"person": "t1", "session": "S1"}],
     "if_needed":   [{"person": "t7", "session": "S2"}]}

``slot_minutes`` (default 15), ``max_per_assessor_per_session`` (default 8), a poster's ``student``,
``unavailable`` and ``if_needed`` are optional; ids are strings; times are ISO 8601 with a UTC offset.
Reading is strict, like ``problem_io``: a missing or unknown field, a wrong type, a time without an
offset, an unknown id, a duplicate, overlapping sessions or a person both unavailable and "if needed"
is refused with a sentence naming the entry.

schedule.json::

    {"status": "complete",
     "placements": [{"poster": "P1", "session": "S1", "room": "R1", "board": 3,
                     "start": "2026-09-14T10:15:00+01:00", "end": "2026-09-14T10:30:00+01:00"}],
     "unplaced": [{"poster": "P9", "reason": "Its assessors t1 and t7 share no session: ..."}],
     "assessor_days": 412, "lower_bound": 400, "if_needed_used": 3, "solve_seconds": 7.9,
     "assessor_sessions": 530, "idle_slots": 12, "moved": null,
     "warnings": ["120 posters but only 100 boards in all sessions: at least 20 cannot be placed."],
     "message": "", "validation": {"ok": true, "problems": []}}

``status`` is "complete" (every poster placed), "partial" (see ``unplaced``) or "error" (the
validator refused the schedule; see ``message`` and ``validation``). ``lower_bound`` is
``posters.lower_bound``: no complete schedule has fewer assessor-days. ``moved`` counts the previous
placements (``--previous``) not kept exactly, and is null without them. Placement times are in the
session's own UTC offset.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .posters import PersonSession, Placement, Poster, Problem, Room, Schedule, Session, check_problem
from .problem import ProblemError
from .problem_io import decode_json, read_sections

_FIELDS = {
    "sessions": ({"id", "start", "end", "rooms"}, set()),
    "posters": ({"id", "assessors"}, {"student"}),
    "unavailable": ({"person", "session"}, set()),
    "if_needed": ({"person", "session"}, set()),
}
_SETTINGS = {"slot_minutes": 15, "max_per_assessor_per_session": 8}
_REQUIRED_LISTS = ("sessions", "posters")
_PLACEMENT = ({"poster", "session", "room", "board", "start", "end"}, set())


def parse_poster_problem(text: str | bytes) -> Problem:
    """Read posters.json (text or bytes) into a Problem; raise ProblemError listing every fault."""
    return poster_problem_from_dict(decode_json(text))


def poster_problem_from_dict(data: Any) -> Problem:
    """Build a Problem from decoded JSON, checking its shape and then its meaning (check_problem)."""
    faults: list[str] = []
    settings = dict(_SETTINGS)
    if isinstance(data, dict):
        data = dict(data)
        for name in _SETTINGS:
            if name in data:
                value = data.pop(name)
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    faults.append(f"{name!r} must be a whole number of at least 1, not {json.dumps(value)}.")
                else:
                    settings[name] = value
    try:
        sections = read_sections(data, _FIELDS, _REQUIRED_LISTS, _type_faults,
                                 "The file must hold a JSON object with sessions and posters.")
    except ProblemError as exc:
        raise ProblemError(faults + list(exc.problems)) from None
    if faults:
        raise ProblemError(faults)
    problem = Problem(
        sessions=tuple(Session(e["id"], _time(e["start"]), _time(e["end"]),
                               tuple(Room(r["id"], r["boards"]) for r in e["rooms"]))
                       for e in sections["sessions"]),
        posters=tuple(Poster(e["id"], tuple(e["assessors"]), e.get("student")) for e in sections["posters"]),
        unavailable=tuple(PersonSession(e["person"], e["session"]) for e in sections["unavailable"]),
        if_needed=tuple(PersonSession(e["person"], e["session"]) for e in sections["if_needed"]),
        **settings,
    )
    faults = check_problem(problem)
    if faults:
        raise ProblemError(faults)
    return problem


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _time_fault(value: Any, where: str, name: str) -> str | None:
    if not isinstance(value, str):
        return f"{where}: {name!r} must be a date and time as text, not {json.dumps(value)}."
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return f"{where}: {name!r} is not an ISO 8601 date and time ({json.dumps(value)})."
    if moment.utcoffset() is None:
        return f"{where}: {name!r} needs a UTC offset, e.g. 2026-09-14T10:00:00+01:00 (got {json.dumps(value)})."
    return None


def _type_faults(key: str, entry: dict, where: str) -> list[str]:
    faults = []
    for name in ("id", "person", "session", "student", "poster", "room"):
        if name in entry and not isinstance(entry[name], str):
            faults.append(f"{where}: {name!r} must be a string, not {json.dumps(entry[name])}.")
    for name in ("start", "end"):
        if name in entry:
            fault = _time_fault(entry[name], where, name)
            if fault:
                faults.append(fault)
    if "assessors" in entry:
        value = entry["assessors"]
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            faults.append(f"{where}: 'assessors' must be a list of strings.")
        elif not value:
            faults.append(f"{where}: 'assessors' must name at least one person.")
    if "board" in entry:
        board = entry["board"]
        if isinstance(board, bool) or not isinstance(board, int):
            faults.append(f"{where}: 'board' must be a whole number, not {json.dumps(board)}.")
    if "rooms" in entry:
        rooms = entry["rooms"]
        if not isinstance(rooms, list):
            faults.append(f"{where}: 'rooms' must be a list.")
        else:
            for j, room in enumerate(rooms):
                here = f"{where}, rooms[{j}]"
                if not isinstance(room, dict):
                    faults.append(f"{here} must be an object.")
                    continue
                if isinstance(room.get("id"), str):
                    here += f" (id {room['id']!r})"
                missing = sorted({"id", "boards"} - room.keys())
                unknown = sorted(room.keys() - {"id", "boards"})
                if missing:
                    faults.append(f"{here} is missing {', '.join(map(repr, missing))}.")
                if unknown:
                    faults.append(f"{here} has unknown field(s) {', '.join(map(repr, unknown))}.")
                if "id" in room and not isinstance(room["id"], str):
                    faults.append(f"{here}: 'id' must be a string, not {json.dumps(room['id'])}.")
                if "boards" in room:
                    boards = room["boards"]
                    if isinstance(boards, bool) or not isinstance(boards, int):
                        faults.append(f"{here}: 'boards' must be a whole number, not {json.dumps(boards)}.")
                    elif boards < 0:
                        faults.append(f"{here}: 'boards' must not be negative ({boards}).")
    return faults


def parse_placements(text: str | bytes) -> tuple[Placement, ...]:
    """The placements of an earlier schedule.json (its other fields are ignored), as ``previous``."""
    data = decode_json(text)
    if not isinstance(data, dict) or "placements" not in data:
        raise ProblemError(["The previous schedule must be a JSON object with 'placements'."])
    sections = read_sections({"placements": data["placements"]}, {"placements": _PLACEMENT}, ("placements",),
                             _type_faults, "")
    return tuple(Placement(e["poster"], e["session"], e["room"], e["board"], _time(e["start"]), _time(e["end"]))
                 for e in sections["placements"])


def poster_problem_to_dict(problem: Problem) -> dict:
    """The JSON form of a Problem (what parse_poster_problem reads back)."""
    data: dict[str, Any] = {
        "slot_minutes": problem.slot_minutes,
        "max_per_assessor_per_session": problem.max_per_assessor_per_session,
        "sessions": [{"id": s.id, "start": s.start.isoformat(), "end": s.end.isoformat(),
                      "rooms": [{"id": r.id, "boards": r.boards} for r in s.rooms]} for s in problem.sessions],
        "posters": [{"id": p.id, "assessors": list(p.assessors), **({"student": p.student} if p.student else {})}
                    for p in problem.posters],
    }
    if problem.unavailable:
        data["unavailable"] = [{"person": u.person, "session": u.session} for u in problem.unavailable]
    if problem.if_needed:
        data["if_needed"] = [{"person": u.person, "session": u.session} for u in problem.if_needed]
    return data


def schedule_to_dict(schedule: Schedule) -> dict:
    """The JSON form of a Schedule: the fields of issue 13's schedule.json, then the secondary figures,
    the pre-check's warnings and the validator's verdict."""
    return {
        "status": schedule.status,
        "placements": [{"poster": pl.poster, "session": pl.session, "room": pl.room, "board": pl.board,
                        "start": pl.start.isoformat(), "end": pl.end.isoformat()} for pl in schedule.placements],
        "unplaced": [{"poster": u.poster, "reason": u.reason} for u in schedule.unplaced],
        "assessor_days": schedule.assessor_days,
        "lower_bound": schedule.lower_bound,
        "if_needed_used": schedule.if_needed_used,
        "solve_seconds": round(schedule.solve_seconds, 3),
        "assessor_sessions": schedule.assessor_sessions,
        "idle_slots": schedule.idle_slots,
        "moved": schedule.moved,
        "warnings": list(schedule.warnings),
        "message": schedule.message,
        "validation": {"ok": schedule.verdict.ok if schedule.verdict else None,
                       "problems": list(schedule.verdict.problems) if schedule.verdict else []},
    }


def schedule_to_json(schedule: Schedule) -> str:
    """schedule.json as text: one line per field, and one line per placement or unplaced poster."""
    lines = []
    for key, value in schedule_to_dict(schedule).items():
        if key in ("placements", "unplaced", "warnings") and value:
            inner = ",\n  ".join(json.dumps(item, ensure_ascii=False) for item in value)
            lines.append(f' "{key}": [\n  {inner}\n ]')
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"
