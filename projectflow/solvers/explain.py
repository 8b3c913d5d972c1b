"""Why one student did not get a higher choice, in plain words for that student.

``explain_student(problem, assignments, objective, student)`` looks at every choice the student
ranked above the project they got (every choice, when they got none) and gives it one reason, from
the problem and the final assignments alone:

``forbidden``        the coordinator ruled the pair out;
``no-places``        the project (or its supervisor) offers no places, or approved proposals took them all;
``not-ranked``       (``stable``) the supervisor did not rank the student, so cannot take them;
``outranked``        (``stable``) the project, or its supervisor, is full with students the supervisor
                     ranks higher than this student;
``project-full``     every place went to someone else: how many of them ranked it higher than this
                     student did, as high, or lower, and how many of them had a higher choice of their
                     own with room left (none, in an optimal result: the "no better alternative");
``supervisor-full``  the project had room but its supervisor had reached their capacity;
``room-left``        the project and its supervisor both still have room: only possible for a student on
                     an approved proposal, after places were changed by hand, or in a result that is not
                     the engine's optimum.

The summary adds the objective's own sentence. Its counterfactual ("moving you up would have moved
someone else further down", "no stable allocation gives you a higher choice") rests on
``assignments`` being the engine's result for ``objective``; it is left out as soon as the student's
reasons or ``adjusted_by_hand`` show that they may not be. The app substitutes project titles, so
sentences name choices by ordinal ("your 1st choice"), never by project id.

Everything is O(size of the problem) once; per-project and per-supervisor figures are computed on
first use and shared, so ``explain_all`` explains a whole cohort in one pass.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from .problem import OBJECTIVES, Problem

Detail = tuple[tuple[str, object], ...]

REASONS = ("forbidden", "no-places", "not-ranked", "outranked", "project-full", "supervisor-full",
           "room-left")
# Reasons that hold whatever anyone else got: the objective's counterfactual is not about them.
_ABSOLUTE = {"forbidden", "no-places", "not-ranked"}


@dataclass(frozen=True)
class ChoiceReason:
    """Why the student did not get the project they ranked ``rank``."""

    rank: int
    project: str
    reason: str  # one of REASONS
    # (key, value) pairs, keys depending on the reason: supervisor, capacity, supervisor_capacity,
    # fixed, supervisor_fixed, taken, supervisor_load, higher, same, lower, unranked, could_move_up,
    # full ("project" | "supervisor"), your_position, lowest_position, same_supervisor.
    detail: Detail = ()

    def get(self, key: str, default=None):
        """The detail ``key``, or ``default`` when this reason has no such figure."""
        for k, v in self.detail:
            if k == key:
                return v
        return default

    def details(self) -> dict:
        return dict(self.detail)


@dataclass(frozen=True)
class Explanation:
    """What one student got and why not better, for the student's own page."""

    student: str
    objective: str
    placed_rank: int | None  # rank of the project they got; None when unassigned or on an unranked project
    project: str | None
    fixed: bool  # on an approved proposal (a fixed pair)
    reasons: tuple[ChoiceReason, ...]  # one per choice ranked above ``project`` (every choice if none)
    summary: str


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _choices(ranks: list[int]) -> str:
    words = [_ordinal(r) for r in ranks]
    if len(words) == 1:
        return f"{words[0]} choice"
    return f"{', '.join(words[:-1])} and {words[-1]} choices"


@dataclass
class _ProjectFigures:
    ranks: list[int]  # sorted ranks the project has in the lists of its non-fixed students
    unranked: int  # non-fixed students on it who did not rank it (placed by hand)
    fixed: int  # students on it through approved proposals
    could_move_up: int  # non-fixed students on it with a higher choice that has room for them
    lowest_position: float  # the supervisor's worst position among its non-fixed students (stable)


@dataclass
class _SupervisorFigures:
    fixed: int
    could_move_up: int
    lowest_position: float


