"""Results after agreement: the coordinator's results table and its export, the moderation list (every
flagged student and a reproducible random sample), moderation itself, release to students, and what a
student reads once their result is released. Every change is audited; nothing here commits.

The engine (``projectflow.results``) decides final marks, classes and flags; a moderator may confirm
a final mark or adjust it (``Result.moderated_final``, the engine's stays in ``final``), and the class
of an adjusted mark is the engine's class of that mark. A student sees nothing of their marks until
the coordinator releases their result, on or after the cohort's exam-board date.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import String, cast, select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort, CohortStaff, Enrolment
from ..core import audit, clock, once
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..reminders.notices import notify
from ..extensions import db
from ..matching.models import Allocation
from ..matching.services import published_run
from ..people.models import User
from ..results import engine
from .agreement import CLASSES, engine_rules
from .models import (
    AGREED, PROVISIONAL, RELEASED, ROLE_LABELS, SUBMITTED, Agreement, Component, CriterionMark, MarkingRules,
    MarkSheet, Result,
)

# The flags that put a student on the moderation list; board discretion is listed too, but it is the
# exam board's to decide, not the moderator's.
MODERATION_FLAGS = (engine.MODERATION_FAIL, engine.MODERATION_NEAR_BOUNDARY, engine.MODERATION_DISTINCTION)
FLAG_LABELS = {engine.MODERATION_FAIL: "Fail", engine.MODERATION_NEAR_BOUNDARY: "Near a boundary",
               engine.MODERATION_DISTINCTION: "Distinction", engine.BOARD_DISCRETION: "Board discretion"}
STATE_FILTERS = {"awaiting": "Awaiting agreed marks", "provisional": "Provisional", "released": "Released"}
CLASS_NAMES = tuple(name for name, _ in CLASSES) + ("Fail",)
REASON_LIMIT = 2000
CONFIRM, ADJUST = "confirm", "adjust"


def _require_coordinator(cohort: Cohort, by: User) -> None:
    if not cohort.can_manage(by):
        raise NotAllowed("Only the cohort's coordinators do this.")


def rules_of(cohort: Cohort) -> MarkingRules:
    return db.session.get(MarkingRules, cohort.id) or MarkingRules(cohort_id=cohort.id)


def components_of(cohort: Cohort) -> list[Component]:
    return list(db.session.scalars(select(Component).where(Component.cohort_id == cohort.id)
                                   .order_by(Component.position, Component.id)))


def final_of(result: Result | None) -> Decimal | None:
    """The final mark that counts: the moderator's adjusted mark when there is one, else the engine's."""
    if result is None:
        return None
    return result.moderated_final if result.moderated_final is not None else result.final


def class_of(result: Result | None, rules: engine.Rules) -> str | None:
    """The class of the final mark that counts (the engine's rule on the moderator's mark too)."""
    if result is None or result.final is None:
        return None
    if result.moderated_final is None:
        return result.classification
    return engine.classify(rules, Decimal(result.moderated_final))


def moderation_of(result: Result | None) -> str:
    """"adjusted", "confirmed" or "" (not moderated)."""
    if result is None or result.moderated_at is None:
        return ""
    return "adjusted" if result.moderated_final is not None else "confirmed"


# --- the coordinator's results table --------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    student: User
    candidate_number: str
    result: Result | None
    agreements: dict[int, Agreement]  # by component id
    final: Decimal | None
    classification: str | None

    @property
    def flags(self) -> list[str]:
        return list(self.result.flags or []) if self.result is not None else []


@dataclass
class ResultsPage:
    components: list[Component]
    rows: list[Row]
    page: object  # Flask-SQLAlchemy Pagination of allocations
    counts: dict[str, int] = field(default_factory=dict)  # by state filter


def _allocations(cohort: Cohort):
    run = published_run(cohort)
    return select(Allocation).join(User, User.id == Allocation.student_id).where(
        Allocation.run_id == (run.id if run is not None else -1))


def _filtered(cohort: Cohort, query, *, state: str = "", flag: str = "", klass: str = ""):
    if not (state or flag or klass):
        return query
    query = query.outerjoin(Result, (Result.student_id == Allocation.student_id) & (Result.cohort_id == cohort.id))
    if state == "awaiting":
        query = query.where(Result.final.is_(None))
    elif state == "provisional":
        query = query.where(Result.final.is_not(None), Result.state == PROVISIONAL)
    elif state == "released":
        query = query.where(Result.state == RELEASED)
    if flag == "in_sample":
        query = query.where(Result.in_sample.is_(True))
    elif flag == "moderated":
        query = query.where(Result.moderated_at.is_not(None))
    elif flag in engine.FLAGS:
        # Flags are a JSON list: its text holds the name in quotes (the same on SQLite and PostgreSQL).
        query = query.where(cast(Result.flags, String).like(f'%"{flag}"%'))
    if klass in CLASS_NAMES:
        # The class of the mark that counts: a moderator's adjusted mark, else the engine's final.
        counted = db.func.coalesce(Result.moderated_final, Result.final)
        starts = dict(CLASSES)
        higher = [start for _name, start in CLASSES if start > starts.get(klass, -1)]
        low = starts.get(klass)
        if low is not None:
            query = query.where(counted >= Decimal(low))
        else:
            query = query.where(counted.is_not(None))
        if higher:
            query = query.where(counted < Decimal(min(higher)))
    return query


def _rows(cohort: Cohort, allocations: list[Allocation], components: list[Component]) -> list[Row]:
    student_ids = [a.student_id for a in allocations]
    if not student_ids:
        return []
    rules = engine_rules(cohort, components, rules_of(cohort))
    results = {r.student_id: r for r in db.session.scalars(
        select(Result).where(Result.cohort_id == cohort.id, Result.student_id.in_(student_ids)))}
    agreements: dict[int, dict[int, Agreement]] = {}
    if components:
        for a in db.session.scalars(select(Agreement).where(
                Agreement.component_id.in_([c.id for c in components]), Agreement.student_id.in_(student_ids))):
            agreements.setdefault(a.student_id, {})[a.component_id] = a
    numbers = dict(db.session.execute(select(Enrolment.user_id, Enrolment.candidate_number).where(
        Enrolment.cohort_id == cohort.id, Enrolment.user_id.in_(student_ids))).all())
    return [Row(a.student, numbers.get(a.student_id, ""), results.get(a.student_id), agreements.get(a.student_id, {}),
                final_of(results.get(a.student_id)), class_of(results.get(a.student_id), rules))
            for a in allocations]


def results_page(cohort: Cohort, *, page: int, per_page: int, state: str = "", flag: str = "",
                 klass: str = "") -> ResultsPage:
    """One page of the cohort's allocated students (by name) with each component's agreement and
    their result; filtered by the result's state, a flag (or the sample, or moderated) and the class
    of the mark that counts."""
    components = components_of(cohort)
    query = _filtered(cohort, _allocations(cohort), state=state, flag=flag, klass=klass) \
        .order_by(User.name, Allocation.student_id)
    found = db.paginate(query, page=page, per_page=per_page, error_out=False)
    if found.pages and page > found.pages:
        found = db.paginate(query, page=found.pages, per_page=per_page, error_out=False)
    return ResultsPage(components, _rows(cohort, list(found.items), components), found)


# Export columns (README "Exports: the columns"): stable names, a component's five repeated per component
# under its key (report, poster, independence).
EXPORT_COLUMNS = ("Candidate number", "Student", "E-mail")
COMPONENT_COLUMNS = ("state", "route", "agreed", "penalty", "mark")
RESULT_COLUMNS = ("Final (engine)", "Moderated final", "Final", "Class", "Flags", "In sample", "Moderation",
                  "Result", "Released at")


def export_columns(components: list[Component]) -> tuple[str, ...]:
    return EXPORT_COLUMNS + tuple(f"{c.key}: {name}" for c in components for name in COMPONENT_COLUMNS) \
        + RESULT_COLUMNS


def export_rows(cohort: Cohort) -> tuple[tuple[str, ...], list[tuple]]:
    """Every allocated student's agreements and result as export rows, by name, in five queries."""
    components = components_of(cohort)
    allocations = list(db.session.scalars(_allocations(cohort).order_by(User.name, Allocation.student_id)))
    rows = []
    for row in _rows(cohort, allocations, components):
        cells = [row.candidate_number, row.student.name, row.student.email]
        for c in components:
            a = row.agreements.get(c.id)
            agreed = a is not None and a.state == AGREED
            cells += [a.state if a else "awaiting_marks", a.route if agreed else None,
                      a.agreed_mark if agreed else None, a.penalty if agreed else None, a.mark if agreed else None]
        r = row.result
        cells += [r.final if r else None, r.moderated_final if r else None, row.final, row.classification,
                  "; ".join(row.flags), "yes" if r is not None and r.in_sample else "", moderation_of(r),
                  r.state if r is not None and r.final is not None else "awaiting",
                  r.released_at if r else None]
        rows.append(tuple(float(v) if isinstance(v, Decimal) else v for v in cells))
    return export_columns(components), rows


