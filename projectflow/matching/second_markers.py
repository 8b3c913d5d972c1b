"""Second markers for the published allocation: assigned by the engine (``solvers.markers``), reviewed
and adjusted by the coordinator, then published to the markers.

Each allocated student's project gets one second marker: never its supervisor or a co-supervisor,
never someone with a declared conflict of interest with the student, nobody above their maximum
(their supervision load limit for the cohort), expertise as close to the project's keywords as
possible and loads as even as possible. Markers the coordinator chose by hand are kept when the
engine runs again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, selectinload

from ..cohorts.models import Cohort
from ..core import audit, clock, once
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..reminders.notices import notify
from ..extensions import db
from ..people.models import User
from ..proposals.models import Project
from ..solvers.markers import MarkedProject, Marker, MarkerPair, MarkerProblem, MarkerResult, assign_markers
from . import services
from .models import SECOND, Allocation, MarkerAssignment, MarkingConflict


def _require_coordinator(cohort: Cohort, by: User) -> None:
    if not cohort.can_manage(by):
        raise NotAllowed("Only the cohort's coordinators assign second markers.")


def _published_allocations(cohort: Cohort) -> list[Allocation]:
    run = services.published_run(cohort)
    if run is None:
        raise InvalidState("Publish the allocation first: second markers are chosen for allocated projects.")
    return list(db.session.scalars(
        select(Allocation).where(Allocation.run_id == run.id)
        .options(selectinload(Allocation.project).selectinload(Project.co_supervisors))
        .order_by(Allocation.id)))


def _markers_of(allocations: list[Allocation]) -> dict[int, MarkerAssignment]:
    ids = [a.id for a in allocations]
    return {m.allocation_id: m for m in db.session.scalars(
        select(MarkerAssignment).where(MarkerAssignment.allocation_id.in_(ids), MarkerAssignment.role == SECOND))}


def _staff(cohort: Cohort) -> list:
    return [s for s in cohort.staff if s.member.staff_profile is not None and s.member.is_active]


def _conflicts(cohort: Cohort) -> set[tuple[int, int]]:
    """(staff id, student id) pairs that must never meet in marking."""
    return {(staff, student) for staff, student in db.session.execute(
        select(MarkingConflict.staff_id, MarkingConflict.student_id).where(MarkingConflict.cohort_id == cohort.id))}


def marker_problem(cohort: Cohort) -> MarkerProblem:
    """The cohort's second-marking problem: ``a<allocation id>`` projects, ``t<user id>`` staff."""
    allocations = _published_allocations(cohort)
    current = _markers_of(allocations)
    conflicts = _conflicts(cohort)
    staff = _staff(cohort)
    return MarkerProblem(
        projects=tuple(MarkedProject(f"a{a.id}", tuple(f"t{uid}" for uid in sorted(a.project.supervisor_ids())),
                                     tuple(a.project.keywords or ())) for a in allocations),
        staff=tuple(Marker(f"t{s.user_id}", s.effective_load_limit, tuple(s.member.staff_profile.expertise))
                    for s in staff),
        conflicts=tuple(MarkerPair(f"a{a.id}", f"t{s.user_id}") for a in allocations for s in staff
                        if (s.user_id, a.student_id) in conflicts),
        fixed=tuple(MarkerPair(f"a{a.id}", f"t{current[a.id].marker_id}") for a in allocations
                    if a.id in current and current[a.id].is_moved),
    )


def assign_second_markers(cohort: Cohort, *, by: User) -> MarkerResult:
    """Let the engine choose every second marker not chosen by hand (replacing its earlier choices)."""
    _require_coordinator(cohort, by)
    once.lock(cohort)  # one assignment at a time per cohort: a second sent at once finds it made
    if cohort.second_markers_published_at is not None:
        raise InvalidState("The second markers are published: change a project's marker by hand instead.")
    allocations = _published_allocations(cohort)
    problem = marker_problem(cohort)
    result = assign_markers(problem)
    if result.status != "optimal":
        raise InvalidState(f"No assignment was made: {result.message}")
    current = _markers_of(allocations)
    chosen = {int(a.project[1:]): int(a.marker[1:]) for a in result.assignments}
    if {k: v for k, v in chosen.items() if not (k in current and current[k].is_moved)} == \
            {k: m.marker_id for k, m in current.items() if not m.is_moved}:
        return result  # the engine chose what is already there: nothing to change or record
    for m in current.values():
        if not m.is_moved:
            db.session.delete(m)
    db.session.flush()
    now = clock.now()
    for a in result.assignments:
        allocation_id = int(a.project[1:])
        if allocation_id in current and current[allocation_id].is_moved:
            continue
        db.session.add(MarkerAssignment(allocation_id=allocation_id, marker_id=int(a.marker[1:]), role=SECOND,
                                        overlap=a.overlap, created_at=now))
    audit.record("second_markers.assigned", cohort, actor=by, cohort=cohort,
                 summary=f"Assigned second markers: {len(result.assignments)} of {len(problem.projects)} projects",
                 after={"marked": len(result.assignments), "unmarked": list(result.unassigned),
                        "overlap_total": result.overlap_total, "fair_share": result.fair_share,
                        "solve_seconds": round(result.solve_seconds, 3)})
    return result


