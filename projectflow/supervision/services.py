"""The supervision log: during both phases a student records each supervision meeting (date, notes,
agreed actions) and their supervisor confirms it, or disputes it with a comment the student reads; the
coordinator sees who has gone too long without one. The log is the evidence behind the supervisor's "independence and conduct" mark later.

The supervisor of a meeting is the student's supervisor in the cohort's *published* allocation when
the meeting is recorded; co-supervisors of the allocated project may confirm it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort
from ..core import audit, clock
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..reminders.notices import notify
from ..extensions import db
from ..matching.models import Allocation
from ..matching.services import allocation_of, published_run
from ..people.models import User
from ..proposals.models import Project, project_co_supervisors
from ..milestones.models import FULL_TIME, PART_TIME, PHASE_LABELS
from .models import Meeting

FIELDS = ["met_on", "notes", "actions", "supervisor_id"]


def local_today(cohort: Cohort) -> date:
    """Today's date on the cohort's wall clock (a meeting at 00:30 in London is still "today" there)."""
    return clock.now().astimezone(cohort.zone).date()


def _cohort_of(meeting: Meeting) -> Cohort:
    return db.session.get(Cohort, meeting.cohort_id)


# --- who may see and do what ---------------------------------------------------------------------

def supervises(allocation: Allocation | None, user: User) -> bool:
    """The allocation's supervisor, or a co-supervisor of its project."""
    if allocation is None or not user.is_authenticated:
        return False
    return allocation.supervisor_id == user.id or any(u.id == user.id for u in allocation.project.co_supervisors)


def can_view_log(cohort: Cohort, student: User, user: User) -> bool:
    """The student themselves, their (co-)supervisors in the published allocation, the coordinators."""
    if not user.is_authenticated:
        return False
    if user.id == student.id and cohort.is_student(student):
        return True
    return cohort.can_manage(user) or supervises(allocation_of(cohort, student), user)


def can_confirm(meeting: Meeting, user: User) -> bool:
    """The supervisor the meeting was recorded with, or a co-supervisor of the student's project.
    A coordinator who is neither does not confirm: they were not in the meeting."""
    if not user.is_authenticated:
        return False
    if meeting.supervisor_id == user.id:
        return True
    allocation = allocation_of(_cohort_of(meeting), meeting.student)
    return allocation is not None and any(u.id == user.id for u in allocation.project.co_supervisors)


# --- recording and confirming --------------------------------------------------------------------

def check_met_on(cohort: Cohort, met_on: date | None) -> None:
    """ValidationFailed (field ``met_on``) unless the day is between the project's start and today, and
    not after the project's end."""
    if met_on is None:
        raise ValidationFailed("Give the date of the meeting.", field="met_on")
    if met_on > local_today(cohort):
        raise ValidationFailed("The meeting is in the future: record it once it has taken place.", field="met_on")
    if met_on < cohort.part_time_start:
        raise ValidationFailed(f"The project starts on {cohort.part_time_start:%a %d %b %Y}: record meetings "
                               "from then on.", field="met_on")
    if met_on > cohort.full_time_end:
        raise ValidationFailed(f"The project ended on {cohort.full_time_end:%a %d %b %Y}: a meeting after that "
                               "is not part of its supervision log.", field="met_on")


