"""When two markers disagree: reconciliation between them, and a third marker when they cannot agree
or are too far apart (DESIGN.md section 3; the thresholds are the cohort's marking rules).

Reconciliation: once both sheets are submitted the two markers see each other's sheet and a discussion
thread; one proposes an agreed mark between their two marks with a written justification, the other
confirms it; either may declare that they cannot agree, which sends the component to a third marker.
The third marker is proposed by the second-marker engine (never the supervisor, the second marker or
anyone with a declared conflict; loads kept even) and confirmed by the coordinator; they see both
sheets and give a mark between the two. The engine (``agreement.refresh``) then decides the mark.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort
from ..core import audit, clock, once
from ..core.calendar import extend_deadline
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..extensions import db
from ..matching.models import MarkingConflict
from ..matching.services import allocation_of
from ..milestones.services import working_calendar
from ..people.models import User
from ..solvers.markers import MarkedProject, Marker, MarkerPair, MarkerProblem, assign_markers
from . import agreement as agreeing
from .models import (
    FIRST, IN_RECONCILIATION, NOT_STARTED, SECOND, SUBMITTED, THIRD, THIRD_MARKING, Agreement, MarkingRules,
    MarkSheet, ReconciliationMessage,
)

MESSAGE_LIMIT = 5000


def sheets_of(agreement: Agreement) -> dict[str, MarkSheet]:
    """The live sheets of the agreement's student and component, by role."""
    return {s.role: s for s in db.session.scalars(select(MarkSheet).where(
        MarkSheet.component_id == agreement.component_id, MarkSheet.student_id == agreement.student_id,
        MarkSheet.replaced_at.is_(None)))}


def _pair_submitted(sheets: dict[str, MarkSheet], agreement: Agreement) -> bool:
    return all(role in sheets and sheets[role].state == SUBMITTED for role in agreement.component.roles)


def can_see(agreement: Agreement, user: User) -> bool:
    """The markers of the student's component once the first and second sheets are both submitted
    (blind until then); the cohort's coordinators who do not mark it."""
    if not user.is_authenticated:
        return False
    sheets = sheets_of(agreement)
    if user.id in {s.marker_id for s in sheets.values()}:
        return _pair_submitted(sheets, agreement)
    return agreement.component.cohort.can_manage(user)


def is_reconciler(agreement: Agreement, user: User) -> bool:
    """The first or second marker of the agreement's student and component."""
    return user.is_authenticated and any(s.marker_id == user.id and s.role in (FIRST, SECOND)
                                         for s in sheets_of(agreement).values())


def _reconciler(agreement: Agreement, user: User) -> MarkSheet:
    once.lock(agreement)  # the same button pressed twice at once: the second sees what the first did
    sheets = sheets_of(agreement)
    mine = next((s for s in sheets.values() if s.marker_id == user.id and s.role in (FIRST, SECOND)), None)
    if mine is None:
        raise NotAllowed("Only the first and second markers reconcile their marks.")
    if agreement.state != IN_RECONCILIATION:
        raise InvalidState("This mark is not in reconciliation: " + agreeing.describe(agreement) + ".")
    return mine


def marks_range(agreement: Agreement) -> tuple[Decimal, Decimal]:
    sheets = sheets_of(agreement)
    marks = [sheets[r].mark for r in (FIRST, SECOND) if r in sheets and sheets[r].mark is not None]
    return min(marks), max(marks)


def post_message(agreement: Agreement, body: str, *, by: User) -> ReconciliationMessage:
    """A message to the other marker in the reconciliation's discussion."""
    _reconciler(agreement, by)
    body = body.strip()
    if not body:
        raise ValidationFailed("Write a message first.", field="body")
    if len(body) > MESSAGE_LIMIT:
        raise ValidationFailed(f"Keep a message within {MESSAGE_LIMIT:,} characters.", field="body")
    message = ReconciliationMessage(agreement_id=agreement.id, author_id=by.id, body=body, created_at=clock.now())
    db.session.add(message)
    db.session.flush()
    return message


def propose(agreement: Agreement, mark: Decimal, justification: str, *, by: User) -> Agreement:
    """Propose the agreed mark: between the two markers' marks, with a written justification. The
    other marker confirms it; a new proposal replaces an unconfirmed one."""
    _reconciler(agreement, by)
    low, high = marks_range(agreement)
    if not low <= mark <= high:
        raise ValidationFailed(f"An agreed mark lies between the two marks, {low} and {high}.", field="mark")
    justification = justification.strip()
    if not justification:
        raise ValidationFailed("Justify the agreed mark: the external examiner reads it.", field="justification")
    if len(justification) > MESSAGE_LIMIT:
        raise ValidationFailed(f"Keep the justification within {MESSAGE_LIMIT:,} characters.", field="justification")
    if (agreement.reconciled_mark, agreement.justification, agreement.proposed_by_id) == (mark, justification, by.id) \
            and agreement.confirmed_at is None:
        return agreement  # the same proposal again (sent twice): nothing changes
    agreement.reconciled_mark, agreement.justification = mark, justification
    agreement.proposed_by_id, agreement.proposed_at = by.id, clock.now()
    agreement.confirmed_by_id = agreement.confirmed_at = None
    agreement.updated_at = clock.now()
    audit.record("assessment.reconciliation_proposed", agreement, actor=by, cohort=agreement.component.cohort,
                 summary=f"Proposed {mark} as the agreed {agreement.component.title.lower()} mark of "
                         f"{agreement.student.name}", after={"mark": mark, "justification": justification})
    db.session.flush()
    return agreement


