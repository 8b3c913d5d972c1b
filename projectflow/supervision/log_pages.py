"""The supervision log a page at a time: the meetings of the students shown (a supervisor's, or every
student's for a coordinator), filtered by student, supervisor, state (awaiting confirmation, confirmed,
disputed) and date range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, case, func, select

from ..extensions import db
from ..matching.models import Allocation
from ..people.models import User
from .models import Meeting

CONFIRMED, AWAITING, DISPUTED = "confirmed", "awaiting", "disputed"
STATES = {AWAITING: "Awaiting confirmation", CONFIRMED: "Confirmed", DISPUTED: "Disputed"}
# The query-string keys of the filters and the page: kept when a form on the page sends the person back.
KEPT = ("student", "supervisor", "state", "since", "until", "page")


@dataclass(frozen=True)
class LogFilter:
    student_id: int | None = None
    supervisor_id: int | None = None
    state: str | None = None        # one of STATES, or None (any)
    since: date | None = None
    until: date | None = None

    @property
    def is_set(self) -> bool:
        return any(v is not None for v in (self.student_id, self.supervisor_id, self.state, self.since, self.until))


def students_in(allocations: list[Allocation], chosen: LogFilter) -> list[Allocation]:
    """The allocations whose students the filter keeps (by student and by supervisor)."""
    return [a for a in allocations
            if chosen.student_id in (None, a.student_id) and chosen.supervisor_id in (None, a.supervisor_id)]


def meetings_query(cohort_id: int, student_ids: list[int], chosen: LogFilter) -> Select:
    """The filtered meetings of ``student_ids``, by student name, then latest first."""
    query = (select(Meeting).join(User, Meeting.student_id == User.id)
             .where(Meeting.cohort_id == cohort_id, Meeting.student_id.in_(student_ids)))
    if chosen.state == CONFIRMED:
        query = query.where(Meeting.confirmed_at.is_not(None))
    elif chosen.state == AWAITING:  # neither confirmed nor disputed: the supervisor has yet to answer
        query = query.where(Meeting.confirmed_at.is_(None), Meeting.disputed_at.is_(None))
    elif chosen.state == DISPUTED:
        query = query.where(Meeting.disputed_at.is_not(None))
    if chosen.since:
        query = query.where(Meeting.met_on >= chosen.since)
    if chosen.until:
        query = query.where(Meeting.met_on <= chosen.until)
    return query.order_by(func.lower(User.name), Meeting.student_id, Meeting.met_on.desc(), Meeting.id.desc())


@dataclass(frozen=True)
class Totals:
    """A student's records in all: how many, how many of them disputed, and the latest meeting that is
    not disputed (None: every record is), as the overdue report counts them."""

    meetings: int
    disputed: int
    last: date | None


def totals(cohort_id: int, student_ids: list[int]) -> dict[int, Totals]:
    """student id -> their ``Totals``, for the students with any record, in one query."""
    disputed = Meeting.disputed_at.is_not(None)
    return {sid: Totals(n, int(d or 0), last) for sid, n, d, last in db.session.execute(
        select(Meeting.student_id, func.count(), func.sum(case((disputed, 1), else_=0)),
               func.max(case((disputed, None), else_=Meeting.met_on)))
        .where(Meeting.cohort_id == cohort_id, Meeting.student_id.in_(student_ids))
        .group_by(Meeting.student_id))}


def grouped(allocations: list[Allocation], items: list[Meeting]) -> list[tuple[Allocation, list[Meeting]]]:
    """A page's meetings under their student's allocation, in the page's order."""
    by_student = {a.student_id: a for a in allocations}
    groups: list[tuple[Allocation, list[Meeting]]] = []
    for m in items:
        if not groups or groups[-1][0].student_id != m.student_id:
            groups.append((by_student[m.student_id], []))
        groups[-1][1].append(m)
    return groups