def rows_by_candidate(cohort: Cohort) -> tuple[list[Component], list[Row]]:
    """Every allocated student's row by candidate number (the exam board's order, which hints at no
    name behind a number), with the cohort's components; five queries whatever the cohort's size."""
    components = components_of(cohort)
    allocations = list(db.session.scalars(_allocations(cohort).outerjoin(
        Enrolment, (Enrolment.user_id == Allocation.student_id) & (Enrolment.cohort_id == cohort.id))
        .order_by(Enrolment.candidate_number, Allocation.student_id)))
    return components, _rows(cohort, allocations, components)


# --- moderation -----------------------------------------------------------------------------------

def can_moderate(cohort: Cohort, user: User) -> bool:
    """The cohort's coordinators (and admins), and the members of staff the coordinator named."""
    if not user.is_authenticated:
        return False
    if cohort.can_manage(user):
        return True
    member = cohort.staff_member(user)
    return member is not None and member.is_moderator


def marked_students(cohort: Cohort, user: User) -> set[int]:
    """The students whose work ``user`` marked in the cohort (any sheet, a replaced one too)."""
    return set(db.session.scalars(select(MarkSheet.student_id).join(Component).where(
        Component.cohort_id == cohort.id, MarkSheet.marker_id == user.id)))


def sample_size(rules: MarkingRules, population: int) -> int:
    """``moderation_sample_percent`` of the students (rounded up), at least ``moderation_sample_min``, or
    all of them when there are fewer."""
    wanted = math.ceil(population * (rules.moderation_sample_percent or 0) / 100)
    return min(population, max(wanted, rules.moderation_sample_min or 0))


