"""The cohort's timeline: created from the typical year, edited by the coordinator; each student's
effective deadlines (extensions included)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from ..cohorts.models import Cohort
from ..core import audit, clock, once
from ..core.calendar import WorkingCalendar, extend_deadline, local_deadline
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..reminders.notices import notify
from ..extensions import db
from ..people.models import User
from .models import (COMPONENTS, ETHICS, FINAL_REPORT, FULL_TIME, GRANTED, INTERIM_REPORT, KINDS, PART_TIME,
                     PHASE_LABELS, PHASES, POSTER, PROJECT_PLAN, Extension, Milestone)

FIELDS = ["kind", "title", "phase", "description", "due_at", "cutoff_at", "needs_file", "is_assessed", "components"]
DEADLINE_TIME = time(16, 0)  # DESIGN.md: deadlines at 16:00 local time
# An assessed milestone of the typical year closes this many working days after its deadline: past
# it, every late-penalty preset of DESIGN.md gives no marks, and a late version can no longer quietly
# replace an on-time one months later.
ASSESSED_CUTOFF_WORKING_DAYS = 5


def _require_coordinator(cohort: Cohort, by: User) -> None:
    if not cohort.can_manage(by):
        raise NotAllowed("Only the cohort's coordinators edit its timeline.")


def working_calendar(cohort: Cohort) -> WorkingCalendar:
    """Weekends, England & Wales bank holidays and the cohort's closures."""
    return WorkingCalendar(closures=cohort.closure_days())


def milestones_of(cohort: Cohort) -> list[Milestone]:
    return list(db.session.scalars(select(Milestone).where(Milestone.cohort_id == cohort.id)
                                   .order_by(Milestone.due_at, Milestone.id)))


def _weekday_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def typical_year(cohort: Cohort) -> list[dict]:
    """DESIGN.md's typical year shifted to the cohort's dates: a project plan in early March and an
    ethics and risk form two weeks later, an interim report at the end of the part-time phase, the
    final report in the first week of September and the poster a week after it, all at 16:00 (the
    assessed ones close ``ASSESSED_CUTOFF_WORKING_DAYS`` working days later: see create_timeline)."""
    y = cohort.academic_year + 1
    zone = cohort.zone
    friday = 4
    plan = _weekday_on_or_after(date(y, 3, 1), friday)
    final = _weekday_on_or_after(date(y, 9, 1), friday)

    def due(day: date) -> datetime:
        return local_deadline(day, DEADLINE_TIME, zone)

    return [
        dict(kind=PROJECT_PLAN, title="Project plan", phase=PART_TIME, due_at=due(plan), needs_file=True,
             is_assessed=False, components=[], description="Aims, background reading, method, risks and a "
             "Gantt chart of both phases. Required; it carries no marks but your supervisor comments on it."),
        dict(kind=ETHICS, title="Ethics and risk assessment", phase=PART_TIME, due_at=due(plan + timedelta(days=14)),
             needs_file=True, is_assessed=False, components=[],
             description="The department's ethics self-assessment and risk form, signed by your supervisor."),
        dict(kind=INTERIM_REPORT, title="Interim report", phase=PART_TIME, due_at=due(cohort.part_time_end),
             needs_file=True, is_assessed=False, components=[],
             description="Progress so far, first results and the plan for the full-time phase; written feedback "
                         "within 10 working days."),
        dict(kind=FINAL_REPORT, title="Final report", phase=FULL_TIME, due_at=due(final), needs_file=True,
             is_assessed=True, components=["report"],
             description="The report, marked by your supervisor and a second marker (75% of the project mark)."),
        dict(kind=POSTER, title="Poster", phase=FULL_TIME, due_at=due(final + timedelta(days=7)), needs_file=True,
             is_assessed=True, components=["poster"],
             description="The poster you present at the poster session (15% of the project mark)."),
    ]


def create_timeline(cohort: Cohort, *, by: User) -> list[Milestone]:
    """The typical year's milestones for a cohort that has none yet."""
    _require_coordinator(cohort, by)
    if milestones_of(cohort):
        raise InvalidState("This cohort already has a timeline: edit its milestones instead.")
    now = clock.now()
    created = []
    calendar = working_calendar(cohort)
    for values in typical_year(cohort):
        cutoff = extend_deadline(values["due_at"], ASSESSED_CUTOFF_WORKING_DAYS, cohort.zone, calendar) \
            if values["is_assessed"] else None
        milestone = Milestone(cohort_id=cohort.id, created_at=now, updated_at=now, cutoff_at=cutoff, **values)
        db.session.add(milestone)
        created.append(milestone)
    db.session.flush()
    audit.record("timeline.created", cohort, actor=by, cohort=cohort,
                 summary=f"Created the timeline from the typical year ({len(created)} milestones)",
                 after={"milestones": [f"{m.title}: {m.due_at.isoformat()}" for m in created]})
    return created


