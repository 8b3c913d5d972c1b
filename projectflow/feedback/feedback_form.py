"""The feedback form: one document per student that merges every marker's rubric marks and comments
with the agreed mark (one per component, and one combined with the final mark and class).

Who reads which form, and what is on it:

- the student, once their result is released: every submitted sheet, the outcome of each component,
  the final mark and class; never a private note, never the markers' reconciliation justification
  (written for the external examiner);
- a marker, as a preview of a component they mark: the sheets they may see (their own, in draft
  too; the other marker's only once both have submitted), marked "provisional";
- the cohort's coordinators and moderators: every submitted sheet and the justification, on the
  component forms and the combined one. A coordinator who marks the student is as blind as any
  marker (``services.blind_to``).

``FormSource`` loads what a cohort's forms need in a fixed number of queries, whether for one student
or a thousand; ``feedback_form`` builds one form from it without touching the database again, so a
batch renders every form from one load.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort, Enrolment
from ..core import clock
from ..core.errors import NotAllowed
from ..core.pdf import Letterhead, html_to_pdf, letterhead, render_html
from ..extensions import db
from ..matching import anonymity
from ..matching.models import Allocation
from ..matching.services import published_run
from ..people.models import User
from ..proposals.models import Project
from ..assessment import results as results_service
from ..assessment.agreement import engine_rules
from ..assessment.models import (
    AGREED, BANDS, DRAFT, FIRST, RELEASED, ROLE_LABELS, SECOND, SUBMITTED, THIRD, Agreement, Component,
    CriterionMark, MarkSheet, Result, Rubric, band_index)
from ..assessment.services import blind_to

STUDENT, MARKER, STAFF = "student", "marker", "staff"  # how the reader reads the form
ROUTE_OUTCOMES = {"single": "Marked by the supervisor alone",
                  "automatic": "The two markers' marks were close: the agreed mark is their mean",
                  "reconciled": "The two markers agreed the mark after discussing their assessments",
                  "third_marker": "A third marker reviewed the work and decided the mark"}
_HUNDREDTH = Decimal("0.01")


@dataclass(frozen=True)
class MarkerSheet:
    """One marker's sheet as the form shows it."""

    role: str
    role_label: str  # "First marker (supervisor)"
    marker: str
    is_draft: bool
    mark: Decimal | None
    overall_comment: str


@dataclass(frozen=True)
class CriterionMarkShown:
    role: str
    band: str
    mark: Decimal | None
    comment: str


@dataclass(frozen=True)
class CriterionLine:
    title: str
    weight: int
    agreed: Decimal | None  # the mean of the first and second markers' marks for it (or the one given)
    band: str  # the band of ``agreed``
    descriptor: str  # what the rubric says of that band for this criterion
    marks: list[CriterionMarkShown]  # in the order of the sheets

    @property
    def is_long(self) -> bool:
        return sum(len(m.comment) for m in self.marks) > 1200


@dataclass(frozen=True)
class ComponentSection:
    key: str
    title: str
    weight: int
    sheets: list[MarkerSheet]
    criteria: list[CriterionLine]
    hidden: int  # sheets that exist but that this reader may not see yet
    state: str  # the agreement's state
    route: str | None
    outcome: str  # a sentence on how the mark was agreed, or why it is not yet
    agreed_mark: Decimal | None
    penalty: Decimal
    mark: Decimal | None  # what counts, after any late penalty
    justification: str  # the reconciliation's justification: staff copies only


@dataclass(frozen=True)
class FeedbackForm:
    letterhead: Letterhead
    title: str  # the PDF's title and first heading
    student: str  # the name, or "Candidate 123456" for a reader who may not know it
    candidate_number: str
    project: str
    supervisors: list[str]
    markers: list[tuple[str, str]]  # (role label, name) of every sheet shown
    sections: list[ComponentSection]
    is_combined: bool
    reader: str  # STUDENT, MARKER or STAFF
    is_released: bool
    released_at: datetime | None
    final: Decimal | None
    classification: str | None
    flags: list[str]
    generated_at: datetime
    filename: str


