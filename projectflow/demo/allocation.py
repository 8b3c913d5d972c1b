"""The demo's allocations: last year's cohort allocated and published (with one hand move), and a
trial run of this year's cohort, each run solved by the job runner as `projectflow scheduler` would."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ..cohorts.models import Cohort
from ..core import clock, jobs
from ..extensions import db
from ..matching import second_markers, services
from ..matching.models import Allocation, AllocationRun, MarkerAssignment
from ..people.models import User
from ..proposals.models import APPROVED, Project


def solve_runs(cohort: Cohort, coordinator: User, objectives: list[tuple[str, str]]) -> list[AllocationRun]:
    """Start and solve one run per (objective, note), one after the other. Commits (the job runner does)."""
    runs = []
    for objective, note in objectives:
        run = services.start_run(cohort, objective=objective, note=note, by=coordinator)
        db.session.commit()
        jobs.run_pending()
        db.session.refresh(run)
        runs.append(run)
    return runs


def place_one_by_hand(run: AllocationRun, coordinator: User) -> bool:
    """Place the first student left out on a project that still has room, as a coordinator would
    after talking to them; False when nobody is left out or nothing has room."""
    placed = {a.student_id for a in run.allocations}
    left_out = [e.student for e in sorted(run.cohort.enrolments, key=lambda e: e.student.name) if e.user_id not in placed]
    projects = db.session.scalars(select(Project).where(Project.cohort_id == run.cohort_id, Project.state == APPROVED,
                                                        Project.proposed_by_id.is_(None)).order_by(Project.id)).all()
    for student in left_out:
        for project in projects:
            if services.check_move(run, student, project).ok:
                services.move_student(run, student, project, by=coordinator)
                return True
    return False


def allocate_previous_year(cohort: Cohort, coordinator: User, at: datetime) -> AllocationRun:
    """Two runs to compare, a hand move on the better one, then publication a day later."""
    with clock.frozen(at):
        best, _ = solve_runs(cohort, coordinator, [("min-cost", "Main run after the deadline"),
                                                   ("greedy", "For comparison: most first choices")])
    with clock.frozen(at + timedelta(hours=2)):
        place_one_by_hand(best, coordinator)
        db.session.commit()
    with clock.frozen(at + timedelta(days=1)):
        services.publish_run(best, by=coordinator)
        db.session.commit()
    with clock.frozen(at + timedelta(days=3)):
        _second_markers(best, coordinator)
        db.session.commit()
    return best


def _second_markers(run: AllocationRun, coordinator: User) -> None:
    """A declared conflict, the engine's choice, one marker changed by hand (to the demo's staff login
    when it can take one: its My students and progress grid then show a second-marked student by
    candidate number), then publication."""
    first = min(run.allocations, key=lambda a: a.id)
    other = next(s.member for s in sorted(run.cohort.staff, key=lambda s: s.user_id)
                 if s.user_id not in first.project.supervisor_ids() and not s.is_coordinator)
    second_markers.declare_conflict(run.cohort, other, first.student,
                                    "Was the student's line manager in industry.", by=coordinator)
    second_markers.assign_second_markers(run.cohort, by=coordinator)
    db.session.flush()
    for allocation in sorted(run.allocations, key=lambda a: a.id)[1:]:
        for member in sorted(run.cohort.staff, key=lambda s: (not s.member.email.startswith("staff@"), s.user_id)):
            if not second_markers.check_marker(allocation, member.member).problems:
                current = db.session.scalar(select(MarkerAssignment).where(
                    MarkerAssignment.allocation_id == allocation.id))
                if current is None or current.marker_id != member.user_id:
                    second_markers.change_marker(allocation, member.member, by=coordinator)
                    second_markers.publish_second_markers(run.cohort, by=coordinator)
                    return
    second_markers.publish_second_markers(run.cohort, by=coordinator)


def demo_student_with_explanation() -> str | None:
    """A student of the published allocation who did not get their 1st choice: their page explains why."""
    return db.session.scalar(
        select(User.email).join(Allocation, Allocation.student_id == User.id).join(AllocationRun)
        .where(AllocationRun.state == "published", Allocation.rank >= 2).order_by(User.id).limit(1))