def record_meeting(cohort: Cohort, student: User, *, met_on: date | None, notes: str, actions: str = "",
                   by: User) -> Meeting:
    """The student records a meeting with their supervisor of the published allocation; the supervisor
    is told and asked to confirm it. The date may not be in the future nor before the part-time phase."""
    if by.id != student.id or not cohort.is_student(student):
        raise NotAllowed("Students record their own supervision meetings.")
    allocation = allocation_of(cohort, student)
    if allocation is None:
        raise InvalidState("You have no supervisor yet: meetings can be recorded once the allocation is "
                           "published and gives you a project.")
    check_met_on(cohort, met_on)
    notes, actions = (notes or "").strip(), (actions or "").strip()
    if not notes:
        raise ValidationFailed("Write what you discussed: your supervisor confirms these notes.", field="notes")
    # A double-clicked form must not log the same meeting twice.
    twin = db.session.scalar(select(Meeting.id).where(Meeting.cohort_id == cohort.id,
                                                      Meeting.student_id == student.id,
                                                      Meeting.met_on == met_on, Meeting.notes == notes))
    if twin is not None:
        raise InvalidState(f"This meeting of {met_on:%d %b %Y} is already in your log.")
    meeting = Meeting(cohort_id=cohort.id, student_id=student.id, supervisor_id=allocation.supervisor_id,
                      met_on=met_on, notes=notes, actions=actions, recorded_at=clock.now())
    db.session.add(meeting)
    audit.record("meeting.recorded", meeting, actor=by, cohort=cohort,
                 summary=f"{student.name} recorded a supervision meeting of {met_on:%d %b %Y} "
                         f"with {allocation.supervisor.name}",
                 after=audit.snapshot(meeting, FIELDS))
    notify([allocation.supervisor],
           f"{student.name} recorded a supervision meeting of {met_on:%a %d %b %Y}: please confirm it.",
           link=f"/cohorts/{cohort.id}/meetings/supervision#meeting-{meeting.id}", cohort=cohort)
    return meeting


def confirm_meeting(meeting: Meeting, *, by: User) -> Meeting:
    """The supervisor (or a co-supervisor) confirms that the meeting took place as recorded; once. A
    disputed record may still be confirmed (the student and supervisor talked it over): the dispute is
    then cleared, and stays in the audit log."""
    cohort = _cohort_of(meeting)
    if not can_confirm(meeting, by):
        raise NotAllowed("Only the student's supervisor or a co-supervisor confirms their meetings.")
    before = {"confirmed_at": None, "disputed_at": meeting.disputed_at, "dispute_comment": meeting.dispute_comment}
    # A conditional update: of two requests confirming at once, the second changes no row.
    confirmed = db.session.execute(update(Meeting).where(Meeting.id == meeting.id, Meeting.confirmed_at.is_(None))
                                   .values(confirmed_at=clock.now(), confirmed_by_id=by.id, disputed_at=None,
                                           dispute_comment=None))
    db.session.refresh(meeting)
    if confirmed.rowcount != 1:
        raise InvalidState(f"This meeting was already confirmed on "
                           f"{meeting.confirmed_at.astimezone(cohort.zone):%d %b %Y}.")
    audit.record("meeting.confirmed", meeting, actor=by, cohort=cohort,
                 summary=f"{by.name} confirmed the supervision meeting of {meeting.met_on:%d %b %Y} "
                         f"with {meeting.student.name}" + (" (its dispute is cleared)" if before["disputed_at"] else ""),
                 before=before, after={"confirmed_at": meeting.confirmed_at, "confirmed_by_id": by.id,
                                       "disputed_at": None, "dispute_comment": None})
    notify([meeting.student], f"{by.name} confirmed your supervision meeting of {meeting.met_on:%a %d %b %Y}.",
           link=f"/cohorts/{cohort.id}/meetings", cohort=cohort)
    return meeting


DISPUTE_MAX = 2000  # characters: a comment, not a second set of notes


