"""How a reminder names a student to the person it goes to, for many people and students at once.

The rule is ``matching.anonymity``'s: while a cohort marks anonymously, a student's supervisors
(the published allocation's supervisor, the project's owner and co-supervisors) see the name and
everyone else the candidate number. An e-mail is read further from the app than a page is (forwarded,
on a phone), so in a reminder a coordinator who is not the student's supervisor sees the number too;
the page the reminder links to shows them what it always does.

Pages ask ``anonymity.names_for`` per viewer; a rule speaks to hundreds of people in one pass, so
everything is read here in three queries, however many people and students.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from ..cohorts.models import Cohort, Enrolment
from ..extensions import db
from ..matching.models import PUBLISHED, Allocation, AllocationRun
from ..people.models import User
from ..proposals.models import Project, project_co_supervisors


@dataclass(frozen=True)
class Naming:
    numbers: dict[tuple[int, int], str]  # (cohort id, student id) -> candidate number
    supervisors: dict[tuple[int, int], frozenset[int]]  # (cohort id, student id) -> who supervises them
    titles: dict[tuple[int, int], str]  # (cohort id, student id) -> their project's title

    def label(self, cohort: Cohort, student: User, viewer_id: int) -> str:
        """The student's name, or "Candidate 123456" to someone who may not see it."""
        pair = (cohort.id, student.id)
        if not cohort.marks_anonymously or viewer_id == student.id or viewer_id in self.supervisors.get(pair, ()):
            return student.name
        return f"Candidate {self.numbers.get(pair, '')}".rstrip()


def naming(pairs: Iterable[tuple[int, int]]) -> Naming:
    """What ``Naming.label`` needs for these (cohort id, student id) pairs: three queries at most."""
    pairs = set(pairs)
    if not pairs:
        return Naming({}, {}, {})
    cohort_ids = {c for c, _ in pairs}
    student_ids = {s for _, s in pairs}
    numbers = {(c, s): n for c, s, n in db.session.execute(
        select(Enrolment.cohort_id, Enrolment.user_id, Enrolment.candidate_number)
        .where(Enrolment.cohort_id.in_(cohort_ids), Enrolment.user_id.in_(student_ids)))}
    found: dict[tuple[int, int], set[int]] = {}
    projects: dict[int, list[tuple[int, int]]] = {}
    titles: dict[tuple[int, int], str] = {}
    for c, s, supervisor, owner, project_id, title in db.session.execute(
            select(AllocationRun.cohort_id, Allocation.student_id, Allocation.supervisor_id, Project.owner_id,
                   Project.id, Project.title)
            .join(AllocationRun, Allocation.run_id == AllocationRun.id)
            .join(Project, Allocation.project_id == Project.id)
            .where(AllocationRun.cohort_id.in_(cohort_ids), AllocationRun.state == PUBLISHED,
                   Allocation.student_id.in_(student_ids))):
        found.setdefault((c, s), set()).update(u for u in (supervisor, owner) if u is not None)
        projects.setdefault(project_id, []).append((c, s))
        titles[c, s] = title
    if projects:
        for project_id, user_id in db.session.execute(
                select(project_co_supervisors.c.project_id, project_co_supervisors.c.user_id)
                .where(project_co_supervisors.c.project_id.in_(projects))):
            for pair in projects[project_id]:
                found.setdefault(pair, set()).add(user_id)
    return Naming(numbers, {pair: frozenset(ids) for pair, ids in found.items()}, titles)
