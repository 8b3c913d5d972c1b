"""How a person sees a student: by name, or by candidate number when the cohort marks anonymously.

Issue 11: "When the cohort marks anonymously, second and third markers see the candidate number, never
the name (the supervisor knows their student)." Every page, export and receipt that shows a member of
staff a student asks here, so the rule is decided once:

- the student themself, their supervisor and co-supervisors (of the project in the published
  allocation), the cohort's coordinators and admins see the name;
- anyone else (a second or third marker, a member of staff who merely reaches the page) sees
  "Candidate 123456" while the cohort marks anonymously, and the name when it does not.

It lives in matching because supervision is matching's to know (a published allocation's supervisor
and the project's co-supervisors); milestones, submissions and assessment build on matching.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass

from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from ..cohorts.models import Cohort, Enrolment
from ..extensions import db
from ..people.models import User
from ..proposals.models import Project, project_co_supervisors
from .models import PUBLISHED, Allocation, AllocationRun


def sees_name(cohort: Cohort, viewer: User, student_id: int, supervised: Set[int]) -> bool:
    """Whether ``viewer`` is shown the name of the student ``student_id`` of ``cohort``;
    ``supervised`` is the ids of the cohort's students the viewer supervises or co-supervises."""
    if not cohort.marks_anonymously:
        return True
    if not viewer.is_authenticated:
        return False
    return viewer.id == student_id or student_id in supervised or cohort.can_manage(viewer)


def label(cohort: Cohort, student: User, viewer: User, candidate_number: str, supervised: Set[int], *,
          with_number: bool = False) -> str:
    """"Candidate 123456" for a viewer who does not see the name; else the name (with the number in
    brackets when ``with_number``: the marking pages show both)."""
    if not sees_name(cohort, viewer, student.id, supervised):
        return f"Candidate {candidate_number}"
    return f"{student.name} ({candidate_number})" if with_number and candidate_number else student.name


def supervised_by(viewer: User, cohort_ids: Iterable[int]) -> dict[int, set[int]]:
    """Cohort id -> the ids of the students ``viewer`` supervises or co-supervises there, in the
    published allocation: one query, whatever the number of cohorts and students."""
    cohort_ids = set(cohort_ids)
    if not cohort_ids or not viewer.is_authenticated:
        return {}
    co_supervised = select(project_co_supervisors.c.project_id).where(project_co_supervisors.c.user_id == viewer.id)
    found: dict[int, set[int]] = {}
    for cohort_id, student_id in db.session.execute(
            select(AllocationRun.cohort_id, Allocation.student_id)
            .join(AllocationRun, Allocation.run_id == AllocationRun.id)
            .join(Project, Allocation.project_id == Project.id)
            .where(AllocationRun.cohort_id.in_(cohort_ids), AllocationRun.state == PUBLISHED,
                   or_(Allocation.supervisor_id == viewer.id, Project.owner_id == viewer.id,
                       Project.id.in_(co_supervised)))):
        found.setdefault(cohort_id, set()).add(student_id)
    return found


@dataclass(frozen=True)
class StudentNames:
    """How one viewer sees the students of one cohort, read once for a whole page."""

    cohort: Cohort
    viewer: User
    numbers: dict[int, str]   # student id -> candidate number
    supervised: frozenset[int]

    def knows(self, student: User) -> bool:
        return sees_name(self.cohort, self.viewer, student.id, self.supervised)

    def number(self, student: User) -> str:
        return self.numbers.get(student.id, "")

    def label(self, student: User, *, with_number: bool = False) -> str:
        return label(self.cohort, student, self.viewer, self.number(student), self.supervised,
                     with_number=with_number)

    def sort_key(self, student: User) -> tuple:
        # Named students by name first, then the anonymous ones by candidate number: an order by
        # name would hint at the names behind the numbers.
        known = self.knows(student)
        return (not known, student.name.lower() if known else self.number(student))


def names_for(cohort: Cohort, viewer: User) -> StudentNames:
    """Everything a page needs to label any student of ``cohort`` for ``viewer``: two queries."""
    numbers = dict(db.session.execute(select(Enrolment.user_id, Enrolment.candidate_number)
                                      .where(Enrolment.cohort_id == cohort.id)).all())
    return StudentNames(cohort, viewer, numbers, frozenset(_supervised(cohort, viewer)))


def _supervised(cohort: Cohort, viewer: User) -> set[int]:
    # Asked only when the answer can matter (a cohort that names its students, or a coordinator who
    # sees every name, needs no query), and once per viewer and cohort until the session next writes:
    # a marker's queue labels each of its sheets through ``student_label``.
    if not cohort.marks_anonymously or not viewer.is_authenticated or cohort.can_manage(viewer):
        return set()
    memo = db.session.info.setdefault(_SUPERVISED, {})
    key = (viewer.id, cohort.id)
    if key not in memo:
        memo[key] = supervised_by(viewer, [cohort.id]).get(cohort.id, set())
    return memo[key]


_SUPERVISED = "anonymity_supervised"


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _forget_supervision(session, *_args) -> None:
    # Any write may publish an allocation or move a student: ask the database again.
    session.info.pop(_SUPERVISED, None)


def candidate_number_of(cohort: Cohort, student: User) -> str:
    return db.session.scalar(select(Enrolment.candidate_number).where(
        Enrolment.cohort_id == cohort.id, Enrolment.user_id == student.id)) or ""


def knows(cohort: Cohort, student: User, viewer: User) -> bool:
    """Whether ``viewer`` is shown the name of this one student (``sees_name`` for a single student)."""
    return sees_name(cohort, viewer, student.id, _supervised(cohort, viewer))


def student_label(cohort: Cohort, student: User, viewer: User, candidate_number: str | None = None, *,
                  with_number: bool = False) -> str:
    """The one student as ``viewer`` is to see them (for a page about one student; pages listing many
    use ``names_for``)."""
    if candidate_number is None:
        candidate_number = candidate_number_of(cohort, student)
    return label(cohort, student, viewer, candidate_number, _supervised(cohort, viewer), with_number=with_number)