def dispute_meeting(meeting: Meeting, comment: str, *, by: User) -> Meeting:
    """The supervisor (or a co-supervisor) says the record is not right, with a comment the student
    reads: the date, the notes or the actions are wrong, or the meeting did not take place. Only a
    record not yet confirmed, and once: a disputed record is settled by confirming it (which clears the
    dispute) or by the student recording the meeting again as it was. Students do not edit a record
    their supervisor has read, so the disputed one stays in the log as evidence."""
    cohort = _cohort_of(meeting)
    if not can_confirm(meeting, by):
        raise NotAllowed("Only the student's supervisor or a co-supervisor disputes their meeting records.")
    comment = (comment or "").strip()
    if not comment:
        raise ValidationFailed("Say what is wrong with the record: the student reads your comment.", field="comment")
    if len(comment) > DISPUTE_MAX:
        raise ValidationFailed(f"Keep the comment to {DISPUTE_MAX} characters (it has {len(comment)}).",
                               field="comment")
    # Conditional, as for confirming: of two requests at once the second changes no row and is told why.
    disputed = db.session.execute(update(Meeting).where(Meeting.id == meeting.id, Meeting.confirmed_at.is_(None),
                                                        Meeting.disputed_at.is_(None))
                                  .values(disputed_at=clock.now(), dispute_comment=comment))
    db.session.refresh(meeting)
    if disputed.rowcount != 1:
        if meeting.confirmed_at is not None:
            raise InvalidState(f"This meeting was already confirmed on "
                               f"{meeting.confirmed_at.astimezone(cohort.zone):%d %b %Y}.")
        raise InvalidState(f"This record was already disputed on "
                           f"{meeting.disputed_at.astimezone(cohort.zone):%d %b %Y}: confirm it once it is "
                           "settled, or ask the student to record the meeting again.")
    audit.record("meeting.disputed", meeting, actor=by, cohort=cohort,
                 summary=f"{by.name} disputed the record of the supervision meeting of {meeting.met_on:%d %b %Y} "
                         f"with {meeting.student.name}",
                 before={"disputed_at": None, "dispute_comment": None},
                 after={"disputed_at": meeting.disputed_at, "dispute_comment": comment})
    notify([meeting.student], f"{by.name} disputed your record of the supervision meeting of "
                              f"{meeting.met_on:%a %d %b %Y}: “{comment}”",
           link=f"/cohorts/{cohort.id}/meetings#meeting-{meeting.id}", cohort=cohort)
    return meeting


# --- reading -------------------------------------------------------------------------------------

def meetings_of(cohort: Cohort, student: User) -> list[Meeting]:
    """The student's log, latest meeting first."""
    return list(db.session.scalars(select(Meeting).where(Meeting.cohort_id == cohort.id,
                                                         Meeting.student_id == student.id)
                                   .order_by(Meeting.met_on.desc(), Meeting.id.desc())))


def supervised_by(cohort: Cohort, user: User) -> list[Allocation]:
    """The allocations of the published run the person supervises or co-supervises, by student name."""
    run = published_run(cohort)
    if run is None:
        return []
    # A query for their allocations, not the whole run's filtered here: that read every project's
    # co-supervisors.
    co_supervised = select(project_co_supervisors.c.project_id).where(project_co_supervisors.c.user_id == user.id)
    found = db.session.scalars(select(Allocation).where(
        Allocation.run_id == run.id, or_(Allocation.supervisor_id == user.id, Allocation.project_id.in_(co_supervised)))
        .options(selectinload(Allocation.project).selectinload(Project.co_supervisors)))
    return sorted(found, key=lambda a: a.student.name.lower())


def all_allocations(cohort: Cohort) -> list[Allocation]:
    """Every allocation of the published run, by student name (the coordinator's view)."""
    run = published_run(cohort)
    return sorted(run.allocations, key=lambda a: a.student.name.lower()) if run else []


def confirmable(meetings: list[Meeting], allocations: list[Allocation], user: User) -> set[int]:
    """The ids of the unconfirmed ``meetings`` (disputed ones included) the person may confirm or
    dispute: ``can_confirm`` for a whole page, from the allocations already loaded rather than a query
    per meeting."""
    projects = set(db.session.scalars(select(project_co_supervisors.c.project_id)
                                      .where(project_co_supervisors.c.user_id == user.id)))
    co_supervised = {a.student_id for a in allocations if a.project_id in projects}
    return {m.id for m in meetings if m.confirmed_at is None
            and (m.supervisor_id == user.id or m.student_id in co_supervised)}


