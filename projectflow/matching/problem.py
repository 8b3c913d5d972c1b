"""The cohort's allocation problem, as the solvers' dataclasses (``projectflow.solvers``).

Students are named by their candidate numbers, so an exported problem file says nothing about who
they are; projects are ``p<id>`` and supervisors ``t<user id>``. Approved student proposals are fixed
pairs; withdrawn or unapproved projects are left out of the students' lists (their other choices keep
their order, so a student's ranks stay 1, 2, 3 ...).
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from ..cohorts.models import Cohort, CohortStaff, Enrolment
from ..extensions import db
from ..people.models import StaffProfile
from ..proposals.models import APPROVED, Preference, PreferenceList, Project
from ..solvers import Pair, Problem
from ..solvers import Project as ProblemProject
from ..solvers import Student, Supervisor
from ..solvers.problem_io import problem_to_dict


def project_key(project_id: int) -> str:
    return f"p{project_id}"


def supervisor_key(user_id: int) -> str:
    return f"t{user_id}"


def cohort_problem(cohort: Cohort) -> Problem:
    """Everything the allocation needs from the cohort, read in four queries of plain columns (no
    objects: the run page builds it on every view to tell whether the inputs have changed)."""
    projects = db.session.execute(
        select(Project.id, Project.owner_id, Project.proposed_by_id, Project.capacity)
        .where(Project.cohort_id == cohort.id, Project.state == APPROVED).order_by(Project.id)).all()
    offered = {p.id: p for p in projects}
    candidate = dict(db.session.execute(select(Enrolment.user_id, Enrolment.candidate_number)
                                        .where(Enrolment.cohort_id == cohort.id)).all())
    lists: dict[int, list[int]] = {}
    for student_id, project_id in db.session.execute(
            select(PreferenceList.student_id, Preference.project_id).select_from(Preference)
            .join(PreferenceList, PreferenceList.id == Preference.list_id)
            .where(PreferenceList.cohort_id == cohort.id).order_by(PreferenceList.student_id, Preference.rank)):
        lists.setdefault(student_id, []).append(project_id)
    own = {p.proposed_by_id: p for p in projects if p.proposed_by_id is not None}

    students = []
    for user_id, number in sorted(candidate.items(), key=lambda item: item[1]):
        ranked = lists.get(user_id, []) if user_id not in own else []
        students.append(Student(number, tuple(project_key(pid) for pid in ranked
                                               if pid in offered and offered[pid].proposed_by_id is None)))
    # A member's limit for the cohort, else their profile's, else none (CohortStaff.effective_load_limit).
    limits = {uid: limit if limit is not None else (max_load or 0) for uid, limit, max_load in db.session.execute(
        select(CohortStaff.user_id, CohortStaff.load_limit, StaffProfile.max_load)
        .outerjoin(StaffProfile, StaffProfile.user_id == CohortStaff.user_id)
        .where(CohortStaff.cohort_id == cohort.id))}
    owners = sorted({p.owner_id for p in projects})
    return Problem(
        students=tuple(students),
        projects=tuple(ProblemProject(project_key(p.id), supervisor_key(p.owner_id), p.capacity) for p in projects),
        # A supervisor who left the cohort's staff keeps no places: the coordinator sees them diagnosed.
        supervisors=tuple(Supervisor(supervisor_key(uid), limits.get(uid, 0)) for uid in owners),
        fixed=tuple(Pair(candidate[sid], project_key(p.id)) for sid, p in sorted(own.items())
                    if sid in candidate),
    )


def problem_hash(problem: Problem) -> str:
    """A fingerprint of the problem (SHA-256 of its canonical problem.json): a run keeps the one it
    solved, so "have the inputs changed since?" compares two short strings."""
    text = json.dumps(problem_to_dict(problem), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