def confirm(agreement: Agreement, *, by: User) -> Agreement:
    """The other marker confirms the proposed mark: the component is agreed by reconciliation."""
    _reconciler(agreement, by)
    if agreement.proposed_by_id is None or agreement.reconciled_mark is None:
        raise InvalidState("No mark has been proposed yet.")
    if agreement.proposed_by_id == by.id:
        raise NotAllowed("The other marker confirms your proposal; you cannot confirm your own.")
    agreement.confirmed_by_id, agreement.confirmed_at = by.id, clock.now()
    audit.record("assessment.reconciliation_confirmed", agreement, actor=by, cohort=agreement.component.cohort,
                 summary=f"Confirmed {agreement.reconciled_mark} as the agreed {agreement.component.title.lower()} "
                         f"mark of {agreement.student.name}", after={"mark": agreement.reconciled_mark})
    db.session.flush()
    return agreeing.refresh(agreement.component, agreement.student, by=by)


def cannot_agree(agreement: Agreement, reason: str, *, by: User) -> Agreement:
    """Either marker declares that they cannot agree: the component goes to a third marker."""
    _reconciler(agreement, by)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Say why you cannot agree: the third marker and the coordinator read it.",
                               field="reason")
    post_message(agreement, f"We cannot agree: {reason}", by=by)
    agreement.cannot_agree_at = clock.now()
    agreement.reconciled_mark = None
    agreement.proposed_by_id = agreement.proposed_at = agreement.confirmed_by_id = agreement.confirmed_at = None
    audit.record("assessment.reconciliation_failed", agreement, actor=by, cohort=agreement.component.cohort,
                 summary=f"The markers of {agreement.student.name}'s {agreement.component.title.lower()} cannot "
                         f"agree: {reason}", after={"reason": reason})
    db.session.flush()
    return agreeing.refresh(agreement.component, agreement.student, by=by)


# --- third markers -------------------------------------------------------------------------------

def propose_third_marker(agreement: Agreement) -> User | None:
    """The second-marker engine's choice of a third marker for this student's component: not the
    supervisors, not the second marker, nobody with a declared conflict; third-marking loads kept even
    across the cohort (the third markers already chosen count). None when nobody can."""
    cohort = agreement.component.cohort
    allocation = allocation_of(cohort, agreement.student)
    if allocation is None:
        return None
    staff = [s for s in cohort.staff if s.member.is_active and s.member.staff_profile is not None]
    conflicted = set(db.session.scalars(select(MarkingConflict.staff_id).where(
        MarkingConflict.cohort_id == cohort.id, MarkingConflict.student_id == agreement.student_id)))
    sheets = sheets_of(agreement)
    excluded = set(allocation.project.supervisor_ids()) | {s.marker_id for s in sheets.values()}
    # The third markers already chosen in the cohort, as fixed pairs: they count toward loads.
    taken = db.session.execute(select(MarkSheet.id, MarkSheet.marker_id).join(MarkSheet.component).where(
        MarkSheet.role == THIRD, MarkSheet.replaced_at.is_(None), MarkSheet.component.has(cohort_id=cohort.id))).all()
    staff_ids = {s.user_id for s in staff}
    projects = [MarkedProject(f"x{sheet_id}", ()) for sheet_id, marker in taken if marker in staff_ids]
    fixed = [MarkerPair(f"x{sheet_id}", f"t{marker}") for sheet_id, marker in taken if marker in staff_ids]
    keywords = tuple(allocation.project.keywords or ())
    projects.append(MarkedProject("new", tuple(f"t{uid}" for uid in sorted(excluded & staff_ids)), keywords))
    # A load limit of 0 (someone on leave) keeps a person out of third marking too.
    capacity = {s.user_id: s.effective_load_limit + sum(1 for _, m in taken if m == s.user_id) for s in staff}
    problem = MarkerProblem(
        projects=tuple(projects),
        staff=tuple(Marker(f"t{s.user_id}", capacity[s.user_id], tuple(s.member.staff_profile.expertise))
                    for s in staff),
        conflicts=tuple(MarkerPair("new", f"t{uid}") for uid in conflicted & staff_ids),
        fixed=tuple(fixed))
    result = assign_markers(problem)
    chosen = next((a.marker for a in result.assignments if a.project == "new"), None)
    return db.session.get(User, int(chosen[1:])) if chosen else None


