"""Each person's own slots of a cohort's published poster schedule: a student's one slot (when,
where, who assesses them) and every poster an assessor assesses (when, where, whose, with whom), as
the page ``/cohorts/<id>/posters/mine``, its .ics file, the calendar feed and the poster mark sheets
show them.

Who assesses a poster is read from the schedule (``schedules.assessors_of``: the panel as the schedule
was made), not from today's allocation, so that the slots a person is told about are the ones the
published schedule placed them in. A person's slots are read in a fixed number of queries, however
large the cohort and however many cohorts they belong to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, union
from sqlalchemy.orm import joinedload

from ..cohorts.models import Cohort, CohortStaff, Enrolment
from ..core.audit import AuditEvent
from ..extensions import db
from ..matching import anonymity
from ..matching.models import PUBLISHED as ALLOCATION_PUBLISHED, Allocation, AllocationRun
from ..people.models import User
from ..proposals.models import Project
from . import schedules
from .models import PUBLISHED, PosterSchedule, PosterSlot
from .services import session_label


@dataclass(frozen=True)
class MySlot:
    """One slot of a published schedule as one person sees it: their own poster, or one they assess."""

    cohort: Cohort
    schedule: PosterSchedule
    slot: PosterSlot
    viewer_id: int
    student_label: str  # the student's name, or "Candidate 123456" to a marker who marks anonymously
    project_title: str
    assessors: tuple[User, ...]  # everyone who assesses this poster, as the schedule was made
    revision: int  # rises whenever the cohort's published slots may have changed: the events' SEQUENCE
    changed_at: datetime  # when the published schedule last changed (published, or a poster moved since)

    @property
    def is_own(self) -> bool:
        return self.slot.student_id == self.viewer_id

    @property
    def others(self) -> tuple[User, ...]:
        """The poster's other assessors (all of them, to its student)."""
        return tuple(a for a in self.assessors if a.id != self.viewer_id)

    @property
    def starts(self) -> datetime:
        return self.slot.starts_at.astimezone(self.cohort.zone)

    @property
    def ends(self) -> datetime:
        return self.slot.ends_at.astimezone(self.cohort.zone)

    @property
    def room(self) -> str:
        return self.slot.room.name

    @property
    def board(self) -> int:
        return self.slot.board

    @property
    def place(self) -> str:
        return f"{self.slot.room.name}, board {self.slot.board}"

    @property
    def session(self) -> str:
        return session_label(self.slot.session, self.cohort.zone)

    @property
    def path(self) -> str:
        return f"/cohorts/{self.cohort.id}/posters/mine"

    @property
    def uid(self) -> str:
        # The same for every schedule the cohort publishes (a slot row is new in each): a calendar
        # that imported the first publication moves the event when a later one moves the poster.
        return f"poster-{self.cohort.id}-student-{self.slot.student_id}-user-{self.viewer_id}@projectflow"


@dataclass(frozen=True)
class Mine:
    """What ``/cohorts/<id>/posters/mine`` shows one person."""

    cohort: Cohort
    schedule: PosterSchedule | None  # the published one, if any
    own: MySlot | None  # the person's own poster, as a student of the cohort
    assessing: tuple[MySlot, ...]  # the posters they assess, by start, room and board
    is_student: bool

    @property
    def slots(self) -> list[MySlot]:
        return sorted(([self.own] if self.own else []) + list(self.assessing), key=_order)

    @property
    def days(self) -> list[tuple[str, list[MySlot]]]:
        """The posters they assess, by day ("Tue 14 Sep 2027")."""
        found: dict[str, list[MySlot]] = {}
        for item in self.assessing:
            found.setdefault(f"{item.starts:%a %d %b %Y}", []).append(item)
        return list(found.items())


def _order(item: MySlot) -> tuple:
    return item.slot.starts_at, item.slot.room.name, item.slot.board, item.slot.id


def mine(cohort: Cohort, person: User) -> Mine:
    """``person``'s slots of ``cohort``'s published schedule (none while nothing is published)."""
    schedule = schedules.published_schedule(cohort)
    found = slots_for(person, [schedule]) if schedule is not None else []
    own = next((item for item in found if item.is_own), None)
    return Mine(cohort, schedule, own, tuple(item for item in found if not item.is_own), cohort.is_student(person))


def published_schedules_of(person: User) -> list[PosterSchedule]:
    """The published schedules of every cohort ``person`` studies in or is staff of: one query."""
    cohorts = union(select(Enrolment.cohort_id).where(Enrolment.user_id == person.id),
                    select(CohortStaff.cohort_id).where(CohortStaff.user_id == person.id))
    return list(db.session.scalars(select(PosterSchedule).where(PosterSchedule.state == PUBLISHED,
                                                                PosterSchedule.cohort_id.in_(cohorts))
                                   .options(joinedload(PosterSchedule.cohort)).order_by(PosterSchedule.id)))


