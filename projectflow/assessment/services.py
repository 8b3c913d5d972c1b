"""Assessment operations: setting a cohort up for marking, opening marking, saving and submitting mark
sheets, reopening them. Every change is audited; nothing here commits.

Blindness is a rule of this module and of ``MarkSheet`` permissions, not of the pages: a marker is
given their own sheet only, and another marker's sheet only once both first and second sheets of
that student's component are submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort, Enrolment
from ..core import audit, clock, once
from ..core.calendar import extend_deadline
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..extensions import db
from ..matching import anonymity
from ..matching.models import Allocation, MarkerAssignment
from ..matching.services import published_run
from ..milestones.models import Milestone
from ..milestones.services import latest_granted, working_calendar
from ..people.models import User
from . import agreement, defaults
from .models import (
    BANDS, DRAFT, FIRST, NOT_STARTED, ROLE_LABELS, SECOND, SHEET_STATES, SUBMITTED, THIRD, Component, Criterion, CriterionMark,
    MarkingRules, MarkSheet, Rubric, band_index,
)

HUNDREDTH = Decimal("0.01")
COMMENT_LIMIT = 5000  # characters of a criterion or overall comment, or a private note


def _require_coordinator(cohort: Cohort, by: User) -> None:
    if not cohort.can_manage(by):
        raise NotAllowed("Only the cohort's coordinators run its marking.")


# --- setting up ----------------------------------------------------------------------------------

def rules_of(cohort: Cohort) -> MarkingRules | None:
    return db.session.get(MarkingRules, cohort.id)


def components_of(cohort: Cohort) -> list[Component]:
    return list(db.session.scalars(
        select(Component).where(Component.cohort_id == cohort.id)
        .options(selectinload(Component.rubrics).selectinload(Rubric.criteria))
        .order_by(Component.position, Component.id)))


def set_up_marking(cohort: Cohort, *, by: User | None) -> list[Component]:
    """Give the cohort DESIGN.md's marking rules, components and rubrics, where it has none yet.

    Components are tied to the cohort's milestones of the matching kind (the final report, the
    poster); a component without such a milestone is tied to none until the coordinator chooses."""
    if by is not None:
        _require_coordinator(cohort, by)
    once.lock(cohort)  # two coordinators setting up at once: the second finds it done
    now = clock.now()
    if rules_of(cohort) is None:
        db.session.add(MarkingRules(cohort_id=cohort.id, updated_at=now))
    existing = {c.key for c in components_of(cohort)}
    milestones = {m.kind: m for m in db.session.scalars(
        select(Milestone).where(Milestone.cohort_id == cohort.id).order_by(Milestone.due_at))}
    made = []
    for position, default in enumerate(defaults.COMPONENTS):
        if default.key in existing:
            continue
        milestone = milestones.get(default.milestone_kind) if default.milestone_kind else None
        component = Component(cohort_id=cohort.id, key=default.key, title=default.title, weight=default.weight,
                              marked_by=default.marked_by, milestone_id=milestone.id if milestone else None,
                              position=position, created_at=now)
        rubric = Rubric(version=1, created_at=now, created_by_id=getattr(by, "id", None))
        rubric.criteria = [Criterion(position=i, title=c.title, weight=c.weight,
                                     marked_by=defaults.marked_by(c, default),
                                     descriptors=defaults.descriptors(c.looks_for))
                           for i, c in enumerate(default.criteria)]
        component.rubrics = [rubric]
        db.session.add(component)
        made.append(component)
    if made:
        audit.record("assessment.set_up", cohort, actor=by, cohort=cohort,
                     summary=f"Set up marking for {cohort.title}: " + ", ".join(
                         f"{c.title} {c.weight}%" for c in made),
                     after={"components": [c.key for c in made]})
    db.session.flush()
    return components_of(cohort)


# --- opening marking: one sheet per marker ------------------------------------------------------

@dataclass(frozen=True)
class Opened:
    sheets: int
    without_marker: list[str]  # students with no second marker yet, by name

    def summary(self, component: Component) -> str:
        text = f"{self.sheets} new mark sheet{'s' if self.sheets != 1 else ''} for {component.title}"
        if self.without_marker:
            text += f"; {len(self.without_marker)} without a second marker yet"
        return text + "."


def feedback_due(component: Component, rules: MarkingRules, deadline: datetime | None) -> datetime | None:
    """When markers' feedback is due: working days after the student's (extended) deadline, 30 for
    the final report and 10 for other work by default."""
    if deadline is None:
        return None
    milestone = component.milestone
    days = (rules.final_feedback_working_days if milestone is not None and milestone.kind == "final_report"
            else rules.interim_feedback_working_days)
    cohort = component.cohort
    return extend_deadline(deadline, days, cohort.zone, working_calendar(cohort))


def _deadline_milestone(component: Component, components: list[Component]) -> Milestone | None:
    # A component assessing no submission (the supervisor's view of independence) is due with the
    # report: the latest milestone any component of the cohort assesses.
    if component.milestone is not None:
        return component.milestone
    tied = [c.milestone for c in components if c.milestone is not None]
    return max(tied, key=lambda m: m.due_at) if tied else None


def open_marking(component: Component, *, by: User | None) -> Opened:
    """Create the missing mark sheets of a component: the supervisor's (first marker) for every
    allocated student and, for double-marked components, the second marker's. Safe to repeat: a
    student allocated or a second marker assigned since then gets their sheets next time."""
    cohort = component.cohort
    if by is not None:
        _require_coordinator(cohort, by)
    once.lock(cohort)
    run = published_run(cohort)
    if run is None:
        raise InvalidState("Marking opens once the allocation is published: markers come from it.")
    rules = rules_of(cohort) or MarkingRules(cohort_id=cohort.id)
    rubric = component.current_rubric
    if rubric is None or not rubric.criteria:
        raise InvalidState(f"{component.title} has no rubric yet: give it criteria first.")
    allocations = db.session.scalars(select(Allocation).where(Allocation.run_id == run.id)).all()
    second = {a.allocation_id: a.marker_id for a in db.session.scalars(
        select(MarkerAssignment).where(MarkerAssignment.allocation_id.in_([a.id for a in allocations]),
                                       MarkerAssignment.role == SECOND))} if cohort.second_markers_published_at else {}
    live = {(s.student_id, s.role) for s in db.session.scalars(
        select(MarkSheet).where(MarkSheet.component_id == component.id, MarkSheet.replaced_at.is_(None)))}
    milestone = _deadline_milestone(component, components_of(cohort))
    now = clock.now()
    made, without = 0, []
    for allocation in allocations:
        markers = [(FIRST, allocation.supervisor_id)]
        if SECOND in component.roles:
            if allocation.id in second:
                markers.append((SECOND, second[allocation.id]))
            else:
                without.append(allocation.student.name)
        deadline = None
        if milestone is not None:
            granted = latest_granted(allocation.student, [milestone.id]).get(milestone.id)
            deadline = granted.new_due_at if granted else milestone.due_at
        for role, marker_id in markers:
            if (allocation.student_id, role) in live:
                continue
            db.session.add(MarkSheet(component_id=component.id, rubric_id=rubric.id,
                                     student_id=allocation.student_id, marker_id=marker_id, role=role,
                                     state=NOT_STARTED, due_at=feedback_due(component, rules, deadline),
                                     created_at=now, updated_at=now))
            made += 1
    opened = Opened(made, without)
    if made:
        audit.record("assessment.marking_opened", component, actor=by, cohort=cohort,
                     summary=f"Opened marking: {opened.summary(component)}",
                     after={"sheets": made, "without_second_marker": len(without)})
    db.session.flush()
    return opened


# --- what a marker sees --------------------------------------------------------------------------

def can_mark(sheet: MarkSheet, user: User) -> bool:
    """The sheet's own marker, while it is live."""
    return user.is_authenticated and sheet.marker_id == user.id and sheet.replaced_at is None


