"""How fast and how good the poster scheduler is, against a one-stage posters-to-sessions CP-SAT model.

``python -m bench.posters [--posters 1000] [--assessors 200] [--hours 2] [--seeds 1 2 3] [--limits 2 10 60]``
builds seeded instances (see ``make_poster_problem``) and reports, per seed: the pre-check's time
and what it rules out; for each time limit, the scheduler's wall time (validator included), posters
placed, the validator's verdict, assessor-days against the lower bound (availability-aware, and the
issue's simple one), "if needed" use and idle slots; and, at the largest limit, the one-stage
posters-to-sessions CP-SAT model given the same time.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime, time as clock, timedelta, timezone

import numpy as np
from ortools.sat.python import cp_model

from projectflow.solvers.posters import (PersonSession, Poster, Problem, Room, Session, lower_bound, precheck,
                                         schedule_posters, session_day, slot_count)

TZ = timezone(timedelta(hours=1))


def make_poster_problem(n_posters: int = 1000, n_assessors: int = 200, seed: int = 1, *, days: int = 4,
                        sessions_per_day: int = 2, hours: int = 2, rooms: int = 5, boards: int = 30,
                        available: float = 0.7, if_needed: float = 0.1, student_away: float = 0.05) -> Problem:
    """A seeded instance: ``days`` days of ``sessions_per_day`` sessions of ``hours`` hours (10:00 and
    14:00), each with ``rooms`` rooms of ``boards`` boards; 15-minute slots, at most 8 posters per
    assessor per session. Each poster has a supervisor (every assessor supervises about the same
    number) and a second marker drawn uniformly from the others, and a student. Each assessor is
    available in each session with probability ``available``; of those sessions, a share
    ``if_needed`` / ``available`` are "if needed" (so ``if_needed`` of all pairs). A share
    ``student_away`` of students cannot come to one session."""
    rng = np.random.default_rng(seed)
    sessions = []
    for d in range(days):
        day = date(2026, 9, 14) + timedelta(days=d)
        for k in range(sessions_per_day):
            start = datetime.combine(day, clock(10 + 4 * k), TZ)
            sessions.append(Session(f"D{d + 1}{'AMPM'[2 * k:2 * k + 2] if sessions_per_day == 2 else k + 1}",
                                    start, start + timedelta(hours=hours),
                                    tuple(Room(f"R{r + 1}", boards) for r in range(rooms))))
    people = [f"t{k}" for k in range(n_assessors)]
    supervisors = np.arange(n_posters) % n_assessors
    rng.shuffle(supervisors)
    posters = []
    for i in range(n_posters):
        sup = int(supervisors[i])
        second = int((sup + rng.integers(1, n_assessors)) % n_assessors)
        posters.append(Poster(f"P{i + 1}", (people[sup], people[second]), f"s{i + 1}"))
    unavailable, maybe = [], []
    for person in people:
        for s in sessions:
            u = rng.random()
            if u >= available:
                unavailable.append(PersonSession(person, s.id))
            elif u < if_needed:
                maybe.append(PersonSession(person, s.id))
    for p in posters:
        if rng.random() < student_away:
            unavailable.append(PersonSession(p.student, sessions[int(rng.integers(len(sessions)))].id))
    return Problem(tuple(sessions), tuple(posters), 15, 8, tuple(unavailable), tuple(maybe))


def one_stage(problem: Problem, seconds: float, seed: int = 1, workers: int = 2) -> dict:
    """The baseline: one CP-SAT model, posters to sessions only (no slots, no rooms), with the same
    priorities in one weighted objective: placed, then "if needed" pairs used, then assessor-days,
    then assessor-sessions, each weight larger than everything below it can add up to."""
    started = time.perf_counter()
    away = {(u.person, u.session) for u in problem.unavailable}
    maybe = {(u.person, u.session) for u in problem.if_needed}
    sessions = [s for s in problem.sessions if slot_count(s, problem.slot_minutes) and sum(r.boards for r in s.rooms)]
    m = cp_model.CpModel()
    x = {}
    for p in problem.posters:
        people = list(p.assessors) + ([p.student] if p.student else [])
        row = [x.setdefault((p.id, s.id), m.NewBoolVar("")) for s in sessions
               if not any((q, s.id) in away for q in people)]
        if row:
            m.AddAtMostOne(row)
    assessors = {a for p in problem.posters for a in p.assessors}
    y, z = {}, {}
    for s in sessions:
        m.Add(sum(v for (p, sid), v in x.items() if sid == s.id) <= sum(r.boards for r in s.rooms))
    by = {}
    for p in problem.posters:
        people = list(p.assessors) + ([p.student] if p.student else [])
        for s in sessions:
            if (p.id, s.id) in x:
                for q in people:
                    by.setdefault((q, s.id), []).append(x[p.id, s.id])
    for (q, sid), vs in by.items():
        s = next(s for s in sessions if s.id == sid)
        slots = slot_count(s, problem.slot_minutes)
        limit = min(slots, problem.max_per_assessor_per_session) if q in assessors else slots
        if q in assessors or (q, sid) in maybe:
            v = y[q, sid] = m.NewBoolVar("")
            for xv in vs:
                m.AddImplication(xv, v)
            m.Add(sum(vs) <= limit * v)
        elif len(vs) > limit:
            m.Add(sum(vs) <= limit)
    for (q, sid), v in y.items():
        if q in assessors:
            d = session_day(next(s for s in sessions if s.id == sid))
            w = z.setdefault((q, d), m.NewBoolVar(""))
            m.AddImplication(v, w)
    presence = [v for (q, _), v in y.items() if q in assessors]
    w_sessions = 1
    w_days = len(presence) + 1
    w_maybe = w_days * (len(z) + 1)
    w_placed = w_maybe * (len(maybe) + 1)
    m.Minimize(w_placed * (len(problem.posters) - sum(x.values()))
               + w_maybe * sum(v for k, v in y.items() if k in maybe)
               + w_days * sum(z.values()) + w_sessions * sum(presence))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = seconds
    status = solver.Solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return {"status": solver.StatusName(status), "seconds": time.perf_counter() - started}
    chosen = {(p, s) for (p, s), v in x.items() if solver.BooleanValue(v)}
    by_id = {p.id: p for p in problem.posters}
    day = {s.id: session_day(s) for s in sessions}
    days = {(a, day[s]) for p, s in chosen for a in by_id[p].assessors}
    used = {(q, s) for p, s in chosen for q in list(by_id[p].assessors) + [by_id[p].student] if (q, s) in maybe}
    return {"status": solver.StatusName(status), "seconds": time.perf_counter() - started, "placed": len(chosen),
            "days": len(days), "if_needed": len(used)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posters", type=int, default=1000)
    parser.add_argument("--assessors", type=int, default=200)
    parser.add_argument("--hours", type=int, default=2, help="length of a session (default 2: 8 slots of 15 min)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--limits", type=float, nargs="+", default=[2.0, 10.0, 60.0],
                        help="time limits of the scheduler, seconds (default: %(default)s)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-stage model")
    args = parser.parse_args(argv)
    print(f"poster scheduler: {args.posters} posters, {args.assessors} assessors, 4 days x 2 sessions of "
          f"{args.hours} h, 5 rooms x 30 boards, 70% availability (2 workers); the one-stage model gets the "
          f"largest limit")
    print(f"{'seed':>4} {'pre-check s':>11} {'cannot':>6} {'placeable':>9} {'limit s':>7} {'wall s':>6} "
          f"{'placed':>6} {'valid':>5} {'days':>5} {'bound':>5} {'x bound':>7} {'simple':>6} {'x simple':>8} "
          f"{'if-needed':>9} {'idle':>4}  {'one-stage':>9} {'placed':>6} {'if-needed':>9} {'ours vs it':>10}")
    for seed in args.seeds:
        problem = make_poster_problem(args.posters, args.assessors, seed, hours=args.hours)
        started = time.perf_counter()
        check = precheck(problem)
        pre = time.perf_counter() - started
        # Every poster with a session, less what the pre-check's groups must leave out (disjoint groups).
        placeable, counted = len(problem.posters) - len(check.impossible), set()
        for issue in sorted(check.capacity, key=lambda i: -i.excess):
            if counted.isdisjoint(issue.posters):
                placeable -= issue.excess
                counted.update(issue.posters)
        bound, simple = lower_bound(problem), lower_bound(problem, availability=False)
        for limit in args.limits:
            started = time.perf_counter()
            schedule = schedule_posters(problem, time_limit=limit, seed=seed)
            wall = time.perf_counter() - started
            row = (f"{seed:>4} {pre:>11.3f} {len(check.impossible):>6} {placeable:>9} {limit:>7g} {wall:>6.1f} "
                   f"{len(schedule.placements):>6} {str(schedule.verdict.ok):>5} {schedule.assessor_days:>5} "
                   f"{bound:>5} {schedule.assessor_days / bound:>7.2f} {simple:>6} "
                   f"{schedule.assessor_days / simple:>8.2f} {schedule.if_needed_used:>9} {schedule.idle_slots:>4}")
            if args.no_baseline or limit != max(args.limits):
                print(row, flush=True)
                continue
            base = one_stage(problem, limit, seed)
            if "days" not in base:
                print(row + f"  {base['status']:>9}", flush=True)
                continue
            print(row + f"  {base['days']:>9} {base['placed']:>6} {base['if_needed']:>9} "
                  f"{(schedule.assessor_days - base['days']) / base['days']:>+10.1%}", flush=True)


if __name__ == "__main__":
    main()