def slots_for(person: User, published: Iterable[PosterSchedule]) -> list[MySlot]:
    """``person``'s slots in these schedules (their own poster's and those they assess), by start.

    Six queries at most, whatever the number of schedules and slots: the slots, the assessors' accounts,
    the projects' titles, the candidate numbers, the schedules' revisions and the students the person
    supervises (whose names a cohort that marks anonymously still shows them)."""
    published = [s for s in published if s is not None]
    panels = {s.id: schedules.assessors_of(s) for s in published}
    wanted = {s.id: {student for student, people in panels[s.id].items() if person.id in people} | {person.id}
              for s in published}
    students = set().union(*wanted.values())
    if not students:
        return []
    rows = [row for row in db.session.scalars(
        select(PosterSlot).where(PosterSlot.schedule_id.in_(wanted), PosterSlot.student_id.in_(students))
        .options(joinedload(PosterSlot.room), joinedload(PosterSlot.session)))
        if row.student_id in wanted[row.schedule_id]]
    if not rows:
        return []
    by_schedule = {s.id: s for s in published}
    cohort_ids = {s.cohort_id for s in published}
    shown = {row.student_id for row in rows}
    people_ids = {uid for row in rows for uid in panels[row.schedule_id].get(row.student_id, ())}
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people_ids)))} if people_ids else {}
    titles = {(cohort_id, student_id): title for cohort_id, student_id, title in db.session.execute(
        select(AllocationRun.cohort_id, Allocation.student_id, Project.title)
        .join(AllocationRun, Allocation.run_id == AllocationRun.id).join(Project, Allocation.project_id == Project.id)
        .where(AllocationRun.cohort_id.in_(cohort_ids), AllocationRun.state == ALLOCATION_PUBLISHED,
               Allocation.student_id.in_(shown)))}
    numbers = {(cohort_id, user_id): number for cohort_id, user_id, number in db.session.execute(
        select(Enrolment.cohort_id, Enrolment.user_id, Enrolment.candidate_number)
        .where(Enrolment.cohort_id.in_(cohort_ids), Enrolment.user_id.in_(shown)))}
    revisions = _revisions(published)
    anonymous = {s.cohort_id for s in published if s.cohort.marks_anonymously}
    supervised = anonymity.supervised_by(person, anonymous) if shown - {person.id} and anonymous else {}
    found = []
    for row in rows:
        schedule = by_schedule[row.schedule_id]
        cohort = schedule.cohort
        key = (cohort.id, row.student_id)
        found.append(MySlot(
            cohort, schedule, row, person.id,
            anonymity.label(cohort, row.student, person, numbers.get(key, ""), supervised.get(cohort.id, set())),
            titles.get(key, ""),
            tuple(people[uid] for uid in panels[row.schedule_id].get(row.student_id, ()) if uid in people),
            *revisions[schedule.id]))
    return sorted(found, key=_order)


# What changes the slots people were told about: a schedule published (it replaces the one before),
# or a poster of a published schedule moved by hand (``schedules.change``).
_REVISING = ("posters.schedule_published", "posters.schedule_changed")


def _revisions(published: list[PosterSchedule]) -> dict[int, tuple[int, datetime]]:
    """Schedule id -> (revision, changed at), from the audit log in one query. A slot row has no time of
    its own, and a published schedule's poster can be moved: the count of the cohort's publications and
    hand moves only ever grows, so a calendar that has an event takes a later copy of it as newer."""
    ids = [s.id for s in published]
    rows = {cohort_id: (n, last) for cohort_id, n, last in db.session.execute(
        select(AuditEvent.cohort_id, func.count(AuditEvent.id),
               func.max(case((AuditEvent.object_id.in_(ids), AuditEvent.at))))
        .where(AuditEvent.cohort_id.in_({s.cohort_id for s in published}), AuditEvent.action.in_(_REVISING))
        .group_by(AuditEvent.cohort_id))}
    found = {}
    for s in published:
        n, last = rows.get(s.cohort_id, (0, None))
        found[s.id] = (n, max(last, s.published_at) if last else s.published_at)
    return found


def slot_of_student(cohort: Cohort, student_id: int) -> PosterSlot | None:
    """The student's slot in ``cohort``'s published schedule, with its room and session, or None (nothing
    published, or their poster has no slot): what a poster mark sheet shows its marker."""
    schedule = schedules.published_schedule(cohort)
    if schedule is None:
        return None
    return db.session.scalar(select(PosterSlot).where(PosterSlot.schedule_id == schedule.id,
                                                      PosterSlot.student_id == student_id)
                             .options(joinedload(PosterSlot.room), joinedload(PosterSlot.session)))
