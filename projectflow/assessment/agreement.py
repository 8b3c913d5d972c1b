"""From mark sheets to agreed marks and results, by the pure rules of ``projectflow.results``.

The app never decides an agreement itself: it gives the engine what the markers submitted (and
any reconciled or third mark), the lateness of the work and the cohort's rules, and keeps what the
engine answers in ``Agreement`` and ``Result`` rows, auditing every change of state. The same engine
runs from ``projectflow results`` on a file, so an exam board can reproduce every result.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from ..cohorts.models import Cohort
from ..core import audit, clock
from ..extensions import db
from ..people.models import User
from ..results import engine
from .models import (
    AGREED, AWAITING_MARKS, IN_RECONCILIATION, SUBMITTED, THIRD, THIRD_MARKING, Agreement, Component, MarkingRules, MarkSheet,
    Result,
)

CLASSES = (("Distinction", 70), ("Merit", 60), ("Pass", 50))
BOUNDARIES = (90, 80, 70, 60, 50, 40)  # the rubric bands' lower edges: a straddle is across one of these


def engine_rules(cohort: Cohort, components: list[Component], rules: MarkingRules | None) -> engine.Rules:
    """The cohort's marking rules as the results engine reads them."""
    rules = rules or MarkingRules(cohort_id=cohort.id)
    d = Decimal
    preset = rules.penalty_preset or "none"
    penalty = engine.Penalty(preset,
                             points=d(rules.penalty_points) if preset == "per-day" else None,
                             days=rules.penalty_days if preset in ("per-day", "cap") else None)
    return engine.Rules(
        components=tuple(engine.ComponentRule(c.key, d(c.weight)) for c in components),
        agree_within=d(rules.agree_within), third_marker_above=d(rules.third_marker_above),
        boundaries=tuple(d(b) for b in BOUNDARIES),
        classes=tuple(engine.ClassBand(name, d(start)) for name, start in CLASSES), fail_name="Fail",
        discretion_below=d(rules.discretion_below), moderation_near_below=d(rules.moderation_near_below),
        penalty=penalty)


def component_marks(component: Component, sheets: list[MarkSheet], agreement: Agreement | None,
                    lateness: tuple[int, bool]) -> engine.ComponentMarks | None:
    """What the engine is given for one student's component, or None while a marker has not
    submitted (the engine then says ``awaiting_marks``). Marks count only once every marker the
    component has (first, and second when double-marked) has submitted: never one of a pair."""
    submitted = {s.role: s.mark for s in sheets if s.state == SUBMITTED}
    if not all(role in submitted for role in component.roles):
        return None
    marks = tuple(submitted[role] for role in component.roles)
    reconciled = agreement.reconciled_mark if agreement is not None and agreement.confirmed_at else None
    late_days, extended = lateness
    return engine.ComponentMarks(marks=marks, reconciled=reconciled, third=submitted.get(THIRD),
                                 late_working_days=late_days, extension=extended and late_days == 0)


def lateness_of(component: Component, student: User) -> tuple[int, bool]:
    """How many working days late the counted submission was (against any extended deadline), and
    whether an extension was granted."""
    from .services import work_marked

    if component.milestone is None:
        return 0, False
    work = work_marked(component, student)
    late = work.submission.late_working_days if work.submission is not None and work.submission.is_late else 0
    return late, work.extended