@dataclass(frozen=True)
class MarkerCheck:
    problems: tuple[str, ...]
    overlap: int


def _loads(run_id: int, *, besides: int | None = None) -> Counter:
    """How many projects of the run each member of staff second-marks (besides one allocation's)."""
    query = (select(MarkerAssignment.marker_id, func.count(MarkerAssignment.id)).join(Allocation)
             .where(Allocation.run_id == run_id, MarkerAssignment.role == SECOND)
             .group_by(MarkerAssignment.marker_id))
    if besides is not None:
        query = query.where(MarkerAssignment.allocation_id != besides)
    return Counter(dict(db.session.execute(query).all()))


def _verdict(allocation: Allocation, marker: User, member, conflicts: set[tuple[int, int]],
             load: Counter) -> MarkerCheck:
    """The rules of a second marker, given what they need loaded: one place for the single check
    (a change) and the check of every member of staff (the change page)."""
    problems = []
    if member is None or marker.staff_profile is None:
        problems.append(f"{marker.name} is not staff of this cohort.")
    if marker.id in allocation.project.supervisor_ids():
        problems.append(f"{marker.name} supervises this project: the second marker must be someone else.")
    if (marker.id, allocation.student_id) in conflicts:
        problems.append(f"{marker.name} has declared a conflict of interest with {allocation.student.name}.")
    if member is not None and load[marker.id] >= member.effective_load_limit:
        problems.append(f"{marker.name} already second-marks {load[marker.id]} projects, their maximum.")
    expertise = {k.strip().casefold() for k in (marker.staff_profile.expertise if marker.staff_profile else [])}
    overlap = len({k.strip().casefold() for k in allocation.project.keywords or ()} & expertise)
    return MarkerCheck(tuple(problems), overlap)


def _published_run_id(cohort: Cohort) -> int:
    run = services.published_run(cohort)
    if run is None:
        raise InvalidState("Publish the allocation first: second markers are chosen for allocated projects.")
    return run.id


def check_marker(allocation: Allocation, marker: User) -> MarkerCheck:
    """Whether ``marker`` may second-mark ``allocation``'s project, and their expertise overlap."""
    cohort = allocation.run.cohort
    load = _loads(_published_run_id(cohort), besides=allocation.id)
    return _verdict(allocation, marker, cohort.staff_member(marker), _conflicts(cohort), load)


def current_marker(allocation: Allocation) -> MarkerAssignment | None:
    """The second marker of ``allocation``'s project, if it has one."""
    return _markers_of([allocation]).get(allocation.id)


@dataclass(frozen=True)
class Candidate:
    member: object  # CohortStaff
    check: MarkerCheck
    load: int  # projects they second-mark besides this one
    maximum: int


def candidates(allocation: Allocation) -> list[Candidate]:
    """Every active member of the cohort's staff checked as the second marker of ``allocation``'s
    project: who may mark it first, the closest expertise first, then the lightest load."""
    cohort = allocation.run.cohort
    load = _loads(_published_run_id(cohort), besides=allocation.id)
    conflicts = _conflicts(cohort)
    found = [Candidate(s, _verdict(allocation, s.member, s, conflicts, load), load[s.user_id],
                       s.effective_load_limit) for s in _staff(cohort)]
    return sorted(found, key=lambda c: (bool(c.check.problems), -c.check.overlap, c.load,
                                        c.member.member.name.lower()))