class _Cohort:
    """The shared figures of one allocation: who is where, loads, and (lazily) per-project figures."""

    def __init__(self, problem: Problem, assignments: Mapping[str, str], objective: str,
                 adjusted_by_hand: frozenset[str]):
        if objective not in OBJECTIVES:
            raise ValueError(f"Unknown objective {objective!r}: choose one of {', '.join(OBJECTIVES)}.")
        self.objective = objective
        self.stable = objective == "stable"
        self.adjusted = frozenset(adjusted_by_hand)
        self.students = {s.id: s for s in problem.students}
        self.projects = {p.id: p for p in problem.projects}
        self.sup_capacity = {t.id: t.capacity for t in problem.supervisors}
        # Positions (1-based) in each supervisor's ranking; only `stable` asks about them.
        self.position = ({t.id: {s: i for i, s in enumerate(t.preferences or (), start=1)}
                          for t in problem.supervisors} if self.stable else {})
        self.fixed = {pair.student: pair.project for pair in problem.fixed}
        self.forbidden = {(pair.student, pair.project) for pair in problem.forbidden}
        self.fixed_on_p = Counter(self.fixed.values())
        self.fixed_on_t = Counter(self.projects[p].supervisor for p in self.fixed.values())
        # Approved proposals are always kept, so they hold their places even if the caller left them out.
        self.placed = dict(self.fixed)
        self.placed.update(assignments)
        self.on_p: dict[str, list[str]] = {}
        self.on_t: dict[str, list[str]] = {}
        for sid, pid in self.placed.items():
            self.on_p.setdefault(pid, []).append(sid)
            self.on_t.setdefault(self.projects[pid].supervisor, []).append(sid)
        self._project_figures: dict[str, _ProjectFigures] = {}
        self._supervisor_figures: dict[str, _SupervisorFigures] = {}
        self._moves_up: dict[str, bool] = {}

    # --- shared figures, computed on first use ---------------------------------------------------

    def rank_of(self, sid: str, pid: str | None) -> int | None:
        prefs = self.students[sid].preferences
        return prefs.index(pid) + 1 if pid is not None and pid in prefs else None

    def has_room_for(self, sid: str, pid: str) -> bool:
        """Could ``sid`` move to ``pid`` as things stand, without anyone else moving?"""
        project = self.projects[pid]
        t = project.supervisor
        if (sid, pid) in self.forbidden or len(self.on_p.get(pid, ())) >= project.capacity:
            return False
        if self.stable and sid not in self.position[t]:
            return False
        mine = self.placed.get(sid)
        already_with_t = mine is not None and self.projects[mine].supervisor == t
        return already_with_t or len(self.on_t.get(t, ())) < self.sup_capacity[t]

    def could_move_up(self, sid: str) -> bool:
        """Does a non-fixed, placed ``sid`` have a choice above their project with room for them?"""
        if sid not in self._moves_up:
            prefs = self.students[sid].preferences
            mine = self.placed[sid]
            higher = prefs[:prefs.index(mine)] if mine in prefs else prefs
            self._moves_up[sid] = any(self.has_room_for(sid, pid) for pid in higher)
        return self._moves_up[sid]

    def project_figures(self, pid: str) -> _ProjectFigures:
        figures = self._project_figures.get(pid)
        if figures is None:
            t = self.projects[pid].supervisor
            ranks, unranked, fixed, moving, lowest = [], 0, 0, 0, 0.0
            for sid in self.on_p.get(pid, ()):
                if sid in self.fixed:
                    fixed += 1
                    continue
                rank = self.rank_of(sid, pid)
                if rank is None:
                    unranked += 1
                else:
                    ranks.append(rank)
                moving += self.could_move_up(sid)
                if self.stable:
                    lowest = max(lowest, self.position[t].get(sid, float("inf")))
            ranks.sort()
            figures = self._project_figures[pid] = _ProjectFigures(ranks, unranked, fixed, moving, lowest)
        return figures

    def supervisor_figures(self, t: str) -> _SupervisorFigures:
        figures = self._supervisor_figures.get(t)
        if figures is None:
            fixed, moving, lowest = 0, 0, 0.0
            for sid in self.on_t.get(t, ()):
                if sid in self.fixed:
                    fixed += 1
                    continue
                moving += self.could_move_up(sid)
                if self.stable:
                    lowest = max(lowest, self.position[t].get(sid, float("inf")))
            figures = self._supervisor_figures[t] = _SupervisorFigures(fixed, moving, lowest)
        return figures

    # --- one choice ----------------------------------------------------------------------------------

    def reason(self, sid: str, rank: int, pid: str) -> ChoiceReason:
        """The one reason ``sid`` is not on ``pid``, their ``rank``-th choice. The checks go from what
        holds whatever the allocation (forbidden, no places, not ranked) to what other students got."""
        project = self.projects[pid]
        t = project.supervisor
        base: Detail = (("supervisor", t), ("capacity", project.capacity),
                        ("supervisor_capacity", self.sup_capacity[t]))
        if (sid, pid) in self.forbidden:
            return ChoiceReason(rank, pid, "forbidden", base)
        fixed_p, fixed_t = self.fixed_on_p[pid], self.fixed_on_t[t]
        if project.capacity <= fixed_p or self.sup_capacity[t] <= fixed_t:
            return ChoiceReason(rank, pid, "no-places",
                                base + (("fixed", fixed_p), ("supervisor_fixed", fixed_t)))
        if self.stable and sid not in self.position[t]:
            return ChoiceReason(rank, pid, "not-ranked", base)
        taken = len(self.on_p.get(pid, ()))
        load = len(self.on_t.get(t, ()))
        mine = self.placed.get(sid)
        with_t = mine is not None and self.projects[mine].supervisor == t
        if taken >= project.capacity:
            f = self.project_figures(pid)
            higher = bisect_left(f.ranks, rank)
            same = bisect_right(f.ranks, rank) - higher
            detail = base + (("taken", taken), ("fixed", f.fixed), ("higher", higher), ("same", same),
                             ("lower", len(f.ranks) - higher - same), ("unranked", f.unranked),
                             ("could_move_up", f.could_move_up))
            if self.stable and f.lowest_position < self.position[t][sid]:
                return ChoiceReason(rank, pid, "outranked", detail + (
                    ("full", "project"), ("your_position", self.position[t][sid]),
                    ("lowest_position", int(f.lowest_position))))
            return ChoiceReason(rank, pid, "project-full", detail)
        if load >= self.sup_capacity[t] and not with_t:
            f = self.supervisor_figures(t)
            detail = base + (("taken", taken), ("supervisor_load", load), ("supervisor_fixed", f.fixed),
                             ("could_move_up", f.could_move_up))
            if self.stable and f.lowest_position < self.position[t][sid]:
                return ChoiceReason(rank, pid, "outranked", detail + (
                    ("full", "supervisor"), ("your_position", self.position[t][sid]),
                    ("lowest_position", int(f.lowest_position))))
            return ChoiceReason(rank, pid, "supervisor-full", detail)
        return ChoiceReason(rank, pid, "room-left", base + (("taken", taken), ("supervisor_load", load),
                                                            ("same_supervisor", with_t)))

    # --- one student ------------------------------------------------------------------------------------

    def explain(self, sid: str) -> Explanation:
        if sid not in self.students:
            raise ValueError(f"Unknown student {sid!r}.")
        prefs = self.students[sid].preferences
        project = self.placed.get(sid)
        rank = self.rank_of(sid, project)
        higher = prefs[:rank - 1] if rank is not None else prefs
        reasons = tuple(self.reason(sid, r, pid) for r, pid in enumerate(higher, start=1))
        fixed = sid in self.fixed
        return Explanation(student=sid, objective=self.objective, placed_rank=rank, project=project,
                           fixed=fixed, reasons=reasons,
                           summary=self.summary(sid, project, rank, fixed, reasons))

    def summary(self, sid: str, project: str | None, rank: int | None, fixed: bool,
                reasons: tuple[ChoiceReason, ...]) -> str:
        if fixed:
            where = f" (your {_ordinal(rank)} choice)" if rank is not None else ""
            return f"You are on your own approved proposal{where}: approved proposals are always kept."
        if rank == 1:
            return "You got your 1st choice."
        if project is None and not reasons:
            return "You did not rank any projects, so the allocation had nothing to place you on."
        if project is None:
            opening = "You were not placed on a project"
        elif rank is None:
            opening = "You are on a project you did not rank"
        else:
            opening = f"You got your {_ordinal(rank)} choice"
        because = f": {'; '.join(_clauses(reasons))}" if reasons else ""
        return f"{opening}{because}. {self.closing(sid, project, reasons)}"

    def closing(self, sid: str, project: str | None, reasons: tuple[ChoiceReason, ...]) -> str:
        """The objective's sentence, with its counterfactual only when it is known to hold."""
        if sid in self.adjusted:
            return "Your place was set by hand after the allocation was computed."
        codes = {r.reason for r in reasons}
        describe = _DESCRIBE[self.objective]
        if self.adjusted:
            return f"{describe}, but places were changed by hand after it was computed."
        if project is not None and project not in self.students[sid].preferences:
            # The engine only places a student on a project they ranked (or their own proposal).
            return f"{describe}; please ask the coordinator about your place."
        if "room-left" in codes:
            return (f"{describe}; please ask the coordinator why you were not moved to a choice that "
                    f"still has room.")
        if self.stable and codes & {"project-full", "supervisor-full"}:
            return (f"{describe}, but a supervisor of a choice you ranked higher ranks you above a student "
                    f"placed with them; please ask the coordinator.")
        if codes <= _ABSOLUTE:
            return f"{describe}."
        if self.stable:
            better = "a place" if project is None else "a higher choice"
            return f"{describe}, and no stable allocation gives you {better}."
        if project is None:
            return ("The allocation first places as many students as possible, so placing you would have "
                    f"left someone else without a project; then it {_THEN[self.objective]}.")
        return (f"{describe}{_HOW[self.objective]}, so moving you up would have moved someone else "
                f"further down.")