def sample_order(cohort: Cohort, student_ids: list[int]) -> list[int]:
    """The students in the cohort's own random order: each student's place comes from a generator seeded
    with the cohort and the student, so the same students always give the same order, and a student
    whose result becomes final later takes their own place without reshuffling the others."""
    return sorted(student_ids, key=lambda s: (random.Random(f"{cohort.id}-moderation-{s}").random(), s))


def draw_sample(cohort: Cohort, *, by: User | None) -> list[int]:
    """Draw the moderation sample from the students with a final mark (the first of the cohort's
    random order, ``sample_size`` of them) and keep it in ``Result.in_sample``. Drawing again gives the
    same sample, grown by the students whose result has become final since."""
    if by is not None:
        _require_coordinator(cohort, by)
    once.lock(cohort)
    results = list(db.session.scalars(select(Result).where(Result.cohort_id == cohort.id)))
    final = [r.student_id for r in results if r.final is not None]
    if not final:
        raise InvalidState("No student has a final mark yet: the sample is drawn from final marks.")
    chosen = set(sample_order(cohort, final)[:sample_size(rules_of(cohort), len(final))])
    before = sorted(r.student_id for r in results if r.in_sample)
    for r in results:
        r.in_sample = r.student_id in chosen
    if before != sorted(chosen):
        awaiting = len(results) - len(final)
        audit.record("assessment.sample_drawn", cohort, actor=by, cohort=cohort,
                     summary=f"Drew the moderation sample: {len(chosen)} of {len(final)} students with a final mark"
                             + (f" ({awaiting} still awaiting agreed marks)" if awaiting else ""),
                     before={"students": before}, after={"students": sorted(chosen)})
    db.session.flush()
    return sorted(chosen)


@dataclass(frozen=True)
class ModerationEntry:
    row: Row
    reasons: list[str]  # why the student is on the list, in words
    marked_by_viewer: bool

    @property
    def board_only(self) -> bool:
        """Listed for board discretion alone: the exam board decides, not the moderator."""
        return self.reasons == [FLAG_LABELS[engine.BOARD_DISCRETION]]