def change_marker(allocation: Allocation, marker: User, *, by: User) -> MarkerAssignment:
    """The coordinator chooses the second marker of one project (kept when the engine runs again)."""
    cohort = allocation.run.cohort
    _require_coordinator(cohort, by)
    once.lock(cohort)  # one change of second markers at a time per cohort
    if allocation.run.state != "published":
        raise InvalidState("Second markers are chosen for the published allocation only.")
    check = check_marker(allocation, marker)
    if check.problems:
        raise ValidationFailed(" ".join(check.problems), field="marker")
    current = _markers_of([allocation]).get(allocation.id)
    if current is not None and current.marker_id == marker.id and current.is_moved:
        return current  # already their marker (the same form sent twice): nothing to change
    before = current.marker.name if current else None
    if current is None:
        current = MarkerAssignment(allocation_id=allocation.id, role=SECOND, created_at=clock.now())
        db.session.add(current)
    previous_marker = current.marker if current.marker_id else None
    current.marker_id, current.overlap, current.is_moved = marker.id, check.overlap, True
    db.session.flush()
    audit.record("second_markers.changed", cohort, actor=by, cohort=cohort,
                 summary=f"Second marker of {allocation.student.name}'s project: {before or 'none'} -> {marker.name}",
                 before={"marker": before}, after={"marker": marker.name, "allocation_id": allocation.id})
    if cohort.second_markers_published_at is not None:
        notify([marker], f"You are now the second marker of “{allocation.project.title}” ({cohort.title}).",
               link=f"/cohorts/{cohort.id}/allocation/my-students", cohort=cohort)
        if previous_marker is not None and previous_marker.id != marker.id:
            notify([previous_marker], f"You no longer second-mark “{allocation.project.title}” ({cohort.title}).",
                   link=f"/cohorts/{cohort.id}/allocation/my-students", cohort=cohort)
    return current


def declare_conflict(cohort: Cohort, staff: User, student: User, reason: str, *, by: User) -> MarkingConflict:
    """Record that ``staff`` must not mark ``student``'s work; a marker assignment it breaks is removed."""
    _require_coordinator(cohort, by)
    if cohort.staff_member(staff) is None:
        raise ValidationFailed(f"{staff.name} is not staff of this cohort.", field="staff")
    if not cohort.is_student(student):
        raise ValidationFailed(f"{student.name} is not a student of this cohort.", field="student")
    if not reason.strip():
        raise ValidationFailed("Say what the conflict is (e.g. “relative”, “line manager at work”).", field="reason")
    exists = db.session.scalar(select(MarkingConflict).where(
        MarkingConflict.cohort_id == cohort.id, MarkingConflict.staff_id == staff.id,
        MarkingConflict.student_id == student.id))
    if exists is not None:
        raise ValidationFailed(f"A conflict between {staff.name} and {student.name} is already recorded.",
                               field="staff")
    conflict = MarkingConflict(cohort_id=cohort.id, staff_id=staff.id, student_id=student.id, reason=reason.strip(),
                               declared_by_id=by.id, created_at=clock.now())
    db.session.add(conflict)
    broken = db.session.scalars(select(MarkerAssignment).join(Allocation).where(
        Allocation.student_id == student.id, MarkerAssignment.marker_id == staff.id)).all()
    for m in broken:
        db.session.delete(m)
    audit.record("second_markers.conflict_declared", conflict, actor=by, cohort=cohort,
                 summary=f"Conflict of interest: {staff.name} does not mark {student.name}",
                 after={"reason": conflict.reason, "assignments_removed": len(broken)})
    return conflict


def publish_second_markers(cohort: Cohort, *, by: User) -> int:
    """Tell each marker which projects they second-mark; every allocated project needs one first."""
    _require_coordinator(cohort, by)
    once.lock(cohort)  # of two publications at once, the second finds the markers published
    if cohort.second_markers_published_at is not None:
        raise InvalidState("The second markers are already published.")
    allocations = _published_allocations(cohort)
    markers = _markers_of(allocations)
    missing = [a for a in allocations if a.id not in markers]
    if not allocations:
        raise InvalidState("The published allocation has no projects to mark.")
    if missing:
        raise InvalidState(f"{len(missing)} project{'s have' if len(missing) != 1 else ' has'} no second marker yet "
                           f"(e.g. {missing[0].student.name}'s): assign them before publishing.")
    cohort.second_markers_published_at = clock.now()
    by_marker: dict[int, list[Allocation]] = {}
    for a in allocations:
        by_marker.setdefault(markers[a.id].marker_id, []).append(a)
    for marker_id, theirs in by_marker.items():
        marker = markers[theirs[0].id].marker
        notify([marker], f"You are the second marker of {len(theirs)} project{'s' if len(theirs) != 1 else ''} in "
                         f"{cohort.title}.", link=f"/cohorts/{cohort.id}/allocation/my-students", cohort=cohort,
               subject="projectflow: your second marking")
    audit.record("second_markers.published", cohort, actor=by, cohort=cohort,
                 summary=f"Published the second markers of {len(allocations)} projects to {len(by_marker)} markers",
                 after={"projects": len(allocations), "markers": len(by_marker)})
    return len(by_marker)


