"""Second markers: for each allocated project, a member of staff to mark it besides its supervisors.

``assign_markers(problem) -> MarkerResult`` chooses, lexicographically:

1. as many projects marked as possible;
2. then the largest total expertise overlap;
3. then loads as even as possible above the fair share.

A "project" here is one piece of work to mark (in the app: one allocated student's project), so its
id is any string. Rules that are never broken: a project is never marked by its supervisor or a
co-supervisor, never by someone with a declared conflict, and nobody marks more than their capacity
(the per-person maximum). Fixed pairs (the coordinator's decisions) are kept and count toward loads.

Definitions (the objective, so the validator and the tests use exactly these):

*Overlap* of a project with a marker: the number of the project's distinct keywords found in the
marker's expertise, both compared after stripping surrounding spaces and case-folding (``" NLP"``
matches ``"nlp"``); a keyword that is blank after stripping never counts. The engine computes it
vectorised over every pair and the validator recomputes it pair by pair with sets: two
implementations of one sentence, so neither can hide a slip of the other.

*Fair share*: ``ceil(number of projects / number of staff with capacity > 0)`` (0 when nobody has
capacity). It counts every project of the problem, markable or not, fixed or free.

*Load cost*: a marker with load L costs ``max(0, L - fair share) ** 2``: the units up to the fair share
are free, the first unit above it costs 1, the next 3, then 5, ... (convex, so the flow network can
carry it as parallel arcs of rising cost), up to the capacity, which is a hard maximum. Below the fair
share the overlap alone decides, so loads there may differ; above it, every extra unit is pushed to
whoever is least over.

The network: free project -> eligible marker (capacity 1, cost -overlap at level 2), project -> sink
("unmarked", cost 1 at level 1), marker -> sink (one arc for the free units up to the fair share, then
one arc per unit above it). ``flow.solve_lexicographic`` solves the three levels exactly and
certifies each round; a result is "optimal" only when certified and confirmed by the validator below,
which shares no code with the engine except the definition ``marker_load_cost`` (the objective).
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field, replace

import numpy as np

from . import flow
from .problem import Diagnosis, ProblemError, SolverReport, Verdict

MARKER_STATUSES = ("optimal", "infeasible", "error")


# --- The problem and its result -----------------------------------------------------------------


@dataclass(frozen=True)
class MarkedProject:
    """One piece of work to mark (in the app: one allocated student's project)."""

    id: str
    supervisors: tuple[str, ...]  # the supervisor and any co-supervisors: never its marker
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Marker:
    """A member of staff who may second-mark."""

    id: str
    capacity: int  # the per-person maximum number of projects to mark (fixed pairs included)
    expertise: tuple[str, ...] = ()


@dataclass(frozen=True)
class MarkerPair:
    project: str
    marker: str


@dataclass(frozen=True)
class MarkerProblem:
    projects: tuple[MarkedProject, ...]
    # Every supervisor and co-supervisor must be listed here too (with capacity 0 if they do not
    # mark): an unknown supervisor id is refused, so a typo can never let someone mark their own work.
    staff: tuple[Marker, ...]
    conflicts: tuple[MarkerPair, ...] = ()  # declared conflicts of interest: never used
    fixed: tuple[MarkerPair, ...] = ()  # the coordinator's decisions: always kept, count toward loads


@dataclass(frozen=True)
class MarkerAssignment:
    project: str
    marker: str
    overlap: int  # how many of the project's keywords are in the marker's expertise


@dataclass(frozen=True)
class MarkerResult:
    status: str  # "optimal" | "infeasible" (fixed pairs overfill a capacity) | "error"
    assignments: tuple[MarkerAssignment, ...] = ()  # in the problem's project order, fixed pairs included
    unassigned: tuple[str, ...] = ()  # projects left without a second marker
    loads: tuple[tuple[str, int], ...] = ()  # (marker, load) for every member of staff
    overlap_total: int = 0
    load_cost: int = 0  # sum of marker_load_cost(load, fair_share) over staff
    fair_share: int = 0
    solve_seconds: float = 0.0
    # Why each unassigned project has no marker. Diagnosis is shared with the allocation, so its
    # ``students`` field holds the project ids here (the JSON file calls it "projects").
    diagnosis: tuple[Diagnosis, ...] = ()
    message: str = ""  # for "infeasible" and "error": what went wrong
    solver: SolverReport = field(default_factory=SolverReport)
    verdict: Verdict | None = None

    def load_of(self) -> dict[str, int]:
        return dict(self.loads)


def fair_share(problem: MarkerProblem) -> int:
    """ceil(projects / staff with capacity > 0), or 0 when nobody can mark (see the module docstring)."""
    able = sum(1 for m in problem.staff if m.capacity > 0)
    return math.ceil(len(problem.projects) / able) if able else 0


def marker_load_cost(load: int, fair: int) -> int:
    """The load cost of a marker with ``load`` projects when the fair share is ``fair``."""
    return max(0, load - fair) ** 2


def check_marker_problem(problem: MarkerProblem) -> list[str]:
    """Every reason the problem is malformed, each naming the offending entry; empty when it is sound.

    Checks: duplicate ids, unknown ids (supervisors, conflicts, fixed pairs), a supervisor listed
    twice on one project, negative capacities, a project fixed twice, and a fixed pair that breaks a
    rule (its marker supervises the project or declared a conflict). Fixed pairs that overfill a
    capacity are not malformed input: ``assign_markers`` answers "infeasible", as ``allocate`` does.
    """
    faults: list[str] = []
    for kind, items in (("project", problem.projects), ("staff", problem.staff)):
        for ident, count in Counter(item.id for item in items).items():
            if count > 1:
                faults.append(f"The {kind} id {ident!r} appears {count} times.")
    projects = {p.id: p for p in problem.projects}
    staff = {m.id for m in problem.staff}
    for p in problem.projects:
        for ident, count in Counter(p.supervisors).items():
            if ident not in staff:
                faults.append(f"Project {p.id!r} names an unknown supervisor {ident!r} "
                              f"(list every supervisor as staff, with capacity 0 if they do not mark).")
            if count > 1:
                faults.append(f"Project {p.id!r} lists supervisor {ident!r} {count} times.")
    for m in problem.staff:
        if m.capacity < 0:
            faults.append(f"Staff member {m.id!r} has a negative capacity ({m.capacity}).")
    for kind, pairs in (("conflict", problem.conflicts), ("fixed pair", problem.fixed)):
        for pair in pairs:
            if pair.project not in projects:
                faults.append(f"A {kind} names an unknown project {pair.project!r}.")
            if pair.marker not in staff:
                faults.append(f"A {kind} names an unknown marker {pair.marker!r}.")
    for ident, count in Counter(pair.project for pair in problem.fixed).items():
        if count > 1:
            faults.append(f"Project {ident!r} is fixed to {count} markers.")
    conflicts = set(problem.conflicts)
    for pair in problem.fixed:
        if pair.project in projects and pair.marker in projects[pair.project].supervisors:
            faults.append(f"The fixed pair {pair.project!r} - {pair.marker!r} makes a supervisor "
                          f"the second marker of their own project.")
        if pair in conflicts:
            faults.append(f"The pair {pair.project!r} - {pair.marker!r} is both fixed and a conflict.")
    return faults


# --- The engine ---------------------------------------------------------------------------------


def assign_markers(problem: MarkerProblem) -> MarkerResult:
    """Choose a second marker for each project and return the result with the validator's verdict.

    Raises ProblemError when the problem is malformed (see ``check_marker_problem``). Fixed pairs that
    overfill a capacity give status "infeasible"; "optimal" is only reported when every round of the
    flow solver was proven optimal by its dual certificate and the validator confirms the result.
    """
    faults = check_marker_problem(problem)
    if faults:
        raise ProblemError(faults)
    started = time.perf_counter()
    overfull = _overfilled_by_fixed_pairs(problem)
    if overfull:
        result = MarkerResult(status="infeasible", unassigned=tuple(p.id for p in problem.projects),
                              fair_share=fair_share(problem), message=" ".join(overfull))
    else:
        result = _flow_markers(problem)
    result = replace(result, solve_seconds=time.perf_counter() - started)
    verdict = validate_markers(problem, result)
    if not verdict.ok and result.status == "optimal":
        # A claim the validator cannot confirm is not reported as a success.
        result = replace(result, status="error",
                         message="The validator rejected the engine's result: " + " ".join(verdict.problems))
    return replace(result, verdict=verdict)


def _overfilled_by_fixed_pairs(problem: MarkerProblem) -> list[str]:
    capacity = {m.id: m.capacity for m in problem.staff}
    on_marker = Counter(pair.marker for pair in problem.fixed)
    return [f"Fixed pairs give marker {m!r} {n} projects, more than their capacity of {capacity[m]}."
            for m, n in on_marker.items() if n > capacity[m]]


def _overlap_matrix(problem: MarkerProblem) -> np.ndarray:
    """overlap[i, k]: how many of project i's distinct keywords are in staff member k's expertise.

    Keywords become integer ids; each (project, keyword) pair is expanded into the staff who have
    that keyword, and the (project, staff) hits are counted with one bincount."""
    n_p, n_s = len(problem.projects), len(problem.staff)
    vocabulary: dict[str, int] = {}

    def ids(words) -> set[int]:
        out = set()
        for word in words:
            word = word.strip().casefold()
            if word:
                out.add(vocabulary.setdefault(word, len(vocabulary)))
        return out

    staff_words = [ids(m.expertise) for m in problem.staff]
    project_words = [ids(p.keywords) for p in problem.projects]
    sk_word = np.array([w for words in staff_words for w in words], dtype=np.int64)
    sk_staff = np.array([k for k, words in enumerate(staff_words) for _ in words], dtype=np.int64)
    pk_word = np.array([w for words in project_words for w in words], dtype=np.int64)
    pk_project = np.array([i for i, words in enumerate(project_words) for _ in words], dtype=np.int64)
    if not len(sk_word) or not len(pk_word):
        return np.zeros((n_p, n_s), dtype=np.int64)
    # Staff grouped by keyword (compressed rows): the staff with keyword w are by_word[ptr[w]:ptr[w + 1]].
    order = np.argsort(sk_word, kind="stable")
    by_word = sk_staff[order]
    ptr = np.searchsorted(sk_word[order], np.arange(len(vocabulary) + 1))
    counts = ptr[pk_word + 1] - ptr[pk_word]
    total = int(counts.sum())
    starts = np.repeat(ptr[pk_word], counts)
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    hits = np.repeat(pk_project, counts) * n_s + by_word[starts + within]
    return np.bincount(hits, minlength=n_p * n_s).reshape(n_p, n_s)


def _eligibility(problem: MarkerProblem) -> np.ndarray:
    """eligible[i, k]: staff member k may mark project i (not a supervisor of it, no conflict)."""
    project_index = {p.id: i for i, p in enumerate(problem.projects)}
    staff_index = {m.id: k for k, m in enumerate(problem.staff)}
    eligible = np.ones((len(problem.projects), len(problem.staff)), dtype=bool)
    rows = [i for i, p in enumerate(problem.projects) for _ in p.supervisors]
    cols = [staff_index[t] for p in problem.projects for t in p.supervisors]
    eligible[rows, cols] = False
    eligible[[project_index[c.project] for c in problem.conflicts],
             [staff_index[c.marker] for c in problem.conflicts]] = False
    return eligible


def _flow_markers(problem: MarkerProblem) -> MarkerResult:
    n_s = len(problem.staff)
    project_index = {p.id: i for i, p in enumerate(problem.projects)}
    staff_index = {m.id: k for k, m in enumerate(problem.staff)}
    fixed = {pair.project: pair.marker for pair in problem.fixed}
    fair = fair_share(problem)
    overlap = _overlap_matrix(problem)
    eligible = _eligibility(problem)

    # Places left once the fixed pairs have taken theirs.
    capacity = np.array([m.capacity for m in problem.staff], dtype=np.int64)
    fixed_load = np.zeros(n_s, dtype=np.int64)
    for marker in fixed.values():
        fixed_load[staff_index[marker]] += 1
    room = capacity - fixed_load

    free = np.array([i for i, p in enumerate(problem.projects) if p.id not in fixed], dtype=np.int64)
    n_f = len(free)
    open_pairs = eligible[free] & (room > 0)[None, :]
    arc_row, arc_staff = np.nonzero(open_pairs)  # free project (row of ``free``) -> marker
    arc_overlap = overlap[free[arc_row], arc_staff]
    n_pair = len(arc_row)
    marker_node = n_f
    sink = n_f + n_s

    # Each marker's units as arcs to the sink: one free arc up to the fair share, then one arc per
    # unit above it at its marginal load cost; never more units than projects that could come.
    reachable = np.bincount(arc_staff, minlength=n_s) if n_pair else np.zeros(n_s, dtype=np.int64)
    usable = np.minimum(room, reachable)
    unit_tails, unit_caps, unit_costs = [], [], []
    for k in np.flatnonzero(usable > 0):
        f, last = int(fixed_load[k]), int(fixed_load[k] + usable[k])
        free_units = min(max(0, fair - f), int(usable[k]))
        if free_units:
            unit_tails.append(marker_node + k)
            unit_caps.append(free_units)
            unit_costs.append(0)
        for j in range(f + free_units + 1, last + 1):
            unit_tails.append(marker_node + k)
            unit_caps.append(1)
            unit_costs.append(marker_load_cost(j, fair) - marker_load_cost(j - 1, fair))
    n_unit = len(unit_tails)

    tails = np.concatenate([arc_row, np.arange(n_f), np.array(unit_tails, dtype=np.int64)]).astype(np.int32)
    heads = np.concatenate([marker_node + arc_staff, np.full(n_f, sink), np.full(n_unit, sink)]).astype(np.int32)
    capacities = np.concatenate([np.ones(n_pair + n_f, dtype=np.int64), np.array(unit_caps, dtype=np.int64)])
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n_f] = 1
    supplies[sink] = -n_f
    n_arcs = len(tails)

    unmarked = np.zeros(n_arcs, dtype=np.int64)
    unmarked[n_pair:n_pair + n_f] = 1
    expertise = np.zeros(n_arcs, dtype=np.int64)
    expertise[:n_pair] = -arc_overlap
    load = np.zeros(n_arcs, dtype=np.int64)
    unit = np.array(unit_costs, dtype=np.int64)
    load[n_arcs - n_unit:] = unit
    best_overlap = np.zeros(n_f, dtype=np.int64)
    if n_pair:
        np.maximum.at(best_overlap, arc_row, arc_overlap)
    network = flow.Network(
        num_nodes=sink + 1, tails=tails, heads=heads, capacities=capacities, supplies=supplies,
        levels=(unmarked, expertise, load),
        spans=(n_f, int(best_overlap.sum()),
               int(min((unit * capacities[n_arcs - n_unit:]).sum() if n_unit else 0,
                       n_f * (unit.max() if n_unit else 0)))))
    outcome = flow.solve_lexicographic(network)
    report = SolverReport(
        rounds=outcome.rounds, solver_seconds=outcome.solver_seconds,
        proof=(f"OR-Tools min-cost flow OPTIMAL in {outcome.rounds} round(s) over 3 lexicographic "
               f"level(s) (projects marked, expertise overlap, load above the fair share); each round "
               f"certified by node potentials with no negative reduced cost on its residual network"
               if outcome.status == "optimal" else outcome.message))
    if outcome.flows is None or outcome.status != "optimal":
        status = "infeasible" if outcome.status == "infeasible" else "error"
        return MarkerResult(status=status, unassigned=tuple(p.id for p in problem.projects), fair_share=fair,
                            message=outcome.message, solver=report)

    chosen = dict(fixed)
    for arc in np.flatnonzero(outcome.flows[:n_pair]):
        chosen[problem.projects[free[arc_row[arc]]].id] = problem.staff[arc_staff[arc]].id
    assignments, unassigned = [], []
    for p in problem.projects:
        if p.id in chosen:
            assignments.append(MarkerAssignment(
                p.id, chosen[p.id], int(overlap[project_index[p.id], staff_index[chosen[p.id]]])))
        else:
            unassigned.append(p.id)
    loads = Counter(a.marker for a in assignments)
    diagnosis = _explain_unmarked(problem, unassigned, chosen, eligible, room) if unassigned else ()
    return MarkerResult(
        status="optimal", assignments=tuple(assignments), unassigned=tuple(unassigned),
        loads=tuple((m.id, loads.get(m.id, 0)) for m in problem.staff),
        overlap_total=sum(a.overlap for a in assignments),
        load_cost=sum(marker_load_cost(loads.get(m.id, 0), fair) for m in problem.staff),
        fair_share=fair, diagnosis=diagnosis, solver=report)


