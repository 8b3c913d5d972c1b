"""Where each student stands on each milestone: not due, due soon, submitted, late, extended,
missing. Read in a few queries for a whole grid of students x milestones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ..cohorts.models import Cohort
from ..core import clock
from ..extensions import db
from ..people.models import User
from .models import GRANTED, REQUESTED, Extension, Milestone
from .services import milestones_of

DUE_SOON = timedelta(days=7)

NOT_DUE, DUE_SOON_STATE, SUBMITTED, LATE, EXTENDED, MISSING, PAST = (
    "not_due", "due_soon", "submitted", "late", "extended", "missing", "past")
LABELS = {NOT_DUE: "Not due", DUE_SOON_STATE: "Due soon", SUBMITTED: "Submitted", LATE: "Submitted late",
          EXTENDED: "Extended", MISSING: "Missing", PAST: "Past"}
BADGES = {NOT_DUE: "light", DUE_SOON_STATE: "warning", SUBMITTED: "success", LATE: "danger", EXTENDED: "info",
          MISSING: "dark", PAST: "secondary"}


@dataclass(frozen=True)
class Status:
    milestone: Milestone
    due_at: datetime  # the student's effective deadline
    extension: Extension | None  # their latest granted extension
    request: Extension | None  # their open request, if any
    submission: object | None  # their latest submission (submissions.models.Submission)
    state: str

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def badge(self) -> str:
        return BADGES[self.state]


def _state(milestone: Milestone, due_at: datetime, extension, submission, now: datetime) -> str:
    if submission is not None:
        return LATE if submission.is_late else SUBMITTED
    if now > due_at:
        return MISSING if milestone.needs_file else PAST
    if extension is not None:
        return EXTENDED
    return DUE_SOON_STATE if due_at - now <= DUE_SOON else NOT_DUE


def statuses(cohort: Cohort, student_ids: list[int]) -> dict[tuple[int, int], Status]:
    """(student id, milestone id) -> Status, for every milestone of the cohort."""
    from ..submissions.models import Submission  # submissions build on milestones, not the reverse

    milestones = milestones_of(cohort)
    ids = [m.id for m in milestones]
    granted: dict[tuple[int, int], Extension] = {}
    requests: dict[tuple[int, int], Extension] = {}
    for e in db.session.scalars(select(Extension).where(Extension.milestone_id.in_(ids),
                                                        Extension.student_id.in_(student_ids))
                                .order_by(Extension.decided_at, Extension.id)):
        if e.state == GRANTED:
            granted[(e.student_id, e.milestone_id)] = e
        elif e.state == REQUESTED:
            requests[(e.student_id, e.milestone_id)] = e
    latest: dict[tuple[int, int], Submission] = {}
    for s in db.session.scalars(select(Submission).where(Submission.milestone_id.in_(ids),
                                                         Submission.student_id.in_(student_ids))
                                .order_by(Submission.version)):
        latest[(s.student_id, s.milestone_id)] = s
    now = clock.now()
    out = {}
    for sid in student_ids:
        for m in milestones:
            key = (sid, m.id)
            extension = granted.get(key)
            due_at = extension.new_due_at if extension else m.due_at
            out[key] = Status(m, due_at, extension, requests.get(key), latest.get(key),
                              _state(m, due_at, extension, latest.get(key), now))
    return out


def student_rows(cohort: Cohort, student: User) -> list[Status]:
    found = statuses(cohort, [student.id])
    return [found[(student.id, m.id)] for m in milestones_of(cohort)]


def next_due(rows: list[Status]) -> Status | None:
    """The first milestone still to hand in (or still ahead, for those without a file)."""
    now = clock.now()
    return next((r for r in rows if r.submission is None and r.due_at > now), None)


def table(cohort: Cohort, students: list[User], names) -> tuple[list[str], list[tuple]]:
    """The progress grid of ``students`` as export columns and rows: who they are (as ``names``, a
    ``matching.anonymity.StudentNames``, has the reader see them), then five columns per milestone (its
    state as the grid shows it, the student's deadline, when they submitted, working days late,
    extension granted/requested). A few queries whatever the number of students."""
    from ..matching.queries import published_allocations

    milestones = milestones_of(cohort)
    found = statuses(cohort, [s.id for s in students])
    allocated = published_allocations(cohort)
    columns = ["Candidate number", "Student", "Supervisor"]
    for m in milestones:
        columns += [m.title, f"{m.title}: due", f"{m.title}: submitted at", f"{m.title}: working days late",
                    f"{m.title}: extension"]
    rows = []
    for s in students:
        a = allocated.get(s.id)
        row = [names.number(s), names.label(s), a.supervisor.name if a else ""]
        for m in milestones:
            st = found[(s.id, m.id)]
            sub = st.submission
            flag = "granted" if st.extension else "requested" if st.request else ""
            row += [st.label, st.due_at, sub.submitted_at if sub else None,
                    sub.late_working_days if sub and sub.is_late else None, flag]
        rows.append(tuple(row))
    return columns, rows