@dataclass(frozen=True)
class MarkerLoad:
    member: object  # CohortStaff
    load: int
    maximum: int


MARKERS_PER_PAGE = 50
MARKER_FILTERS = {"": "Every project", "none": "No second marker", "by_hand": "Chosen by hand"}


@dataclass(frozen=True)
class MarkingOverview:
    allocations: object  # a page (Flask-SQLAlchemy Pagination) of the allocations, by student name
    markers: dict[int, MarkerAssignment]  # the second markers of the page's allocations
    loads: list[MarkerLoad]
    fair_share: int
    conflicts: list[MarkingConflict]
    total: int  # allocated projects
    unmarked: int  # of which without a second marker


def overview(cohort: Cohort, *, page: int = 1, per_page: int | None = None, show: str = "", q: str = "",
             marker_id: int | None = None, supervisor_id: int | None = None) -> MarkingOverview:
    """What the coordinator's second-marker page shows: the counts and loads of the whole cohort, and
    one page of its allocated projects (those without a marker, chosen by hand, marked or supervised
    by one person, or whose student, project or people's names contain ``q``, when asked)."""
    run_id = _published_run_id(cohort)
    counts = _loads(run_id)
    staff = _staff(cohort)
    loads = sorted((MarkerLoad(s, counts.get(s.user_id, 0), s.effective_load_limit) for s in staff),
                   key=lambda r: (-r.load, r.member.member.name.lower()))
    total = db.session.scalar(select(func.count(Allocation.id)).where(Allocation.run_id == run_id))
    capable = sum(1 for s in staff if s.effective_load_limit > 0)
    conflicts = list(db.session.scalars(select(MarkingConflict).where(MarkingConflict.cohort_id == cohort.id)
                                        .order_by(MarkingConflict.id)))
    # One page at a time: the list of a faculty-sized cohort was megabytes (issue 9, gate 7).
    student, supervisor, marker = aliased(User), aliased(User), aliased(User)
    mark = aliased(MarkerAssignment)
    query = (select(Allocation).join(student, Allocation.student_id == student.id)
             .outerjoin(mark, (mark.allocation_id == Allocation.id) & (mark.role == SECOND))
             .where(Allocation.run_id == run_id))
    if show == "none":
        query = query.where(mark.id.is_(None))
    elif show == "by_hand":
        query = query.where(mark.is_moved.is_(True))
    if marker_id is not None:
        query = query.where(mark.marker_id == marker_id)
    if supervisor_id is not None:
        query = query.where(Allocation.supervisor_id == supervisor_id)
    if q:
        words = q.lower()
        query = (query.join(Project, Allocation.project_id == Project.id)
                 .join(supervisor, Allocation.supervisor_id == supervisor.id)
                 .outerjoin(marker, mark.marker_id == marker.id)
                 .where(or_(*(func.lower(column).contains(words, autoescape=True)
                              for column in (student.name, Project.title, supervisor.name, marker.name)))))
    query = query.order_by(func.lower(student.name), Allocation.id)
    per_page = per_page or MARKERS_PER_PAGE
    found = db.paginate(query, page=page, per_page=per_page, error_out=False)
    if found.pages and page > found.pages:
        found = db.paginate(query, page=found.pages, per_page=per_page, error_out=False)
    share = -(-total // capable) if capable else 0
    return MarkingOverview(found, _markers_of(found.items), loads, share, conflicts, total,
                           total - sum(counts.values()))


def marked_by(cohort: Cohort, marker: User) -> list[Allocation]:
    """The published projects ``marker`` second-marks (once the coordinator has published them)."""
    if cohort.second_markers_published_at is None:
        return []
    run = services.published_run(cohort)
    return list(db.session.scalars(select(Allocation).join(MarkerAssignment).where(
        Allocation.run_id == run.id, MarkerAssignment.marker_id == marker.id, MarkerAssignment.role == SECOND)))