# --- the coordinator's report --------------------------------------------------------------------

@dataclass(frozen=True)
class Phase:
    name: str  # PART_TIME or FULL_TIME
    start: date
    end: date
    gap_weeks: int

    @property
    def label(self) -> str:
        return PHASE_LABELS[self.name]


def phase_on(cohort: Cohort, day: date) -> Phase | None:
    """The phase the cohort is in on ``day`` (both ends included), or None between and outside them."""
    if cohort.part_time_start <= day <= cohort.part_time_end:
        return Phase(PART_TIME, cohort.part_time_start, cohort.part_time_end, cohort.meeting_gap_part_time_weeks)
    if cohort.full_time_start <= day <= cohort.full_time_end:
        return Phase(FULL_TIME, cohort.full_time_start, cohort.full_time_end, cohort.meeting_gap_full_time_weeks)
    return None


@dataclass(frozen=True)
class Overdue:
    """A student of the published allocation who has gone longer than the phase's gap without a meeting."""

    student: User
    supervisor: User
    last_met_on: date | None  # their last recorded meeting, whenever it was
    weeks_since: float  # days_since / 7
    limit_weeks: int
    phase: str  # PART_TIME or FULL_TIME
    days_since: int
    # The day the gap is counted from: the last meeting, or the phase's start when that is later (a
    # new phase, with its own gap, starts everyone's count afresh).
    counted_from: date
    # Their latest record the supervisor disputes, when it is later than ``last_met_on`` (it does not count).
    disputed_on: date | None = None

    @property
    def phase_label(self) -> str:
        return PHASE_LABELS[self.phase]

    @property
    def since_label(self) -> str:
        """"3 weeks 1 day": whole weeks and days, so a gap just over the limit reads as such."""
        return weeks_and_days(self.days_since)


def weeks_and_days(days: int) -> str:
    weeks, rest = divmod(days, 7)
    parts = [f"{weeks} week{'s' if weeks != 1 else ''}"] if weeks else []
    if rest or not weeks:
        parts.append(f"{rest} day{'s' if rest != 1 else ''}")
    return " ".join(parts)


def overdue(cohort: Cohort, today: date | None = None) -> list[Overdue]:
    """Students whose last meeting is more than the current phase's gap ago (exactly the gap is not
    overdue), longest gap first. Outside both phases, or before the allocation is published, nobody is.

    A meeting counts as soon as the student records it, confirmed or not: the report asks whether
    student and supervisor are meeting, and a supervisor slow to confirm should not make a student who
    met them look neglected. Whether the meetings were confirmed is visible on the supervision pages.
    A record the supervisor disputes does not count (until it is confirmed): the one person who was
    there says it is not right, perhaps that the meeting never took place, and the report should not
    hide a gap behind it.
    """
    today = today or local_today(cohort)
    phase = phase_on(cohort, today)
    run = published_run(cohort)
    if phase is None or run is None:
        return []
    last, disputed = {}, {}
    for student_id, is_disputed, met_on in db.session.execute(
            select(Meeting.student_id, Meeting.disputed_at.is_not(None), func.max(Meeting.met_on))
            .where(Meeting.cohort_id == cohort.id, Meeting.met_on <= today)
            .group_by(Meeting.student_id, Meeting.disputed_at.is_not(None))):
        (disputed if is_disputed else last)[student_id] = met_on
    limit_days = phase.gap_weeks * 7
    found = []
    for a in run.allocations:
        last_met = last.get(a.student_id)
        counted_from = max(last_met, phase.start) if last_met else phase.start
        days = (today - counted_from).days
        if days > limit_days:
            later = disputed.get(a.student_id)
            found.append(Overdue(a.student, a.supervisor, last_met, days / 7, phase.gap_weeks, phase.name,
                                 days, counted_from, later if later and (not last_met or later > last_met) else None))
    return sorted(found, key=lambda o: (-o.days_since, o.student.name.lower()))