_THEN = {
    "min-cost": "gives the whole cohort the best total of choices (rank squared)",
    "greedy": ("gives as many students as possible their 1st choice, then as many as possible their 2nd, "
               "and so on"),
    "generous": "keeps the worst choice anyone gets as good as possible",
}
_DESCRIBE = {
    **{objective: f"The allocation {then}" for objective, then in _THEN.items()},
    "stable": "Supervisors' rankings decide between students who want the same project",
}
_HOW = {
    "min-cost": ": a place on a full project goes where it costs the cohort least",
    "greedy": "",
    "generous": " (then puts as few students as possible at it, and so on)",
}


def _clauses(reasons: tuple[ChoiceReason, ...]) -> list[str]:
    """One clause per kind of reason, naming all the choices it covers: "your 1st and 2nd choices
    were ...". Choices group only when the same words are true of each."""
    groups: dict[tuple[str, str], list[int]] = {}
    for r in reasons:
        groups.setdefault(_wording(r), []).append(r.rank)
    out = []
    for (one, many), ranks in groups.items():
        out.append((one if len(ranks) == 1 else many).format(c=_choices(ranks)))
    return out


def _wording(r: ChoiceReason) -> tuple[str, str]:
    """The (singular, plural) clause for one reason; ``{c}`` stands for the choices."""
    d = r.details()
    if r.reason == "forbidden":
        return "your {c} was not open to you", "your {c} were not open to you"
    if r.reason == "no-places":
        if d["capacity"] == 0:
            return "your {c} offered no places", "your {c} offered no places"
        if d["capacity"] <= d["fixed"]:
            return ("your {c} had all its places taken by approved proposals",
                    "your {c} had all their places taken by approved proposals")
        if d["supervisor_capacity"] == 0:
            return ("the supervisor of your {c} took no students",
                    "the supervisors of your {c} took no students")
        return ("the supervisor of your {c} had all their places taken by approved proposals",
                "the supervisors of your {c} had all their places taken by approved proposals")
    if r.reason == "not-ranked":
        return "the supervisor of your {c} did not rank you", "the supervisors of your {c} did not rank you"
    if r.reason == "outranked":
        on_proposals = d["fixed"] if d["full"] == "project" else d["supervisor_fixed"]
        fixed = "approved proposals and " if on_proposals else ""
        if d["full"] == "project":
            return (f"your {{c}} was full with {fixed}students its supervisor ranks higher than you",
                    f"your {{c}} were full with {fixed}students their supervisors rank higher than you")
        return (f"your {{c}} had room, but its supervisor was full with {fixed}students they rank higher "
                f"than you",
                f"your {{c}} had room, but their supervisors were full with {fixed}students they rank "
                f"higher than you")
    if r.reason == "project-full":
        # "No better alternative": none of the students on it had a higher choice with room for them.
        settled = d["could_move_up"] == 0 and d["taken"] > d["fixed"]
        if d["lower"] == 0 and d["unranked"] == 0 and d["taken"] > d["fixed"]:
            how = "higher than you did" if d["same"] == 0 else "as high as you did or higher"
            fixed = "approved proposals and " if d["fixed"] else ""
            tail = " and had no better choice with room left" if settled else ""
            return (f"your {{c}} was filled by {fixed}students who ranked it {how}{tail}",
                    f"your {{c}} were filled by {fixed}students who ranked them {how}{tail}")
        if settled:
            return ("your {c} was full, and no student on it had a better choice with room left",
                    "your {c} were full, and no student on them had a better choice with room left")
        return "your {c} was full", "your {c} were full"
    if r.reason == "supervisor-full":
        return ("your {c} had room, but its supervisor had no places left",
                "your {c} had room, but their supervisors had no places left")
    return "your {c} still has room", "your {c} still have room"


def explain_student(problem: Problem, assignments: Mapping[str, str], objective: str, student: str,
                    adjusted_by_hand: frozenset[str] = frozenset()) -> Explanation:
    """Explain to ``student`` why they did not get a higher choice.

    ``assignments`` maps every placed student to their project (approved proposals included; missing
    ones are added, since they are always kept) and should be the engine's result for ``objective``,
    except for the students in ``adjusted_by_hand``, whose places the coordinator changed afterwards.
    Raises ValueError for an unknown objective or student. O(size of the problem).
    """
    return _Cohort(problem, assignments, objective, adjusted_by_hand).explain(student)


def explain_all(problem: Problem, assignments: Mapping[str, str], objective: str,
                adjusted_by_hand: frozenset[str] = frozenset()) -> dict[str, Explanation]:
    """:func:`explain_student` for every student, sharing one pass over the problem."""
    cohort = _Cohort(problem, assignments, objective, adjusted_by_hand)
    return {s.id: cohort.explain(s.id) for s in problem.students}
