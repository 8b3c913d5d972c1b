"""The coordinator's panels page: one page at a time of the cohort's posters with everyone who assesses
each (supervisor, second marker, panel members), and the choices of the "add a panel member" form.

Who assesses a poster is the rule of ``services.posters`` (its helpers ``second_markers_of`` and
``panel_members_of``), read here for the page's posters only, so the page runs the same number of
queries for 40 students as for 400.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from ..cohorts.models import Cohort, Enrolment
from ..core.audit import AuditEvent
from ..extensions import db
from ..matching.models import Allocation
from ..matching.services import published_run
from ..people.models import User
from . import services
from .models import PanelMember, PosterSchedule

PER_PAGE = 50


@dataclass(frozen=True)
class Row:
    """One poster of the page: its student and the people who assess it, each in their role."""

    student: User
    candidate_number: str
    supervisor: User
    second_marker: User | None
    panel: tuple[PanelMember, ...]


@dataclass(frozen=True)
class PanelsPage:
    rows: list[Row]
    page: object  # a Flask-SQLAlchemy Pagination of the allocations, by student name
    posters: int  # the cohort's posters, whatever the search
    panel_members: int  # the cohort's panel members
    markers_published: bool


def panels_page(cohort: Cohort, *, q: str = "", page: int = 1, per_page: int = PER_PAGE) -> PanelsPage:
    """One page of the cohort's posters (those whose student's name or candidate number contains
    ``q``, when given), by student name, each with its assessors."""
    run = published_run(cohort)
    run_id = run.id if run is not None else -1
    query = (select(Allocation).join(User, User.id == Allocation.student_id)
             .where(Allocation.run_id == run_id))
    if q:
        # Taken literally: "_" and "%" are not wildcards.
        numbers = select(Enrolment.user_id).where(Enrolment.cohort_id == cohort.id,
                                                  Enrolment.candidate_number.contains(q, autoescape=True))
        query = query.where(or_(func.lower(User.name).contains(q.lower(), autoescape=True),
                                Allocation.student_id.in_(numbers)))
    query = query.order_by(func.lower(User.name), Allocation.student_id)
    found = db.paginate(query, page=page, per_page=per_page, error_out=False)
    if found.pages and page > found.pages:
        found = db.paginate(query, page=found.pages, per_page=per_page, error_out=False)
    allocations = list(found.items)
    student_ids = [a.student_id for a in allocations]
    markers = services.second_markers_of(cohort, run_id, [a.id for a in allocations])
    panels = services.panel_members_of(cohort, student_ids)
    numbers = services.candidate_numbers(cohort, student_ids) if student_ids else {}
    rows = [Row(a.student, numbers.get(a.student_id, ""), a.supervisor, markers.get(a.id),
                tuple(panels.get(a.student_id, ()))) for a in allocations]
    total = db.session.scalar(select(func.count(Allocation.id)).where(Allocation.run_id == run_id))
    members = db.session.scalar(select(func.count(PanelMember.id)).where(PanelMember.cohort_id == cohort.id))
    return PanelsPage(rows, found, total, members, cohort.second_markers_published_at is not None)


def poster_students(cohort: Cohort) -> list[tuple[int, str]]:
    """(id, "name (candidate number)") of every student with a poster, by name: the form's choices."""
    run = published_run(cohort)
    if run is None:
        return []
    found = db.session.execute(
        select(User.id, User.name, Enrolment.candidate_number)
        .join(Allocation, Allocation.student_id == User.id)
        .outerjoin(Enrolment, (Enrolment.user_id == User.id) & (Enrolment.cohort_id == cohort.id))
        .where(Allocation.run_id == run.id).order_by(func.lower(User.name), User.id)).all()
    return [(uid, f"{name} ({number})" if number else name) for uid, name, number in found]


def staff_choices(cohort: Cohort) -> list[tuple[int, str]]:
    """(id, name) of the cohort's staff whose accounts are active, by name."""
    return [(s.user_id, s.member.name) for s in sorted(cohort.staff, key=lambda s: (s.member.name.lower(), s.user_id))
            if s.member.is_active]


def removal_of(cohort: Cohort, panel_member_id: int) -> AuditEvent | None:
    """The audit event of the panel member's removal from a poster panel of ``cohort``, when they were
    removed: the same Remove button pressed again finds the row gone and says so, not "no such page"."""
    return db.session.scalar(select(AuditEvent).where(
        AuditEvent.object_type == PanelMember.__tablename__, AuditEvent.object_id == panel_member_id,
        AuditEvent.cohort_id == cohort.id, AuditEvent.action == "posters.panel_member_removed")
        .order_by(AuditEvent.id.desc()).limit(1))


def schedule_states(cohort: Cohort) -> list[str]:
    """The states of the cohort's poster schedules (without their inputs and results): whether a
    schedule was made, and published, before the panels change."""
    return list(db.session.scalars(select(PosterSchedule.state).where(PosterSchedule.cohort_id == cohort.id)))