def can_view(sheet: MarkSheet, user: User) -> bool:
    """Its marker; another marker of the same student's component only once the first and second
    sheets are both submitted (blind marking until then), even when that marker also coordinates the
    cohort; the cohort's other coordinators."""
    if not user.is_authenticated:
        return False
    if sheet.marker_id == user.id:
        return True
    if user.id in markers_of(sheet.component, sheet.student_id):
        return both_submitted(sheet.component, sheet.student_id)
    return sheet.component.cohort.can_manage(user)


def blind_to(user: User, sheets: list[MarkSheet]) -> set[int]:
    """Which of ``sheets`` ``user`` may not see (a list's rule, in two queries): another marker's sheet
    of a student's component that ``user`` marks too, until the first and second are both submitted."""
    pairs = {(s.component_id, s.student_id) for s in sheets}
    if not pairs:
        return set()
    component_ids = {c for c, _ in pairs}
    student_ids = {st for _, st in pairs}
    rows = db.session.execute(select(MarkSheet.component_id, MarkSheet.student_id, MarkSheet.role,
                                     MarkSheet.state, MarkSheet.marker_id).where(
        MarkSheet.component_id.in_(component_ids), MarkSheet.student_id.in_(student_ids),
        MarkSheet.replaced_at.is_(None))).all()
    marked = {(c, st) for c, st, _role, _state, marker in rows if marker == user.id}
    complete = {}
    for c, st, role, state, _marker in rows:
        if role in (FIRST, SECOND):
            complete.setdefault((c, st), set()).add(role if state == SUBMITTED else None)
    blind = set()
    for s in sheets:
        pair = (s.component_id, s.student_id)
        if s.marker_id != user.id and pair in marked and not set(s.component.roles) <= complete.get(pair, set()):
            blind.add(s.id)
    return blind


