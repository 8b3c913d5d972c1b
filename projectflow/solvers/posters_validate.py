"""The independent check of a poster schedule: every hard rule, from the problem and the placements
alone, in code that shares nothing with the engine (``posters.py``) but the dataclasses.

``validate_schedule(problem, schedule) -> Verdict`` lists, as sentences, every poster placed twice
or neither placed nor listed unplaced; placements in an unknown session or room, on a board the room
does not have, or outside the session's slot grid; two posters on one board; a person scheduled in a
session they are unavailable in; a person in two places at once (across sessions too); an assessor
over the per-session maximum; a room holding more posters than boards; and claimed figures (status,
assessor-days, "if needed" use) that the placements do not bear out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from .posters import Problem, Schedule
from .problem import Verdict


def validate_schedule(problem: Problem, schedule: Schedule) -> Verdict:
    found: list[str] = []
    posters = {p.id: p for p in problem.posters}
    sessions = {s.id: s for s in problem.sessions}
    slot = timedelta(minutes=problem.slot_minutes)
    away = {(u.person, u.session) for u in problem.unavailable}

    seen = Counter(pl.poster for pl in schedule.placements)
    listed = Counter(u.poster for u in schedule.unplaced)
    for ident in sorted(set(seen) | set(listed)):
        if ident not in posters:
            found.append(f"Poster {ident!r} is not in the problem.")
    for p in problem.posters:
        if seen[p.id] > 1:
            found.append(f"Poster {p.id!r} is placed {seen[p.id]} times.")
        if seen[p.id] and listed[p.id]:
            found.append(f"Poster {p.id!r} is both placed and listed as unplaced.")
        if not seen[p.id] and not listed[p.id]:
            found.append(f"Poster {p.id!r} is neither placed nor listed as unplaced.")
        if listed[p.id] > 1:
            found.append(f"Poster {p.id!r} is listed as unplaced {listed[p.id]} times.")
    if schedule.status == "complete" and schedule.unplaced:
        found.append(f"The schedule says it is complete, but {len(schedule.unplaced)} poster(s) are unplaced.")
    if schedule.status == "partial" and not schedule.unplaced:
        found.append("The schedule says it is partial, but no poster is unplaced.")

    boards_used: Counter = Counter()
    in_room: Counter = Counter()
    times: dict[str, list] = defaultdict(list)  # person -> [(start, end, poster)]
    per_session: Counter = Counter()
    days: set = set()
    if_needed = {(u.person, u.session) for u in problem.if_needed}
    used_if_needed: set = set()
    for pl in schedule.placements:
        poster, session = posters.get(pl.poster), sessions.get(pl.session)
        if session is None:
            found.append(f"Poster {pl.poster!r} is placed in an unknown session {pl.session!r}.")
            continue
        rooms = {r.id: r.boards for r in session.rooms}
        if pl.room not in rooms:
            found.append(f"Poster {pl.poster!r} is placed in room {pl.room!r}, which session {pl.session!r} "
                         f"does not have.")
        elif not (isinstance(pl.board, int) and 1 <= pl.board <= rooms[pl.room]):
            found.append(f"Poster {pl.poster!r} is on board {pl.board!r} of room {pl.room!r} in {pl.session!r}, "
                         f"which has boards 1 to {rooms[pl.room]}.")
        boards_used[pl.session, pl.room, pl.board] += 1
        in_room[pl.session, pl.room] += 1
        offset = pl.start - session.start
        if offset < timedelta(0) or pl.end > session.end or offset % slot or pl.end - pl.start != slot:
            found.append(f"Poster {pl.poster!r} is assessed {pl.start.isoformat()} to {pl.end.isoformat()}, which is "
                         f"not a {problem.slot_minutes}-minute slot of session {pl.session!r} "
                         f"({session.start.isoformat()} to {session.end.isoformat()}).")
        if poster is None:
            continue
        people = list(poster.assessors) + ([poster.student] if poster.student is not None else [])
        for person in people:
            if (person, pl.session) in away:
                found.append(f"Poster {pl.poster!r} is in session {pl.session!r}, where {person!r} is unavailable.")
            if (person, pl.session) in if_needed:
                used_if_needed.add((person, pl.session))
            times[person].append((pl.start, pl.end, pl.poster))
        for assessor in poster.assessors:
            per_session[assessor, pl.session] += 1
            days.add((assessor, session.start.date()))

    for (session, room, board), n in sorted(boards_used.items(), key=str):
        if n > 1:
            found.append(f"Board {board} of room {room!r} in session {session!r} holds {n} posters.")
    for (session, room), n in sorted(in_room.items()):
        boards = {r.id: r.boards for r in sessions[session].rooms}.get(room)
        if boards is not None and n > boards:
            found.append(f"Room {room!r} in session {session!r} holds {n} posters but has {boards} boards.")
    for person in sorted(times):
        booked = sorted(times[person])
        for (s1, e1, p1), (s2, e2, p2) in zip(booked, booked[1:]):
            if s2 < e1:
                found.append(f"{person!r} is in two places at once: posters {p1!r} and {p2!r} "
                             f"({s2.isoformat()}).")
    for (assessor, session), n in sorted(per_session.items()):
        if n > problem.max_per_assessor_per_session:
            found.append(f"{assessor!r} assesses {n} posters in session {session!r}, more than the "
                         f"{problem.max_per_assessor_per_session} allowed.")

    if schedule.assessor_days != len(days):
        found.append(f"The schedule claims {schedule.assessor_days} assessor-days; its placements make {len(days)}.")
    if schedule.if_needed_used != len(used_if_needed):
        found.append(f"The schedule claims {schedule.if_needed_used} \"if needed\" session(s) used; its placements "
                     f"use {len(used_if_needed)}.")
    if schedule.status == "complete" and schedule.lower_bound > len(days):
        found.append(f"The lower bound {schedule.lower_bound} exceeds the {len(days)} assessor-days achieved.")
    return Verdict(ok=not found, problems=tuple(found))