@dataclass
class FormSource:
    """Everything the forms of some of a cohort's students need, loaded in a fixed number of queries."""

    cohort: Cohort
    components: list[Component]
    allocations: dict[int, Allocation]
    numbers: dict[int, str]
    sheets: dict[int, list[MarkSheet]]  # by student: live sheets with their marks
    agreements: dict[tuple[int, int], Agreement]  # (component id, student id)
    results: dict[int, Result]
    rubrics: dict[int, Rubric]
    rules: object = None
    co_supervisors: dict[int, list[str]] = field(default_factory=dict)  # by project id

    @classmethod
    def load(cls, cohort: Cohort, student_ids: list[int] | None = None) -> FormSource:
        """For ``student_ids`` (every allocated student when None)."""
        components = results_service.components_of(cohort)
        run = published_run(cohort)
        query = select(Allocation).where(Allocation.run_id == (run.id if run is not None else -1))
        if student_ids is not None:
            query = query.where(Allocation.student_id.in_(student_ids))
        allocations = {a.student_id: a for a in db.session.scalars(query)}
        ids = list(allocations)
        component_ids = [c.id for c in components]
        sheets: dict[int, list[MarkSheet]] = defaultdict(list)
        agreements, results, numbers, co_supervisors, rubrics = {}, {}, {}, {}, {}
        if ids:
            numbers = dict(db.session.execute(select(Enrolment.user_id, Enrolment.candidate_number).where(
                Enrolment.cohort_id == cohort.id, Enrolment.user_id.in_(ids))).all())
            results = {r.student_id: r for r in db.session.scalars(select(Result).where(
                Result.cohort_id == cohort.id, Result.student_id.in_(ids)))}
            project_ids = {a.project_id for a in allocations.values()}
            for project in db.session.scalars(select(Project).where(Project.id.in_(project_ids))
                                              .options(selectinload(Project.co_supervisors))):
                co_supervisors[project.id] = sorted(u.name for u in project.co_supervisors)
        if ids and component_ids:
            for sheet in db.session.scalars(
                    select(MarkSheet).where(MarkSheet.component_id.in_(component_ids), MarkSheet.student_id.in_(ids),
                                            MarkSheet.replaced_at.is_(None))
                    .options(selectinload(MarkSheet.marks))):
                sheets[sheet.student_id].append(sheet)
            for agreement in db.session.scalars(select(Agreement).where(
                    Agreement.component_id.in_(component_ids), Agreement.student_id.in_(ids))):
                agreements[(agreement.component_id, agreement.student_id)] = agreement
            rubric_ids = {s.rubric_id for group in sheets.values() for s in group}
            rubrics = {r.id: r for r in db.session.scalars(
                select(Rubric).where(Rubric.id.in_(rubric_ids)).options(selectinload(Rubric.criteria)))}
        rules = engine_rules(cohort, components, results_service.rules_of(cohort))
        return cls(cohort, components, allocations, numbers, dict(sheets), agreements, results, rubrics, rules,
                   co_supervisors)


# --- who reads what -------------------------------------------------------------------------------

def reader_kind(cohort: Cohort, student: User, reader: User, component: Component | None) -> str:
    """How ``reader`` reads this student's form, or ``NotAllowed`` with the reason."""
    if not reader.is_authenticated:
        raise NotAllowed("Sign in to read feedback forms.")
    if reader.id == student.id:
        result = db.session.scalar(select(Result).where(Result.cohort_id == cohort.id,
                                                        Result.student_id == student.id))
        if result is None or result.state != RELEASED:
            raise NotAllowed("Your feedback form is available once your results are released.")
        return STUDENT
    if results_service.can_moderate(cohort, reader):
        return STAFF
    if component is not None and db.session.scalar(select(MarkSheet.id).where(
            MarkSheet.component_id == component.id, MarkSheet.student_id == student.id,
            MarkSheet.marker_id == reader.id, MarkSheet.replaced_at.is_(None)).limit(1)) is not None:
        return MARKER
    raise NotAllowed("Only the student (after release), their markers and the cohort's coordinators read "
                     "this feedback form.")


def _shown(source: FormSource, student_id: int, reader: User, kind: str) -> tuple[list[MarkSheet], set[int]]:
    """The student's sheets this reader sees, and the ids of those withheld from them."""
    sheets = source.sheets.get(student_id, [])
    if kind == STUDENT:
        return [s for s in sheets if s.state == SUBMITTED], set()
    blind = blind_to(reader, sheets) if any(s.marker_id == reader.id for s in sheets) else set()
    shown = [s for s in sheets if s.id not in blind
             and (s.state == SUBMITTED or (s.marker_id == reader.id and s.state == DRAFT))]
    return shown, blind


# --- building a form ------------------------------------------------------------------------------

def _role_label(role: str, is_supervisor: bool) -> str:
    return ROLE_LABELS[role] + (" (supervisor)" if role == FIRST and is_supervisor else "")


def _mean(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values) / len(values)).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)