def live_sheets(component: Component, student_id: int) -> list[MarkSheet]:
    return list(db.session.scalars(select(MarkSheet).where(
        MarkSheet.component_id == component.id, MarkSheet.student_id == student_id,
        MarkSheet.replaced_at.is_(None)).order_by(MarkSheet.role)))


def markers_of(component: Component, student_id: int) -> set[int]:
    return {s.marker_id for s in live_sheets(component, student_id)}


def both_submitted(component: Component, student_id: int) -> bool:
    states = {s.role: s.state for s in live_sheets(component, student_id)}
    return all(states.get(role) == SUBMITTED for role in component.roles)


def queue_of(user: User) -> list[MarkSheet]:
    """A marker's live sheets, soonest due first, across every cohort."""
    return list(db.session.scalars(
        select(MarkSheet).where(MarkSheet.marker_id == user.id, MarkSheet.replaced_at.is_(None))
        .options(selectinload(MarkSheet.marks))
        .order_by(MarkSheet.state == SUBMITTED, MarkSheet.due_at.is_(None), MarkSheet.due_at, MarkSheet.id)))


def student_label(sheet: MarkSheet, cohort: Cohort, candidate_numbers: dict[int, str], viewer: User) -> str:
    """Who the student is to ``viewer``, as ``matching.anonymity`` decides for every page: the supervisor
    knows their student; second and third markers of a cohort that marks anonymously see the candidate
    number only."""
    return anonymity.student_label(cohort, sheet.student, viewer, candidate_numbers.get(sheet.student_id, ""),
                                   with_number=True)


def candidate_numbers(cohort_ids: set[int], student_ids: set[int]) -> dict[tuple[int, int], str]:
    if not student_ids:
        return {}
    return {(e.cohort_id, e.user_id): e.candidate_number for e in db.session.scalars(
        select(Enrolment).where(Enrolment.cohort_id.in_(cohort_ids), Enrolment.user_id.in_(student_ids)))}


# --- saving and submitting -----------------------------------------------------------------------

@dataclass(frozen=True)
class CriterionEntry:
    """What a marker gave one criterion: a band, a mark, a comment (each may still be empty)."""

    criterion_id: int
    band: int | None
    mark: Decimal | None
    comment: str


