"""Markers' reminders: a sheet assigned to them, its due moment coming and passed, and a reconciliation
or a third marking that needs them (issue 14).

- *Assigned*: once per sheet (``marking-assigned:u<marker>:s<sheet>``), within ``ASSIGNED_WITHIN`` of
  the sheet being made (when marking opens, or when a sheet is reassigned: the new sheet is new), and
  not once it is submitted. A third marker's sheet is a need, not an assignment (below).
- *Before it is due*: ``BEFORE_DUE_DAYS`` (3 days, then 1 day) before the sheet's ``due_at`` (the
  cohort's feedback time after the student's, extended, deadline, as ``assessment.services`` set it),
  the latest moment passed only, never once the sheet is submitted or due; a moment that came before the
  sheet existed is the assignment's to tell.
- *Overdue*: once after the due moment, within ``OVERDUE_WITHIN`` (a week), unless submitted.
- *Needed* (kind ``marking_needed``), once per need, as long as it lasts: both markers when their
  submitted pair goes to reconciliation (the need is the moment the later sheet was submitted: a sheet
  reopened and submitted again makes a new one); the other marker when one proposes a reconciled mark
  (the need is the proposal's moment); the third marker when they are appointed.

Students are named as ``naming`` decides: second and third markers of a cohort that marks anonymously
read candidate numbers. Each rule reads a fixed number of queries, however many sheets.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from ..assessment.models import (
    FIRST, IN_RECONCILIATION, ROLE_LABELS, SECOND, SUBMITTED, THIRD, THIRD_MARKING, Agreement, Component, MarkSheet,
)
from ..cohorts.models import Cohort
from ..extensions import db
from .naming import naming
from .rules import OVERDUE_WITHIN, Due, rule

ASSIGNED_WITHIN = timedelta(days=7)
BEFORE_DUE_DAYS = (3, 1)


def _instant(moment: datetime, *, seconds: bool = False) -> str:
    return f"{moment.astimezone(timezone.utc):%Y-%m-%dT%H:%M{':%S' if seconds else ''}Z}"


def _when(moment: datetime, cohort: Cohort) -> str:
    return f"{moment.astimezone(cohort.zone):%a %d %b %Y %H:%M}"


def _work(sheet: MarkSheet, label: str) -> str:
    return f"{label}’s “{sheet.component.title}”"


@rule
def marking_sheets(now: datetime) -> Iterable[Due]:
    """Sheets assigned, due soon and overdue, to their markers, while unsubmitted."""
    horizon = timedelta(days=max(BEFORE_DUE_DAYS))
    sheets = list(db.session.scalars(
        select(MarkSheet).where(
            MarkSheet.replaced_at.is_(None), MarkSheet.state != SUBMITTED, MarkSheet.created_at <= now,
            or_(MarkSheet.created_at > now - ASSIGNED_WITHIN,
                and_(MarkSheet.due_at > now - OVERDUE_WITHIN, MarkSheet.due_at <= now + horizon)))
        .options(joinedload(MarkSheet.component).joinedload(Component.cohort)).order_by(MarkSheet.id)))
    names = naming({(s.component.cohort_id, s.student_id) for s in sheets})
    for sheet in sheets:
        cohort = sheet.component.cohort
        work = _work(sheet, names.label(cohort, sheet.student, sheet.marker_id))
        link = f"/marking/sheets/{sheet.id}"
        due = sheet.due_at
        # A sheet made once its due moment had passed (marking reassigned late) is told as such, once.
        late = due is not None and due <= sheet.created_at
        by = f", due {_when(due, cohort)}" + (": it is late already, so as soon as you can" if late else "") \
            if due else ""
        if sheet.role != THIRD and sheet.created_at > now - ASSIGNED_WITHIN:
            yield Due(sheet.marker, "marking", f"marking-assigned:u{sheet.marker_id}:s{sheet.id}",
                      f"projectflow: a mark sheet for you: {work}",
                      f"You are the {ROLE_LABELS[sheet.role].lower()} of {work} ({cohort.title}): your mark sheet "
                      f"is ready{by}.", link, cohort, until=due)
        if due is None:
            continue
        if due <= now:
            if now < due + OVERDUE_WITHIN and not (late and sheet.role != THIRD):
                yield Due(sheet.marker, "marking", f"marking-overdue:u{sheet.marker_id}:s{sheet.id}:{_instant(due)}",
                          f"projectflow: marking overdue: {work}",
                          f"Your sheet as {ROLE_LABELS[sheet.role].lower()} of {work} ({cohort.title}) was due "
                          f"{_when(due, cohort)} and is not submitted. Submit it as soon as you can, or tell the "
                          "coordinator.", link, cohort)
            continue
        # The latest moment passed since the sheet was made: one reminder, not every one missed.
        passed = [d for d in BEFORE_DUE_DAYS if sheet.created_at <= due - timedelta(days=d) <= now]
        if passed:
            d = min(passed)
            left = due - now
            words = f"{left.days} days" if left >= timedelta(days=2) else "less than two days" \
                if left > timedelta(days=1) else "less than a day"
            yield Due(sheet.marker, "marking", f"marking-{d}d:u{sheet.marker_id}:s{sheet.id}:{_instant(due)}",
                      f"projectflow: marking due {_when(due, cohort)}: {work}",
                      f"Your sheet as {ROLE_LABELS[sheet.role].lower()} of {work} ({cohort.title}) is due "
                      f"{_when(due, cohort)}: {words} from now.", link, cohort, until=due)


@rule
def marking_needed(now: datetime) -> Iterable[Due]:
    """Reconciliations and third markings, to the markers they wait for."""
    rows = db.session.execute(
        select(Agreement, MarkSheet).join(MarkSheet, and_(MarkSheet.component_id == Agreement.component_id,
                                                          MarkSheet.student_id == Agreement.student_id))
        .where(Agreement.state.in_((IN_RECONCILIATION, THIRD_MARKING)), MarkSheet.replaced_at.is_(None))
        .options(joinedload(Agreement.component).joinedload(Component.cohort))
        .order_by(Agreement.id, MarkSheet.role)).all()
    sheets: dict[int, dict[str, MarkSheet]] = {}
    agreements: dict[int, Agreement] = {}
    for agreement, sheet in rows:
        agreements[agreement.id] = agreement
        sheets.setdefault(agreement.id, {})[sheet.role] = sheet
    names = naming({(a.component.cohort_id, a.student_id) for a in agreements.values()})
    for aid, agreement in agreements.items():
        cohort, by_role = agreement.component.cohort, sheets[aid]
        if agreement.state == THIRD_MARKING:
            third = by_role.get(THIRD)
            if third is None or third.state == SUBMITTED:
                continue  # the coordinator's to appoint (their digest), or done
            work = _work(third, names.label(cohort, third.student, third.marker_id))
            due = f" {_when(third.due_at, cohort)}" if third.due_at else " when the coordinator says"
            yield Due(third.marker, "marking_needed", f"marking-third:u{third.marker_id}:s{third.id}",
                      f"projectflow: a third marking for you: {work}",
                      f"The first and second markers of {work} ({cohort.title}) could not agree: you are its "
                      f"third marker. You see both sheets; your mark lies between theirs. Your sheet is due{due}.",
                      f"/marking/sheets/{third.id}", cohort, until=third.due_at)
            continue
        pair = [by_role[r] for r in (FIRST, SECOND) if r in by_role]
        if len(pair) < 2 or any(s.submitted_at is None for s in pair):
            continue
        link = f"/marking/agreements/{aid}"
        since = max(s.submitted_at for s in pair)
        if agreement.proposed_at is not None and agreement.proposed_at >= since and agreement.proposed_by_id:
            # A mark proposed: only the other marker has something to do.
            for sheet in pair:
                if sheet.marker_id == agreement.proposed_by_id:
                    continue
                work = _work(sheet, names.label(cohort, sheet.student, sheet.marker_id))
                yield Due(sheet.marker, "marking_needed",
                          f"marking-confirm:u{sheet.marker_id}:a{aid}:{_instant(agreement.proposed_at, seconds=True)}",
                          f"projectflow: confirm the reconciled mark of {work}",
                          f"The other marker of {work} ({cohort.title}) proposes an agreed mark of "
                          f"{agreement.reconciled_mark}. Confirm it, discuss it, or say you cannot agree.",
                          link, cohort)
            continue
        for sheet in pair:
            work = _work(sheet, names.label(cohort, sheet.student, sheet.marker_id))
            yield Due(sheet.marker, "marking_needed",
                      f"marking-reconcile:u{sheet.marker_id}:a{aid}:{_instant(since, seconds=True)}",
                      f"projectflow: reconcile the marks of {work}",
                      f"Your marks for {work} ({cohort.title}) are too far apart to agree by themselves: see the "
                      "other marker’s sheet, discuss, and propose an agreed mark between the two.", link, cohort)