def _section(source: FormSource, component: Component, student_id: int, sheets: list[MarkSheet], hidden: int,
             kind: str) -> ComponentSection:
    order = {FIRST: 0, SECOND: 1, THIRD: 2}
    own = sorted((s for s in sheets if s.component_id == component.id), key=lambda s: order[s.role])
    allocation = source.allocations[student_id]
    shown_sheets = [MarkerSheet(s.role, _role_label(s.role, s.marker_id == allocation.supervisor_id), s.marker.name,
                                s.state != SUBMITTED, s.mark, s.overall_comment) for s in own]
    rubric = source.rubrics.get(own[0].rubric_id) if own else component.current_rubric
    lines = []
    for criterion in (rubric.criteria if rubric is not None else []):
        marks, counted = [], []
        for sheet in own:
            entry: CriterionMark | None = sheet.mark_for(criterion)
            if entry is None:
                continue
            band = BANDS[entry.band].name if entry.band is not None else (
                BANDS[band_index(entry.mark)].name if entry.mark is not None else "")
            marks.append(CriterionMarkShown(sheet.role, band, entry.mark, entry.comment))
            if sheet.role in (FIRST, SECOND) and entry.mark is not None and sheet.state == SUBMITTED:
                counted.append(entry.mark)
        agreed = _mean(counted)
        index = band_index(agreed) if agreed is not None else None
        descriptors = criterion.descriptors or []
        lines.append(CriterionLine(criterion.title, criterion.weight, agreed,
                                   BANDS[index].name if index is not None else "",
                                   descriptors[index] if index is not None and index < len(descriptors) else "",
                                   marks))
    agreement = source.agreements.get((component.id, student_id))
    agreed = agreement is not None and agreement.state == AGREED and not hidden
    if agreed:
        outcome = ROUTE_OUTCOMES[agreement.route]
    elif hidden:
        outcome = "The other marker's sheet is shown once both markers have submitted."
    else:
        outcome = {"awaiting_marks": "Awaiting marks.", "in_reconciliation": "The markers are agreeing the mark.",
                   "third_marking": "A third marker is reviewing the work."}.get(
            agreement.state if agreement else "awaiting_marks", "Awaiting marks.")
    return ComponentSection(
        component.key, component.title, component.weight, shown_sheets, lines, hidden,
        agreement.state if agreement else "awaiting_marks", agreement.route if agreed else None, outcome,
        agreement.agreed_mark if agreed else None, agreement.penalty if agreed else Decimal("0"),
        agreement.mark if agreed else None,
        agreement.justification if agreed and kind == STAFF and agreement.route == "reconciled" else "")


def feedback_form(source: FormSource, student: User, reader: User, kind: str,
                  component: Component | None = None) -> FeedbackForm:
    """The form of ``student`` (one ``component``, or every component when None) as ``reader`` reads
    it (``kind`` from ``reader_kind``)."""
    cohort = source.cohort
    allocation = source.allocations.get(student.id)
    if allocation is None:
        raise LookupError(f"{student.name} has no project in {cohort.title}.")
    shown, blind = _shown(source, student.id, reader, kind)
    components = [component] if component is not None else source.components
    sections = [_section(source, c, student.id, shown, sum(1 for s in source.sheets.get(student.id, [])
                                                             if s.id in blind and s.component_id == c.id), kind)
                for c in components]
    number = source.numbers.get(student.id, "")
    if kind == STUDENT:
        name = student.name
    else:
        name = anonymity.student_label(cohort, student, reader, number)
    result = source.results.get(student.id)
    released = result is not None and result.state == RELEASED
    combined = component is None
    final = results_service.final_of(result) if combined else None
    klass = results_service.class_of(result, source.rules) if combined else None
    flags = []
    if combined and result is not None and kind == STAFF:
        flags = [results_service.FLAG_LABELS.get(f, f) for f in result.flags]
    markers, seen = [], set()
    for section in sections:
        for sheet in section.sheets:
            if (sheet.role_label, sheet.marker) not in seen:
                seen.add((sheet.role_label, sheet.marker))
                markers.append((sheet.role_label, sheet.marker))
    what = "Feedback" if combined else f"Feedback: {component.title}"
    who = number or str(student.id)
    filename = f"feedback-{who}" + ("" if combined else f"-{component.key}") + ".pdf"
    return FeedbackForm(
        letterhead(cohort), f"{what} — {name}", name, number, allocation.project.title,
        [allocation.supervisor.name, *source.co_supervisors.get(allocation.project_id, [])],
        markers, sections, combined, kind, released, result.released_at if released else None,
        final, klass, flags, clock.now(), filename)


def form_html(form: FeedbackForm, cohort: Cohort) -> str:
    """The form's HTML, ready for ``core.pdf.html_to_pdf`` (inside an app context)."""
    return render_html("feedback_form.html", form=form, cohort_zone=cohort.zone, lang="en")


def form_pdf(cohort: Cohort, student: User, reader: User, component: Component | None = None) -> tuple[bytes, str]:
    """One student's form as ``reader`` may read it: the PDF and its file name. ``NotAllowed`` with
    the reason when they may not."""
    kind = reader_kind(cohort, student, reader, component)
    form = feedback_form(FormSource.load(cohort, [student.id]), student, reader, kind, component)
    return html_to_pdf(form_html(form, cohort)), form.filename