def refresh(component: Component, student: User, *, by: User | None) -> Agreement:
    """Ask the engine again for this student's component (after a sheet is submitted or reopened, a
    reconciliation confirmed, a third mark given) and keep its answer; then the student's result."""
    cohort = component.cohort
    sheets = list(db.session.scalars(select(MarkSheet).where(
        MarkSheet.component_id == component.id, MarkSheet.student_id == student.id,
        MarkSheet.replaced_at.is_(None))))
    agreement = db.session.scalar(select(Agreement).where(Agreement.component_id == component.id,
                                                          Agreement.student_id == student.id))
    if agreement is None:
        agreement = Agreement(component_id=component.id, student_id=student.id, state=AWAITING_MARKS,
                              updated_at=clock.now())
        db.session.add(agreement)
    components = _components(cohort)
    rules = engine_rules(cohort, components, db.session.get(MarkingRules, cohort.id))
    marks = component_marks(component, sheets, agreement, lateness_of(component, student))
    outcome = engine.agree_component(rules, marks, component.key) if marks is not None else \
        engine.ComponentOutcome(component.key, engine.AWAITING_MARKS)
    before = (agreement.state, agreement.route, agreement.agreed_mark, agreement.mark)
    state = outcome.state
    if state == IN_RECONCILIATION and agreement.cannot_agree_at is not None:
        state = THIRD_MARKING  # the markers declared they cannot agree: a third marker decides
    agreement.state, agreement.route = state, outcome.route
    agreement.agreed_mark, agreement.mark = outcome.agreed, outcome.mark
    agreement.penalty = outcome.penalty or Decimal(0)
    if (agreement.state, agreement.route, agreement.agreed_mark, agreement.mark) != before:
        agreement.updated_at = clock.now()
        audit.record("assessment.agreement_changed", agreement, actor=by, cohort=cohort,
                     summary=f"{component.title} of {student.name}: {describe(agreement)}",
                     before={"state": before[0], "route": before[1], "agreed": before[2], "mark": before[3]},
                     after={"state": agreement.state, "route": agreement.route, "agreed": agreement.agreed_mark,
                            "penalty": agreement.penalty, "mark": agreement.mark})
    if agreement.state == THIRD_MARKING and agreement.third_marker_proposed_id is None:
        from .reconciliation import propose_third_marker

        proposed = propose_third_marker(agreement)
        agreement.third_marker_proposed_id = proposed.id if proposed is not None else None
    db.session.flush()
    refresh_result(cohort, student, components, rules, by=by)
    return agreement


def _components(cohort: Cohort) -> list[Component]:
    return list(db.session.scalars(select(Component).where(Component.cohort_id == cohort.id)
                                   .order_by(Component.position, Component.id)))


def refresh_result(cohort: Cohort, student: User, components: list[Component], rules: engine.Rules, *,
                   by: User | None) -> Result:
    """The student's final mark, class and flags once every component is agreed (none before)."""
    agreements = {a.component_id: a for a in db.session.scalars(select(Agreement).where(
        Agreement.component_id.in_([c.id for c in components]), Agreement.student_id == student.id))}
    result = db.session.scalar(select(Result).where(Result.cohort_id == cohort.id, Result.student_id == student.id))
    if result is None:
        result = Result(cohort_id=cohort.id, student_id=student.id, flags=[], updated_at=clock.now())
        db.session.add(result)
    agreed = {c.key: agreements[c.id].mark for c in components
              if c.id in agreements and agreements[c.id].state == AGREED}
    if components and len(agreed) == len(components):
        final = engine.final_mark(rules, agreed)
        values = (final, engine.classify(rules, final), list(engine.flags_for(rules, final)))
    else:
        values = (None, None, [])
    if (result.final, result.classification, list(result.flags or [])) != values:
        moderated = result.moderated_at is not None and result.final != values[0]
        result.final, result.classification, result.flags = values
        result.updated_at = clock.now()
        if moderated:
            # The moderator confirmed or adjusted a mark that no longer stands: moderate it again.
            result.moderated_at = result.moderated_by_id = result.moderated_final = None
        audit.record("assessment.result_changed", result, actor=by, cohort=cohort,
                     summary=f"Result of {student.name}: " + (f"{values[0]} ({values[1]})" if values[0] is not None
                                                              else "awaiting agreed marks")
                     + ("; its moderation no longer stands" if moderated else ""),
                     after={"final": values[0], "classification": values[1], "flags": values[2],
                            "moderation_cleared": moderated})
    db.session.flush()
    return result


def describe(agreement: Agreement) -> str:
    """The agreement in a phrase a coordinator reads: "agreed automatically at 68.00", "in
    reconciliation", "agreed at 71.00, 61.00 after a late penalty of 10.00"."""
    if agreement.state != AGREED:
        return {AWAITING_MARKS: "awaiting marks", "in_reconciliation": "in reconciliation",
                "third_marking": "with a third marker"}[agreement.state]
    how = {"single": "marked", "automatic": "agreed automatically", "reconciled": "agreed by reconciliation",
           "third_marker": "decided by a third marker"}[agreement.route]
    text = f"{how} at {agreement.agreed_mark}"
    if agreement.penalty:
        text += f", {agreement.mark} after a late penalty of {agreement.penalty}"
    return text