def check_milestone_values(cohort: Cohort, values: dict, *, milestone: Milestone | None = None) -> None:
    """ValidationFailed (naming the field) for values a milestone cannot have."""
    if values["kind"] not in KINDS:
        raise ValidationFailed("Choose a kind from the list.", field="kind")
    if values["phase"] not in PHASES:
        raise ValidationFailed("Choose the part-time or the full-time phase.", field="phase")
    if not values["title"].strip():
        raise ValidationFailed("Give the milestone a title.", field="title")
    if any(c not in COMPONENTS for c in values["components"]):
        raise ValidationFailed(f"Components are among: {', '.join(COMPONENTS)}.", field="components")
    changed_due = milestone is None or values["due_at"] != milestone.due_at
    if changed_due and values["due_at"] <= clock.now():
        raise ValidationFailed("The deadline is in the past: choose a date and time still to come.", field="due_at")
    if changed_due:
        check_deadline_day(cohort, values["phase"], values["due_at"],
                           confirmed=bool(values.get("non_working_day_confirmed")))
    if values["cutoff_at"] is not None and values["cutoff_at"] < values["due_at"]:
        raise ValidationFailed("The cut-off cannot be before the deadline.", field="cutoff_at")
    clash = db.session.scalar(select(Milestone).where(Milestone.cohort_id == cohort.id,
                                                      Milestone.title == values["title"].strip()))
    if clash is not None and clash is not milestone:
        raise ValidationFailed("Another milestone of this cohort has that title.", field="title")


def phase_dates(cohort: Cohort, phase: str) -> tuple[date, date]:
    """The first and last day of one of the cohort's phases."""
    if phase == PART_TIME:
        return cohort.part_time_start, cohort.part_time_end
    return cohort.full_time_start, cohort.full_time_end


def check_deadline_day(cohort: Cohort, phase: str, due_at: datetime, *, confirmed: bool) -> None:
    """A deadline falls within its phase (and so before the cohort's end), and on a working day unless
    the coordinator confirms the other day on purpose (a Saturday poster session, say)."""
    day = due_at.astimezone(cohort.zone).date()
    first, last = phase_dates(cohort, phase)
    if day > cohort.full_time_end:
        raise ValidationFailed(f"The deadline is after the cohort's end ({cohort.full_time_end:%a %d %b %Y}): "
                               "choose a day within its phases.", field="due_at")
    if not first <= day <= last:
        raise ValidationFailed(f"The deadline is outside the {PHASE_LABELS[phase].lower()} "
                               f"({first:%d %b %Y} – {last:%d %b %Y}): choose a day within it, or the other "
                               "phase.", field="due_at")
    reason = working_calendar(cohort).non_working_reason(day)
    if reason and not confirmed:
        raise ValidationFailed(f"{day:%a %d %b %Y} is not a working day ({reason}). Choose another day, or tick "
                               "“Keep a deadline on a non-working day” to keep it.", field="due_at")


def add_milestone(cohort: Cohort, values: dict, *, by: User) -> Milestone:
    _require_coordinator(cohort, by)
    check_milestone_values(cohort, values)
    now = clock.now()
    milestone = Milestone(cohort_id=cohort.id, created_at=now, updated_at=now,
                          **{**{key: values[key] for key in FIELDS}, "title": values["title"].strip()})
    db.session.add(milestone)
    audit.record("milestone.added", milestone, actor=by, cohort=cohort, summary=f"Added the milestone “{milestone.title}”",
                 after=audit.snapshot(milestone, FIELDS))
    return milestone


def update_milestone(milestone: Milestone, values: dict, *, by: User) -> Milestone:
    """Change a milestone; students with work due are told when its deadline moves."""
    cohort = milestone.cohort
    _require_coordinator(cohort, by)
    once.lock(milestone)  # the same form sent twice at once: the second finds nothing to change
    check_milestone_values(cohort, values, milestone=milestone)
    before = audit.snapshot(milestone, FIELDS)
    for key in FIELDS:
        setattr(milestone, key, values[key] if key != "title" else values[key].strip())
    if audit.snapshot(milestone, FIELDS) == before:
        return milestone
    milestone.updated_at = clock.now()
    audit.record("milestone.updated", milestone, actor=by, cohort=cohort,
                 summary=f"Changed the milestone “{milestone.title}”", before=before,
                 after=audit.snapshot(milestone, FIELDS))
    if before["due_at"] != audit.snapshot(milestone, ["due_at"])["due_at"]:
        students = [e.student for e in cohort.enrolments]
        notify(students, f"The deadline of “{milestone.title}” is now "
                         f"{milestone.due_at.astimezone(cohort.zone):%a %d %b %Y %H:%M} (an extension you were "
                         "granted still applies).", link=f"/milestones/{milestone.id}", cohort=cohort)
    return milestone