def check_third_marker(agreement: Agreement, marker: User) -> None:
    cohort = agreement.component.cohort
    allocation = allocation_of(cohort, agreement.student)
    if cohort.staff_member(marker) is None:
        raise ValidationFailed(f"{marker.name} is not on the staff of this cohort.", field="marker")
    if allocation is not None and marker.id in allocation.project.supervisor_ids():
        raise ValidationFailed(f"{marker.name} supervises this student: a third marker is independent.",
                               field="marker")
    if marker.id in {s.marker_id for s in sheets_of(agreement).values() if s.role != THIRD}:
        raise ValidationFailed(f"{marker.name} already marked this work.", field="marker")
    if db.session.scalar(select(MarkingConflict.id).where(MarkingConflict.cohort_id == cohort.id,
                                                          MarkingConflict.staff_id == marker.id,
                                                          MarkingConflict.student_id == agreement.student_id)):
        raise ValidationFailed(f"{marker.name} declared a conflict of interest with this student.", field="marker")


def appoint_third_marker(agreement: Agreement, marker: User, *, by: User) -> MarkSheet:
    """The coordinator confirms the third marker (the engine's proposal, or another): they get a sheet
    on the second marker's rubric version, due after the cohort's interim feedback time."""
    cohort = agreement.component.cohort
    if not cohort.can_manage(by):
        raise NotAllowed("Only the cohort's coordinators appoint third markers.")
    once.lock(agreement)
    if agreement.state != THIRD_MARKING:
        raise InvalidState("This mark does not need a third marker: " + agreeing.describe(agreement) + ".")
    sheets = sheets_of(agreement)
    if THIRD in sheets:
        raise InvalidState(f"{sheets[THIRD].marker.name} is the third marker already.")
    check_third_marker(agreement, marker)
    rules = db.session.get(MarkingRules, cohort.id) or MarkingRules(cohort_id=cohort.id)
    now = clock.now()
    base = sheets.get(SECOND) or sheets[FIRST]
    sheet = MarkSheet(component_id=agreement.component_id, rubric_id=base.rubric_id, student_id=agreement.student_id,
                      marker_id=marker.id, role=THIRD, state=NOT_STARTED, created_at=now, updated_at=now,
                      due_at=extend_deadline(now, rules.interim_feedback_working_days, cohort.zone,
                                             working_calendar(cohort)))
    db.session.add(sheet)
    agreement.updated_at = now
    audit.record("assessment.third_marker_appointed", agreement, actor=by, cohort=cohort,
                 summary=f"{marker.name} is the third marker of {agreement.student.name}'s "
                         f"{agreement.component.title.lower()}",
                 after={"marker": marker.name, "proposed": agreement.third_marker_proposed_id == marker.id})
    db.session.flush()
    return sheet


def check_third_mark(sheet: MarkSheet, mark: Decimal) -> None:
    """A third marker's mark lies between the first two (DESIGN.md section 3)."""
    marks = [s.mark for s in db.session.scalars(select(MarkSheet).where(
        MarkSheet.component_id == sheet.component_id, MarkSheet.student_id == sheet.student_id,
        MarkSheet.role.in_((FIRST, SECOND)), MarkSheet.replaced_at.is_(None)))]
    low, high = min(marks), max(marks)
    if not low <= mark <= high:
        raise ValidationFailed(f"A third marker's mark lies between the first two marks ({low} and {high}); "
                               f"your criteria give {mark}.")


def needing_action(cohort: Cohort) -> list[Agreement]:
    """The agreements a coordinator follows: in reconciliation, or waiting for a third marker."""
    return list(db.session.scalars(select(Agreement).join(Agreement.component).where(
        Agreement.component.has(cohort_id=cohort.id),
        Agreement.state.in_((IN_RECONCILIATION, THIRD_MARKING))).options(selectinload(Agreement.student))
        .order_by(Agreement.state, Agreement.id)))


def reconciliations_of(user: User) -> list[Agreement]:
    """The agreements a marker takes part in that are not agreed yet and past blind marking."""
    pairs = select(MarkSheet.component_id, MarkSheet.student_id).where(
        MarkSheet.marker_id == user.id, MarkSheet.replaced_at.is_(None)).subquery()
    return list(db.session.scalars(select(Agreement).join(
        pairs, (pairs.c.component_id == Agreement.component_id) & (pairs.c.student_id == Agreement.student_id))
        .where(Agreement.state.in_((IN_RECONCILIATION, THIRD_MARKING))).order_by(Agreement.id)))
