"""The cohort's allocation problem, as the solvers' dataclasses (``projectflow.solvers``).

Students are named by their candidate numbers, so an exported problem file says nothing about who
they are; projects are ``p<id>`` and supervisors ``t<user id>``. Approved student proposals are fixed
pairs; withdrawn or unapproved projects are left out of the students' lists (their other choices keep
their order, so a student's ranks stay 1, 2, 3 ...).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort, Enrolment
from ..extensions import db
from ..proposals.models import APPROVED, PreferenceList, Project
from ..solvers import Pair, Problem
from ..solvers import Project as ProblemProject
from ..solvers import Student, Supervisor


def project_key(project_id: int) -> str:
    return f"p{project_id}"


def supervisor_key(user_id: int) -> str:
    return f"t{user_id}"


def cohort_problem(cohort: Cohort) -> Problem:
    """Everything the allocation needs from the cohort, read in a handful of queries."""
    projects = db.session.scalars(select(Project).where(Project.cohort_id == cohort.id,
                                                        Project.state == APPROVED)).all()
    offered = {p.id: p for p in projects}
    candidate = {e.user_id: e.candidate_number for e in db.session.scalars(
        select(Enrolment).where(Enrolment.cohort_id == cohort.id))}
    lists = {pl.student_id: pl for pl in db.session.scalars(
        select(PreferenceList).where(PreferenceList.cohort_id == cohort.id)
        .options(selectinload(PreferenceList.choices)))}
    own = {p.proposed_by_id: p for p in projects if p.is_self_proposal}

    students = []
    for user_id, number in sorted(candidate.items(), key=lambda item: item[1]):
        plist = lists.get(user_id)
        ranked = [c.project_id for c in plist.choices] if plist and user_id not in own else []
        students.append(Student(number, tuple(project_key(pid) for pid in ranked
                                               if pid in offered and not offered[pid].is_self_proposal)))
    limits = {s.user_id: s.effective_load_limit for s in cohort.staff}
    owners = sorted({p.owner_id for p in projects})
    return Problem(
        students=tuple(students),
        projects=tuple(ProblemProject(project_key(p.id), supervisor_key(p.owner_id), p.capacity)
                       for p in sorted(projects, key=lambda p: p.id)),
        # A supervisor who left the cohort's staff keeps no places: the coordinator sees them diagnosed.
        supervisors=tuple(Supervisor(supervisor_key(uid), limits.get(uid, 0)) for uid in owners),
        fixed=tuple(Pair(candidate[sid], project_key(p.id)) for sid, p in sorted(own.items())
                    if sid in candidate),
    )