@dataclass(frozen=True)
class Deadline:
    """A student's deadline for one milestone: the milestone's, or their granted extension's."""

    milestone: Milestone
    due_at: datetime
    extension: Extension | None

    @property
    def is_extended(self) -> bool:
        return self.extension is not None


def deadlines_for(cohort: Cohort, student: User) -> list[Deadline]:
    """Every milestone of the cohort with the student's effective deadline."""
    milestones = milestones_of(cohort)
    granted = latest_granted(student, [m.id for m in milestones])
    return [Deadline(m, granted[m.id].new_due_at if m.id in granted else m.due_at, granted.get(m.id))
            for m in milestones]


def latest_granted(student: User, milestone_ids: list[int]) -> dict[int, Extension]:
    """The student's latest granted extension per milestone (a later grant replaces an earlier one)."""
    rows = db.session.scalars(select(Extension).where(Extension.student_id == student.id,
                                                      Extension.milestone_id.in_(milestone_ids),
                                                      Extension.state == GRANTED)
                              .order_by(Extension.decided_at)).all()
    return {e.milestone_id: e for e in rows}


def effective_deadline(milestone: Milestone, student: User) -> Deadline:
    extension = latest_granted(student, [milestone.id]).get(milestone.id)
    return Deadline(milestone, extension.new_due_at if extension else milestone.due_at, extension)


def set_closures(cohort: Cohort, text: str, *, by: User) -> list[list[str]]:
    """Replace the cohort's closures from lines of "first day, last day, label" (ISO dates)."""
    _require_coordinator(cohort, by)
    closures = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",", 2)]
        if len(parts) < 2:
            raise ValidationFailed(f"Line {n}: write “first day, last day, label”, e.g. "
                                   "“2026-12-24, 2027-01-01, Christmas closure”.", field="closures")
        try:
            first, last = date.fromisoformat(parts[0]), date.fromisoformat(parts[1])
        except ValueError:
            raise ValidationFailed(f"Line {n}: dates are written 2026-12-24.", field="closures") from None
        if last < first:
            raise ValidationFailed(f"Line {n}: the last day is before the first.", field="closures")
        if (last - first).days > 62:
            raise ValidationFailed(f"Line {n}: a closure of more than two months is not a closure.", field="closures")
        closures.append([first.isoformat(), last.isoformat(), (parts[2] if len(parts) > 2 else "") or "Closure"])
    once.lock(cohort)  # the same form sent twice at once: the second finds nothing to change
    before = list(cohort.closures or [])
    if closures != before:
        cohort.closures = closures
        audit.record("timeline.closures_changed", cohort, actor=by, cohort=cohort, summary=f"Set {len(closures)} "
                     "closure(s)", before={"closures": before}, after={"closures": closures})
    return closures


LIMITS = ["extension_max_working_days", "meeting_gap_part_time_weeks", "meeting_gap_full_time_weeks"]


def set_limits(cohort: Cohort, *, by: User, **values: int) -> None:
    """The longest extension a coordinator grants and the meeting gaps of the overdue report."""
    _require_coordinator(cohort, by)
    if not 1 <= values["extension_max_working_days"] <= 60:
        raise ValidationFailed("The longest extension is between 1 and 60 working days.",
                               field="extension_max_working_days")
    for key in LIMITS[1:]:
        if not 1 <= values[key] <= 12:
            raise ValidationFailed("A meeting gap is between 1 and 12 weeks.", field=key)
    once.lock(cohort)
    before = audit.snapshot(cohort, LIMITS)
    for key in LIMITS:
        setattr(cohort, key, values[key])
    after = audit.snapshot(cohort, LIMITS)
    if after != before:
        audit.record("timeline.settings_changed", cohort, actor=by, cohort=cohort,
                     summary="Changed the extension limit or the meeting gaps", before=before, after=after)


def why_not_removable(milestone: Milestone) -> str | None:
    """Why a milestone must stay on the timeline (students have submitted to it or asked for more
    time: their work and requests refer to it), or None when it can be removed."""
    from ..submissions.models import Submission  # submissions build on milestones, not the reverse

    used = db.session.scalar(select(Submission.id).where(Submission.milestone_id == milestone.id).limit(1)) or \
        db.session.scalar(select(Extension.id).where(Extension.milestone_id == milestone.id).limit(1))
    if used is None:
        return None
    return (f"“{milestone.title}” already has submissions or extension requests, so it cannot be removed: "
            "change its dates instead.")


def delete_milestone(milestone: Milestone, *, by: User) -> None:
    """Remove a milestone nobody has submitted to or asked an extension for."""
    cohort = milestone.cohort
    _require_coordinator(cohort, by)
    reason = why_not_removable(milestone)
    if reason:
        raise InvalidState(reason)
    audit.record("milestone.removed", milestone, actor=by, cohort=cohort, summary=f"Removed the milestone "
                 f"“{milestone.title}”", before=audit.snapshot(milestone, FIELDS))
    db.session.delete(milestone)