def _names(ids, limit: int = 5) -> str:
    ids = sorted(ids)
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _explain_unmarked(problem: MarkerProblem, unassigned: list[str], chosen: dict[str, str],
                      eligible: np.ndarray, room: np.ndarray) -> tuple[Diagnosis, ...]:
    """Why each unassigned project has no marker, grouped by reason.

    ``no-eligible-marker``: every member of staff supervises it or declared a conflict.
    ``no-room``: its eligible markers have no room at all (capacity 0, or taken by fixed pairs).
    ``competition``: the rest. From such a project, follow every eligible marker with room, every
    (non-fixed) project that marker got, and every eligible marker of those. With as many projects
    marked as possible every marker reached is full, so the projects reached outnumber the places of
    the markers reached (Hall's condition): no assignment can mark them all.
    """
    index = {p.id: i for i, p in enumerate(problem.projects)}
    staff_ids = [m.id for m in problem.staff]
    fixed = {pair.project for pair in problem.fixed}
    has_room = room > 0
    groups: dict[str, list[str]] = defaultdict(list)
    competing = []
    for pid in unassigned:
        row = eligible[index[pid]]
        if not row.any():
            groups["no-eligible-marker"].append(pid)
        elif not (row & has_room).any():
            groups["no-room"].append(pid)
        else:
            competing.append(pid)
    out = []
    words = {
        "no-eligible-marker": ("has no eligible marker: every member of staff supervises it or declared "
                               "a conflict",
                               "have no eligible marker: every member of staff supervises them or "
                               "declared a conflict"),
        "no-room": ("can be marked only by staff with no room (capacity 0, or taken by fixed pairs)",) * 2,
    }
    for reason, (one, many) in words.items():
        ids = groups.get(reason)
        if ids:
            count = f"1 project {one}" if len(ids) == 1 else f"{len(ids)} projects {many}"
            out.append(Diagnosis(reason, count + ".", tuple(ids)))

    # Reach from each competing project; reaches that share a node are one group (union-find).
    staff_index = {m: k for k, m in enumerate(staff_ids)}
    marked_by: dict[int, list[str]] = defaultdict(list)
    for pid, marker in chosen.items():
        if pid not in fixed:
            marked_by[staff_index[marker]].append(pid)
    owner: dict[tuple[str, object], int] = {}
    parent: list[int] = []

    def find(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    for start in competing:
        if ("p", start) in owner:
            continue
        group = len(parent)
        parent.append(group)
        owner[("p", start)] = group
        queue = deque([("p", start)])
        while queue:
            kind, ident = queue.popleft()
            if kind == "p":
                nxt = [("m", int(k)) for k in np.flatnonzero(eligible[index[ident]] & has_room)]
            else:
                nxt = [("p", pid) for pid in marked_by.get(ident, ())]
            for node in nxt:
                seen = owner.get(node)
                if seen is None:
                    owner[node] = group
                    queue.append(node)
                elif find(seen) != group:
                    parent[find(seen)] = group

    members: dict[int, dict[str, set]] = defaultdict(lambda: {"p": set(), "m": set()})
    for (kind, ident), g in owner.items():
        members[find(g)][kind].add(ident)
    for g in sorted(members, key=lambda g: min(members[g]["p"])):
        group = members[g]
        left_out = [pid for pid in competing if pid in group["p"]]
        places = int(room[sorted(group["m"])].sum())
        lead = "1 project" if len(left_out) == 1 else f"{len(left_out)} projects"
        message = (f"{lead} could be marked only by staff who are full: {len(group['p'])} projects in all "
                   f"competed for the {places} place{'' if places == 1 else 's'} of "
                   f"{_names(staff_ids[k] for k in group['m'])}, so no assignment can mark more of them.")
        out.append(Diagnosis("competition", message, tuple(left_out)))
    return tuple(out)


# --- The independent validator ------------------------------------------------------------------
# It shares no code with the engine above (only marker_load_cost, which *is* the objective): the
# overlap, fair share, loads, costs and the rules are recomputed here from the problem and the
# assignments alone, pair by pair with sets instead of matrices.


def _keyword_set(words) -> set[str]:
    return {w.strip().casefold() for w in words} - {""}


def validate_markers(problem: MarkerProblem, result: MarkerResult) -> Verdict:
    """Check ``result`` against ``problem``: every project at most once (and, for "optimal", each
    either marked or unassigned), no supervisor or conflict used, capacities respected, fixed pairs
    kept; the overlaps, total overlap, loads, fair share and load cost recomputed and equal to what
    the result claims; no unassigned project with an eligible marker who still has room (so the
    number marked cannot be raised by one more pair); and the diagnosis explains each unassigned
    project exactly once. The verdict lists every problem found."""
    problems: list[str] = []
    if result.status not in MARKER_STATUSES:
        problems.append(f"Unknown status {result.status!r}.")
    projects = {p.id: p for p in problem.projects}
    staff = {m.id: m for m in problem.staff}
    conflicts = {(c.project, c.marker) for c in problem.conflicts}
    fixed = {f.project: f.marker for f in problem.fixed}

    if result.status == "infeasible":
        on_marker = Counter(fixed.values())
        if not any(n > staff[m].capacity for m, n in on_marker.items() if m in staff):
            problems.append("The result says infeasible, but the fixed pairs fit every capacity.")

    seen = Counter([a.project for a in result.assignments] + list(result.unassigned))
    for pid, count in seen.items():
        if pid not in projects:
            problems.append(f"Unknown project {pid!r} in the result.")
        elif count > 1:
            problems.append(f"Project {pid!r} appears {count} times in the result.")
    if result.status == "optimal":
        for pid in projects:
            if pid not in seen:
                problems.append(f"Project {pid!r} is neither marked nor unassigned.")

    loads: Counter[str] = Counter()
    overlap_total = 0
    for a in result.assignments:
        if a.project not in projects or a.marker not in staff:
            problems.append(f"Assignment {a.project!r} -> {a.marker!r} names an unknown project or marker.")
            continue
        loads[a.marker] += 1
        if a.marker in projects[a.project].supervisors:
            problems.append(f"Project {a.project!r} is marked by its own supervisor {a.marker!r}.")
        if (a.project, a.marker) in conflicts:
            problems.append(f"Project {a.project!r} is marked by {a.marker!r}, who declared a conflict.")
        true_overlap = len(_keyword_set(projects[a.project].keywords) & _keyword_set(staff[a.marker].expertise))
        overlap_total += true_overlap
        if a.overlap != true_overlap:
            problems.append(f"Project {a.project!r} is said to overlap {a.overlap} with {a.marker!r}, "
                            f"but it is {true_overlap}.")
    for mid, n in loads.items():
        if n > staff[mid].capacity:
            problems.append(f"Marker {mid!r} has {n} projects but a capacity of {staff[mid].capacity}.")

    if result.status == "optimal":
        placed = {a.project: a.marker for a in result.assignments}
        for pid, mid in fixed.items():
            if placed.get(pid) != mid:
                problems.append(f"The fixed pair {pid!r} - {mid!r} is not kept.")
        if result.overlap_total != overlap_total:
            problems.append(f"The total overlap is {overlap_total}, not {result.overlap_total}.")
        true_loads = {m.id: loads.get(m.id, 0) for m in problem.staff}
        claimed = dict(result.loads)
        if claimed != true_loads:
            wrong = sorted(m for m in set(true_loads) | set(claimed) if claimed.get(m) != true_loads.get(m))
            problems.append(f"The loads of {', '.join(map(repr, wrong[:5]))} are wrong.")
        able = [m for m in problem.staff if m.capacity > 0]
        fair = -(-len(problem.projects) // len(able)) if able else 0
        if result.fair_share != fair:
            problems.append(f"The fair share is {fair}, not {result.fair_share}.")
        cost = sum(marker_load_cost(n, fair) for n in true_loads.values())
        if result.load_cost != cost:
            problems.append(f"The load cost is {cost}, not {result.load_cost}.")
        for pid in result.unassigned:
            if pid not in projects:
                continue
            open_ = [m.id for m in problem.staff
                     if m.id not in projects[pid].supervisors and (pid, m.id) not in conflicts
                     and loads.get(m.id, 0) < m.capacity]
            if open_:
                problems.append(f"Project {pid!r} is unassigned, but {_names(open_)} could still mark it.")
        explained = Counter(pid for d in result.diagnosis for pid in d.students)
        if set(explained) != set(result.unassigned) or any(n > 1 for n in explained.values()):
            problems.append("The diagnosis does not explain each unassigned project exactly once.")
    return Verdict(ok=not problems, problems=tuple(problems))