def parse_mark(text: str) -> Decimal | None:
    """A mark as a marker types it: 0 to 100 with at most two decimals; empty is no mark yet."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(f"{text!r} is not a mark: give a number from 0 to 100.") from None
    if not value.is_finite() or value < 0 or value > 100:
        raise ValidationFailed(f"{text} is not a mark from 0 to 100.")
    if value != value.quantize(HUNDREDTH):
        raise ValidationFailed(f"{text} has more than two decimals.")
    return value.quantize(HUNDREDTH)


def _check_entry(entry: CriterionEntry, criterion: Criterion) -> None:
    if entry.band is not None and not 0 <= entry.band < len(BANDS):
        raise ValidationFailed(f"{criterion.title}: choose one of the bands.")
    if entry.mark is not None and entry.band is not None and band_index(entry.mark) != entry.band:
        band = BANDS[entry.band]
        raise ValidationFailed(f"{criterion.title}: {entry.mark} is not in the {band.name} band "
                               f"({band.low}-{band.high}); change the band or the mark.")
    if len(entry.comment) > COMMENT_LIMIT:
        raise ValidationFailed(f"{criterion.title}: keep the comment within {COMMENT_LIMIT:,} characters.")


def weighted_mark(entries: list[tuple[Criterion, Decimal]]) -> Decimal:
    """The sheet's mark: its criteria's marks weighted by their weights, rounded half up to two
    decimals in decimal arithmetic."""
    total = sum(Decimal(c.weight) for c, _ in entries)
    value = sum(Decimal(c.weight) * mark for c, mark in entries) / total
    return value.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def _require_open(sheet: MarkSheet, by: User) -> None:
    if not can_mark(sheet, by):
        raise NotAllowed("This mark sheet is not yours to mark.")
    if sheet.state == SUBMITTED:
        raise InvalidState("This mark sheet is submitted: only the coordinator can reopen it.")


def save_sheet(sheet: MarkSheet, entries: list[CriterionEntry], *, overall_comment: str, private_note: str,
               by: User) -> MarkSheet:
    """Keep what the marker has given so far as a draft. The sheet's rubric is frozen from the first
    save: a change to it from then on makes a new version."""
    _require_open(sheet, by)
    criteria = {c.id: c for c in sheet.rubric.criteria_for(sheet.role)}
    for text, label in ((overall_comment, "The overall comment"), (private_note, "The private note")):
        if len(text) > COMMENT_LIMIT:
            raise ValidationFailed(f"{label} is over {COMMENT_LIMIT:,} characters.")
    current = {m.criterion_id: m for m in sheet.marks}
    for entry in entries:
        criterion = criteria.get(entry.criterion_id)
        if criterion is None:
            raise ValidationFailed("That criterion is not on this mark sheet.")
        _check_entry(entry, criterion)
        band = entry.band if entry.band is not None or entry.mark is None else band_index(entry.mark)
        row = current.get(criterion.id)
        if row is None:
            row = CriterionMark(criterion_id=criterion.id)
            sheet.marks.append(row)
        row.band, row.mark, row.comment = band, entry.mark, entry.comment
    sheet.overall_comment, sheet.private_note = overall_comment, private_note
    sheet.state = DRAFT
    sheet.updated_at = clock.now()
    if sheet.rubric.frozen_at is None:
        sheet.rubric.frozen_at = sheet.updated_at
    db.session.flush()
    return sheet


def missing_for_submission(sheet: MarkSheet) -> list[str]:
    """What still stops the sheet being submitted, in sentences."""
    given = {m.criterion_id: m for m in sheet.marks}
    missing = [f"{c.title}: give a mark." for c in sheet.rubric.criteria_for(sheet.role)
               if given.get(c.id) is None or given[c.id].mark is None]
    if not sheet.overall_comment.strip():
        missing.append("Write an overall comment to the student.")
    return missing


def submit_sheet(sheet: MarkSheet, *, by: User) -> MarkSheet:
    """Submit a complete sheet: its mark is the rubric's weighted mark. The other marker's sheet stays
    hidden from this marker until that one is submitted too."""
    _require_open(sheet, by)
    missing = missing_for_submission(sheet)
    if missing:
        raise ValidationFailed("Not yet complete: " + " ".join(missing))
    given = {m.criterion_id: m.mark for m in sheet.marks}
    mark = weighted_mark([(c, given[c.id]) for c in sheet.rubric.criteria_for(sheet.role)])
    if sheet.role == THIRD:
        from .reconciliation import check_third_mark

        check_third_mark(sheet, mark)
    sheet.mark = mark
    sheet.state = SUBMITTED
    sheet.submitted_at = sheet.updated_at = clock.now()
    cohort = sheet.component.cohort
    audit.record("assessment.sheet_submitted", sheet, actor=by, cohort=cohort,
                 summary=f"{ROLE_LABELS[sheet.role]} submitted the {sheet.component.title.lower()} mark sheet "
                         f"of {sheet.student.name}",
                 after={"mark": sheet.mark, "role": sheet.role, "component": sheet.component.key})
    db.session.flush()
    agreement.refresh(sheet.component, sheet.student, by=by)
    return sheet


def _require_unreleased(sheet: MarkSheet) -> None:
    from .models import RELEASED, Result

    released = db.session.scalar(select(Result.released_at).where(
        Result.cohort_id == sheet.component.cohort_id, Result.student_id == sheet.student_id,
        Result.state == RELEASED))
    if released is not None:
        day = released.astimezone(sheet.component.cohort.zone)
        raise InvalidState(f"{sheet.student.name}'s results were released on {day:%d %b %Y}: their marks can no "
                           "longer change.")


def reopen_sheet(sheet: MarkSheet, *, reason: str, by: User) -> MarkSheet:
    """The coordinator reopens a submitted sheet so its marker can change it; audited with the reason
    and the marks it had."""
    cohort = sheet.component.cohort
    _require_coordinator(cohort, by)
    if sheet.state != SUBMITTED:
        raise InvalidState("Only a submitted mark sheet can be reopened.")
    _require_unreleased(sheet)
    if not reason.strip():
        raise ValidationFailed("Say why the sheet is reopened: the marker and the audit log see it.",
                               field="reason")
    before = {"mark": sheet.mark, "submitted_at": sheet.submitted_at}
    sheet.state, sheet.submitted_at, sheet.mark = DRAFT, None, None
    sheet.updated_at = clock.now()
    audit.record("assessment.sheet_reopened", sheet, actor=by, cohort=cohort,
                 summary=f"Reopened the {sheet.component.title.lower()} mark sheet of {sheet.student.name} "
                         f"({ROLE_LABELS[sheet.role].lower()}): {reason.strip()}",
                 before=before, after={"reason": reason.strip()})
    db.session.flush()
    agreement.refresh(sheet.component, sheet.student, by=by)
    return sheet



# --- what a sheet's page shows -------------------------------------------------------------------

@dataclass(frozen=True)
class WorkMarked:
    """The submission a sheet marks, its lateness and any extension, as the marker is told them."""

    submission: object | None  # submissions.models.Submission
    deadline: datetime | None
    extended: bool


def work_marked(component: Component, student: User) -> WorkMarked:
    from ..submissions.services import latest_submission

    milestone = component.milestone
    if milestone is None:
        return WorkMarked(None, None, False)
    granted = latest_granted(student, [milestone.id]).get(milestone.id)
    return WorkMarked(latest_submission(milestone, student),
                      granted.new_due_at if granted else milestone.due_at, granted is not None)


def changes_since(sheet: MarkSheet, entries: list[CriterionEntry], overall_comment: str,
                  private_note: str) -> list[str]:
    """What the saved sheet holds that differs from what a marker sent from an older copy of the
    page: shown to them so that nothing is overwritten unseen."""
    saved = {m.criterion_id: m for m in sheet.marks}
    titles = {c.id: c.title for c in sheet.rubric.criteria}
    changed = []
    for e in entries:
        m = saved.get(e.criterion_id)
        saved_mark = None if m is None else m.mark
        if saved_mark != e.mark:
            changed.append(f"{titles[e.criterion_id]}: the saved mark is "
                           f"{'empty' if saved_mark is None else saved_mark}, yours is "
                           f"{'empty' if e.mark is None else e.mark}.")
        if (m.comment if m else "") != e.comment:
            changed.append(f"{titles[e.criterion_id]}: the saved comment differs from yours.")
    if sheet.overall_comment != overall_comment:
        changed.append("The overall comment differs from yours.")
    if sheet.private_note != private_note:
        changed.append("The private note differs from yours.")
    return changed


# --- the coordinator's overview ------------------------------------------------------------------

@dataclass(frozen=True)
class ComponentProgress:
    component: Component
    counts: dict[str, int]  # sheets by state
    overdue: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class MarkingOverview:
    components: list[ComponentProgress]
    sheets: object  # a page (Flask-SQLAlchemy Pagination) of the sheets, soonest due first
    numbers: dict[int, str]  # candidate numbers of the page's students
    now: datetime
    blind: set[int]  # sheets of the page the viewer may not see yet


SHEET_FILTERS = {"": "Every state", NOT_STARTED: "Not started", DRAFT: "In draft", SUBMITTED: "Submitted",
                 "overdue": "Overdue"}


def marking_overview(cohort: Cohort, viewer: User, *, page: int, per_page: int, component_id: int | None = None,
                     state: str = "") -> MarkingOverview:
    """Every component's sheets by state and how many are overdue, and one page of the sheets (of one
    component, in one state or overdue, when asked); a coordinator who marks too is blind to the other
    sheets of the students they mark."""
    now = clock.now()
    components = components_of(cohort)
    live = (MarkSheet.replaced_at.is_(None), MarkSheet.component_id.in_([c.id for c in components]))
    counts: dict[int, dict[str, int]] = {c.id: {} for c in components}
    for of_component, in_state, n in db.session.execute(
            select(MarkSheet.component_id, MarkSheet.state, db.func.count(MarkSheet.id)).where(*live)
            .group_by(MarkSheet.component_id, MarkSheet.state)):
        counts[of_component][in_state] = n
    overdue = dict(db.session.execute(
        select(MarkSheet.component_id, db.func.count(MarkSheet.id)).where(
            *live, MarkSheet.state != SUBMITTED, MarkSheet.due_at < now).group_by(MarkSheet.component_id)).all())
    query = select(MarkSheet).where(*live)
    if component_id is not None:
        query = query.where(MarkSheet.component_id == component_id)
    if state == "overdue":
        query = query.where(MarkSheet.state != SUBMITTED, MarkSheet.due_at < now)
    elif state in SHEET_STATES:
        query = query.where(MarkSheet.state == state)
    query = (query
             .order_by(MarkSheet.state == SUBMITTED, MarkSheet.due_at, MarkSheet.component_id, MarkSheet.student_id,
                       MarkSheet.role))
    sheets = db.paginate(query, page=page, per_page=per_page, error_out=False)
    if sheets.pages and page > sheets.pages:
        sheets = db.paginate(query, page=sheets.pages, per_page=per_page, error_out=False)
    numbers = {student_id: n for (_c, student_id), n in
               candidate_numbers({cohort.id}, {s.student_id for s in sheets.items}).items()}
    return MarkingOverview([ComponentProgress(c, counts[c.id], overdue.get(c.id, 0)) for c in components],
                           sheets, numbers, now, blind_to(viewer, sheets.items))


# --- reassigning a sheet -------------------------------------------------------------------------

def check_new_marker(sheet: MarkSheet, marker: User) -> None:
    from ..matching.models import MarkingConflict
    from ..matching.services import allocation_of

    cohort = sheet.component.cohort
    if cohort.staff_member(marker) is None or not marker.is_active:
        raise ValidationFailed(f"{marker.name} is not on the staff of this cohort.", field="marker")
    if marker.id == sheet.marker_id:
        raise ValidationFailed(f"{marker.name} marks this sheet already.", field="marker")
    others = {s.marker_id for s in live_sheets(sheet.component, sheet.student_id) if s.id != sheet.id}
    if marker.id in others:
        raise ValidationFailed(f"{marker.name} marks this work in another role: markers are independent.",
                               field="marker")
    allocation = allocation_of(cohort, sheet.student)
    if sheet.role != FIRST and allocation is not None and marker.id in allocation.project.supervisor_ids():
        raise ValidationFailed(f"{marker.name} supervises this student: a {ROLE_LABELS[sheet.role].lower()} "
                               "is independent of the supervision.", field="marker")
    if db.session.scalar(select(MarkingConflict.id).where(MarkingConflict.cohort_id == cohort.id,
                                                          MarkingConflict.staff_id == marker.id,
                                                          MarkingConflict.student_id == sheet.student_id)):
        raise ValidationFailed(f"{marker.name} declared a conflict of interest with this student.", field="marker")


def reassign_sheet(sheet: MarkSheet, marker: User, *, reason: str, by: User) -> MarkSheet:
    """Give an unsubmitted sheet (an overdue one, a marker who fell ill) to another marker, who starts a
    clean sheet. The old sheet is kept, marked replaced, and its draft is written into the audit log."""
    cohort = sheet.component.cohort
    _require_coordinator(cohort, by)
    once.lock(sheet)
    if sheet.replaced_at is not None:
        raise InvalidState("This sheet was reassigned already.")
    if sheet.state == SUBMITTED:
        raise InvalidState("A submitted sheet is not reassigned: reopen it, or ask for a third marker.")
    if not reason.strip():
        raise ValidationFailed("Say why the sheet is reassigned: both markers and the audit log see it.",
                               field="reason")
    check_new_marker(sheet, marker)
    now = clock.now()
    draft = {"marks": {m.criterion.title: {"mark": m.mark, "comment": m.comment} for m in sheet.marks},
             "overall_comment": sheet.overall_comment, "private_note": sheet.private_note, "state": sheet.state}
    sheet.replaced_at = now
    db.session.flush()  # the old sheet leaves the one-live-sheet index before the new one enters it
    new = MarkSheet(component_id=sheet.component_id, rubric_id=sheet.rubric_id, student_id=sheet.student_id,
                    marker_id=marker.id, role=sheet.role, state=NOT_STARTED, due_at=sheet.due_at,
                    created_at=now, updated_at=now)
    db.session.add(new)
    audit.record("assessment.sheet_reassigned", sheet, actor=by, cohort=cohort,
                 summary=f"Reassigned the {sheet.component.title.lower()} sheet of {sheet.student.name} "
                         f"({ROLE_LABELS[sheet.role].lower()}) from {sheet.marker.name} to {marker.name}: "
                         f"{reason.strip()}",
                 before={"marker": sheet.marker.name, **draft}, after={"marker": marker.name, "reason": reason.strip()})
    db.session.flush()
    return new


def blind_sheet_ids(user: User) -> set[int]:
    """Other markers' sheets of the students' components ``user`` marks, while the first and second
    sheets are not both submitted: kept from ``user`` everywhere, the audit log included."""
    if not user.is_authenticated:
        return set()
    mine = select(MarkSheet.component_id, MarkSheet.student_id).where(
        MarkSheet.marker_id == user.id, MarkSheet.replaced_at.is_(None)).subquery()
    sheets = list(db.session.scalars(select(MarkSheet).join(
        mine, (mine.c.component_id == MarkSheet.component_id) & (mine.c.student_id == MarkSheet.student_id))
        .where(MarkSheet.marker_id != user.id)))
    return blind_to(user, sheets)


def without_blind_events(query, user: User):
    """``query`` of audit events without those about sheets ``user`` is blind to (see
    ``blind_sheet_ids``)."""
    from ..core.audit import AuditEvent

    hidden = blind_sheet_ids(user)
    if not hidden:
        return query
    return query.where(~((AuditEvent.object_type == MarkSheet.__tablename__) & AuditEvent.object_id.in_(hidden)))