@dataclass
class ModerationList:
    entries: list[ModerationEntry]
    page: object
    total_final: int  # students with a final mark
    awaiting: int  # allocated students without one yet
    sampled: int
    moderated: int
    listed: int
    to_do: int


def _listed(cohort: Cohort):
    """Results on the moderation list: a flag (board discretion included) or drawn for the sample."""
    flagged = [cast(Result.flags, String).like(f'%"{f}"%') for f in (*MODERATION_FLAGS, engine.BOARD_DISCRETION)]
    return (Result.cohort_id == cohort.id) & Result.final.is_not(None) & db.or_(Result.in_sample.is_(True), *flagged)


def moderation_list(cohort: Cohort, viewer: User, *, page: int, per_page: int, show: str = "") -> ModerationList:
    """One page of the moderation list (by name, or by candidate number for a moderator who sees the
    numbers only): every flagged student and the sample, with why each
    is listed; ``show`` "to-do" (not moderated yet) or "done"."""
    components = components_of(cohort)
    query = select(Allocation).join(User, User.id == Allocation.student_id).join(
        Result, (Result.student_id == Allocation.student_id) & (Result.cohort_id == cohort.id)).where(
        Allocation.run_id.in_(select(published_run_id(cohort))), _listed(cohort))
    if show == "to-do":
        query = query.where(Result.moderated_at.is_(None))
    elif show == "done":
        query = query.where(Result.moderated_at.is_not(None))
    if cohort.marks_anonymously and not cohort.can_manage(viewer):
        # A moderator who sees candidate numbers gets them in their order: an order by name would hint
        # at the names behind the numbers.
        query = query.join(Enrolment, (Enrolment.user_id == Allocation.student_id) & (Enrolment.cohort_id == cohort.id)
                           ).order_by(Enrolment.candidate_number, Allocation.student_id)
    else:
        query = query.order_by(User.name, Allocation.student_id)
    found = db.paginate(query, page=page, per_page=per_page, error_out=False)
    if found.pages and page > found.pages:
        found = db.paginate(query, page=found.pages, per_page=per_page, error_out=False)
    marked = marked_students(cohort, viewer)
    entries = []
    for row in _rows(cohort, list(found.items), components):
        entries.append(ModerationEntry(row, _reasons(row), row.student.id in marked))
    counts = db.session.execute(select(
        db.func.count(Result.id).filter(Result.final.is_not(None)),
        db.func.count(Result.id).filter(Result.in_sample.is_(True)),
        db.func.count(Result.id).filter(_listed(cohort)),
        db.func.count(Result.id).filter(_listed(cohort), Result.moderated_at.is_not(None)),
    ).where(Result.cohort_id == cohort.id)).one()
    allocated = db.session.scalar(select(db.func.count(Allocation.id)).where(
        Allocation.run_id.in_(select(published_run_id(cohort)))))
    return ModerationList(entries, found, counts[0], allocated - counts[0], counts[1], counts[3], counts[2],
                          counts[2] - counts[3])


def _reasons(row: Row) -> list[str]:
    reasons = [FLAG_LABELS[f] for f in (*MODERATION_FLAGS, engine.BOARD_DISCRETION) if f in row.flags]
    if row.result is not None and row.result.in_sample:
        reasons.append("Sample")
    return reasons


def moderation_row(cohort: Cohort, student: User, viewer: User) -> ModerationEntry:
    """One student as the moderation list shows them (on or off the list)."""
    allocation = db.session.scalar(select(Allocation).where(
        Allocation.run_id.in_(select(published_run_id(cohort))), Allocation.student_id == student.id))
    if allocation is None:
        raise InvalidState(f"{student.name} has no project in the published allocation.")
    [row] = _rows(cohort, [allocation], components_of(cohort))
    return ModerationEntry(row, _reasons(row), student.id in marked_students(cohort, viewer))


def published_run_id(cohort: Cohort):
    from ..matching.models import PUBLISHED, AllocationRun

    return select(AllocationRun.id).where(AllocationRun.cohort_id == cohort.id, AllocationRun.state == PUBLISHED) \
        .scalar_subquery()


