"""The student's explanation of their allocation: the engine's reasons (``solvers.explain``) with
the projects named by title, computed from the published run's kept inputs and its allocation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..cohorts.models import Enrolment
from ..extensions import db
from ..people.models import User
from ..proposals.models import Project
from ..solvers import ChoiceReason, Explanation, explain_student
from . import services
from .models import AllocationRun


@dataclass(frozen=True)
class ChoiceLine:
    """One choice the student ranked above what they got, with the reason in a few words."""

    rank: int
    project: Project | None
    reason: str
    figures: str


@dataclass(frozen=True)
class StudentExplanation:
    summary: str
    choices: tuple[ChoiceLine, ...]


REASON_WORDS = {
    "forbidden": "Not open to you",
    "no-places": "No places",
    "not-ranked": "The supervisor did not rank you",
    "outranked": "The supervisor ranked the students they took higher",
    "project-full": "Full",
    "supervisor-full": "Its supervisor was full",
    "room-left": "Still has room",
}


def _figures(r: ChoiceReason) -> str:
    d = r.details()
    if r.reason == "project-full":
        capacity = d.get("capacity", 0)
        parts = [f"{d.get('taken', 0)} of {capacity} place{'' if capacity == 1 else 's'} taken"]
        for key, words in (("higher", "ranked it higher than you did"), ("same", "ranked it as high as you did"),
                           ("lower", "ranked it lower than you did")):
            if d.get(key):
                parts.append(f"{d[key]} student{'' if d[key] == 1 else 's'} on it {words}")
        return "; ".join(parts)
    if r.reason == "supervisor-full":
        return f"the supervisor has {d.get('supervisor_load', 0)} students, their limit of {d.get('supervisor_capacity', 0)}"
    if r.reason == "no-places":
        return f"{d.get('capacity', 0)} places, {d.get('fixed', 0)} taken by approved student proposals"
    return ""


def for_student(run: AllocationRun, student: User) -> StudentExplanation | None:
    """Why ``student`` got what they got in ``run``; None when they were not in its inputs."""
    candidate = db.session.scalar(select(Enrolment.candidate_number).where(
        Enrolment.cohort_id == run.cohort_id, Enrolment.user_id == student.id))
    problem = services.run_problem(run)
    if candidate is None or candidate not in {s.id for s in problem.students}:
        return None
    chosen = services.current_choice(run)
    moved = frozenset(services.moved_students(run))
    explanation: Explanation = explain_student(problem, chosen, run.objective, candidate, adjusted_by_hand=moved)
    ids = [int(r.project[1:]) for r in explanation.reasons]
    projects = {p.id: p for p in db.session.scalars(select(Project).where(Project.id.in_(ids)))}
    return StudentExplanation(explanation.summary, tuple(
        ChoiceLine(r.rank, projects.get(int(r.project[1:])), REASON_WORDS.get(r.reason, r.reason), _figures(r))
        for r in explanation.reasons))