def moderate(result: Result, *, decision: str, mark: Decimal | None, reason: str, by: User) -> Result:
    """A moderator confirms the student's final mark or adjusts it, with a reason (audited). Nobody
    moderates a student they marked; a released result is no longer moderated."""
    cohort = db.session.get(Cohort, result.cohort_id)
    if not can_moderate(cohort, by):
        raise NotAllowed("Only the cohort's coordinators and the moderators they named moderate marks.")
    if result.student_id in marked_students(cohort, by):
        raise NotAllowed("You marked this student's work: another moderator must moderate it.")
    once.lock(result)
    if result.final is None:
        raise InvalidState("This student has no final mark yet: moderation comes once every component is agreed.")
    if result.state == RELEASED:
        raise InvalidState("This result is released: moderation comes before release.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Give the reason for your decision: the exam board reads it.", field="reason")
    if len(reason) > REASON_LIMIT:
        raise ValidationFailed(f"Keep the reason within {REASON_LIMIT:,} characters.", field="reason")
    if decision == ADJUST:
        if mark is None:
            raise ValidationFailed("Give the adjusted final mark (0 to 100, two decimals at most).", field="mark")
        if mark == result.final:
            raise ValidationFailed(f"{mark} is the final mark already: confirm it instead.", field="mark")
        adjusted = mark
    elif decision == CONFIRM:
        adjusted = None
    else:
        raise ValidationFailed("Choose to confirm or to adjust the mark.", field="decision")
    if (result.moderated_at is not None and result.moderated_final == adjusted and result.moderation_note == reason
            and result.moderated_by_id == by.id):
        return result  # the same decision again (the form sent twice): nothing changes
    rules = engine_rules(cohort, components_of(cohort), rules_of(cohort))
    before = {"moderated_final": result.moderated_final, "note": result.moderation_note,
              "class": class_of(result, rules)}
    result.moderated_final, result.moderation_note = adjusted, reason
    result.moderated_at, result.moderated_by_id = clock.now(), by.id
    result.updated_at = result.moderated_at
    student = db.session.get(User, result.student_id)
    klass = class_of(result, rules)
    what = (f"adjusted the final mark of {student.name} from {result.final} to {adjusted} ({klass})"
            if adjusted is not None else f"confirmed the final mark of {student.name}: {result.final} ({klass})")
    audit.record("assessment.moderated", result, actor=by, cohort=cohort, summary=f"Moderation: {what}. {reason}",
                 before=before, after={"moderated_final": adjusted, "final": result.final, "class": klass,
                                       "note": reason})
    db.session.flush()
    return result


def set_moderators(cohort: Cohort, user_ids: set[int], *, by: User) -> list[str]:
    """Name the members of staff (other than the coordinators, who moderate anyway) who moderate the
    cohort's marks; the names of those whose role changed."""
    _require_coordinator(cohort, by)
    once.lock(cohort)
    staff = list(db.session.scalars(select(CohortStaff).where(CohortStaff.cohort_id == cohort.id,
                                                               CohortStaff.is_coordinator.is_(False))))
    known = {s.user_id for s in staff}
    if user_ids - known:
        raise ValidationFailed("Choose moderators among the cohort's staff.", field="moderators")
    changed = []
    for s in staff:
        wanted = s.user_id in user_ids
        if s.is_moderator != wanted:
            s.is_moderator = wanted
            changed.append((s, wanted))
    if changed:
        names = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_([s.user_id for s, _ in changed])))}
        summary = "; ".join(f"{names[s.user_id]} {'now moderates' if on else 'no longer moderates'}" for s, on in changed)
        audit.record("assessment.moderators_changed", cohort, actor=by, cohort=cohort,
                     summary=f"Moderators of {cohort.title}: {summary}",
                     after={"moderators": sorted(s.user_id for s in staff if s.is_moderator)})
    db.session.flush()
    return [names[s.user_id] for s, _ in changed] if changed else []


# --- release --------------------------------------------------------------------------------------

def release_refused_because(cohort: Cohort, today: date | None = None) -> str | None:
    """Why results cannot be released today, or None when they can (on or after the exam board)."""
    rules = db.session.get(MarkingRules, cohort.id)
    if rules is None or rules.exam_board_on is None:
        return ("The exam-board date is not set: results are released on or after it (set it with the marking "
                "rules).")
    today = today or clock.now().astimezone(cohort.zone).date()
    if today < rules.exam_board_on:
        return f"Results are released on or after the exam board of {rules.exam_board_on:%d %B %Y}."
    return None


def release(cohort: Cohort, *, by: User, student: User | None = None) -> int:
    """Release the provisional results with a final mark: one student's, or every one of the cohort.
    Each release is audited and tells the student (in the site and by e-mail). How many were released."""
    _require_coordinator(cohort, by)
    refused = release_refused_because(cohort)
    if refused:
        raise InvalidState(refused)
    once.lock(cohort)
    query = select(Result).where(Result.cohort_id == cohort.id, Result.state == PROVISIONAL,
                                 Result.final.is_not(None))
    if student is not None:
        result = db.session.scalar(select(Result).where(Result.cohort_id == cohort.id, Result.student_id == student.id))
        if result is None or result.final is None:
            raise InvalidState(f"{student.name} has no final mark yet: only a final mark is released.")
        if result.state == RELEASED:
            return 0
        query = query.where(Result.student_id == student.id)
    results = list(db.session.scalars(query))
    now = clock.now()
    link = f"/cohorts/{cohort.id}/my-results"
    for r in results:
        r.state, r.released_at, r.released_by_id, r.updated_at = RELEASED, now, by.id, now
        audit.record("assessment.result_released", actor=by, cohort=cohort, object_type="results", object_id=r.id,
                     summary=f"Released the result of {r.student.name}: {final_of(r)}",
                     after={"final": final_of(r), "released_at": now})
        notify([r.student], f"Your project results for {cohort.title} are released: your marks and the markers' "
                            "comments are on projectflow.", link=link, cohort=cohort,
               subject="projectflow: your project results are released")
    db.session.flush()
    return len(results)


# --- what the student reads -----------------------------------------------------------------------

@dataclass(frozen=True)
class Feedback:
    """A submitted sheet's words to the student: who wrote it (by role), each criterion's comment, and
    the overall comment. Never the private note."""

    role: str
    criteria: list[tuple[str, str]]  # (criterion, comment), comments given only
    overall: str


@dataclass(frozen=True)
class ComponentResult:
    component: Component
    agreement: Agreement | None
    feedback: list[Feedback]


@dataclass(frozen=True)
class StudentResults:
    result: Result | None  # None (or provisional) until released: then nothing else is filled
    final: Decimal | None = None
    classification: str | None = None
    components: list[ComponentResult] = field(default_factory=list)

    @property
    def released(self) -> bool:
        return self.result is not None and self.result.state == RELEASED


def released_results(cohort: Cohort, student: User) -> StudentResults:
    """What the student may read of their results: nothing before release; after it each component's
    agreed mark, penalty and mark, the final mark and class, and the markers' comments to them."""
    result = db.session.scalar(select(Result).where(Result.cohort_id == cohort.id, Result.student_id == student.id))
    if result is None or result.state != RELEASED:
        return StudentResults(None)
    components = components_of(cohort)
    ids = [c.id for c in components]
    agreements = {a.component_id: a for a in db.session.scalars(select(Agreement).where(
        Agreement.component_id.in_(ids), Agreement.student_id == student.id))}
    sheets = list(db.session.scalars(
        select(MarkSheet).where(MarkSheet.component_id.in_(ids), MarkSheet.student_id == student.id,
                                MarkSheet.state == SUBMITTED, MarkSheet.replaced_at.is_(None))
        .options(selectinload(MarkSheet.marks).joinedload(CriterionMark.criterion)).order_by(MarkSheet.role)))
    order = {role: i for i, role in enumerate(ROLE_LABELS)}
    parts = []
    for c in components:
        feedback = [Feedback(s.role, [(m.criterion.title, m.comment) for m in
                                      sorted(s.marks, key=lambda m: m.criterion.position) if m.comment.strip()],
                             s.overall_comment)
                    for s in sorted((s for s in sheets if s.component_id == c.id), key=lambda s: order[s.role])]
        parts.append(ComponentResult(c, agreements.get(c.id), feedback))
    rules = engine_rules(cohort, components, rules_of(cohort))
    return StudentResults(result, final_of(result), class_of(result, rules), parts)


def released_in(student: User) -> dict[int, Result]:
    """The student's released results, by cohort id (for their home page)."""
    return {r.cohort_id: r for r in db.session.scalars(select(Result).where(
        Result.student_id == student.id, Result.state == RELEASED))}

