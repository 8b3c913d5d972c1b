"""Cohorts: one academic year of one programme, its students (enrolments) and its staff."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (JSON, CheckConstraint, Date, ForeignKey, LargeBinary, String, UniqueConstraint, event,
                        false, select, true)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..core.types import UTCDateTime
from ..extensions import db
from ..people.models import ADMIN, User


class Cohort(db.Model):
    __tablename__ = "cohorts"
    __table_args__ = (
        UniqueConstraint("programme_code", "academic_year", name="uq_cohorts_programme_year"),
        CheckConstraint("part_time_start < part_time_end", name="part_time_ordered"),
        CheckConstraint("part_time_end <= full_time_start", name="phases_in_order"),
        CheckConstraint("full_time_start < full_time_end", name="full_time_ordered"),
        CheckConstraint("academic_year >= 2000 AND academic_year < 2200", name="academic_year_sane"),
        CheckConstraint("min_preferences >= 1 AND min_preferences <= max_preferences AND max_preferences <= 30",
                        name="preference_counts"),
        CheckConstraint("max_choices_per_supervisor >= 1", name="max_choices_per_supervisor_positive"),
        CheckConstraint("extension_max_working_days >= 1 AND extension_max_working_days <= 60",
                        name="extension_limit_range"),
        CheckConstraint("meeting_gap_part_time_weeks >= 1 AND meeting_gap_full_time_weeks >= 1",
                        name="meeting_gaps_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_name: Mapped[str] = mapped_column(String(200))
    programme_code: Mapped[str] = mapped_column(String(20))
    # The calendar year the academic year starts in: 2026 is "2026-27".
    academic_year: Mapped[int]
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    part_time_start: Mapped[date] = mapped_column(Date)
    part_time_end: Mapped[date] = mapped_column(Date)
    full_time_start: Mapped[date] = mapped_column(Date)
    full_time_end: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # Settings of the proposal and preference round (DESIGN.md section 3 defaults).
    # No deadline means students may rank as soon as projects are approved, until one is set.
    preferences_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    min_preferences: Mapped[int] = mapped_column(default=5)
    max_preferences: Mapped[int] = mapped_column(default=10)
    max_choices_per_supervisor: Mapped[int] = mapped_column(default=3)
    # The keywords staff pick from when describing projects (free ones may be added too).
    project_keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Set when an allocation run is published (matching): preferences close for good then.
    allocation_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the second markers of the published allocation are published to the markers.
    second_markers_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Milestones (DESIGN.md section 3 defaults). Closures are [first day, last day, label] triples
    # (ISO dates) on which nothing counts as a working day, besides weekends and bank holidays.
    closures: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    extension_max_working_days: Mapped[int] = mapped_column(default=10)
    meeting_gap_part_time_weeks: Mapped[int] = mapped_column(default=3)
    meeting_gap_full_time_weeks: Mapped[int] = mapped_column(default=2)

    # Assessment: second and third markers (and what is handed to them) know a student only by
    # candidate number. The supervisor knows their own student whatever this says.
    marks_anonymously: Mapped[bool] = mapped_column(default=True, server_default=true())

    # Reminders (issue 14): days before each deadline a student is reminded, largest first.
    reminder_days: Mapped[list[int]] = mapped_column(JSON, default=lambda: [14, 7, 2, 1],
                                                     server_default='[14, 7, 2, 1]')

    enrolments: Mapped[list[Enrolment]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan", order_by="Enrolment.id"
    )
    staff: Mapped[list[CohortStaff]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan", order_by="CohortStaff.id"
    )

    @property
    def year_label(self) -> str:
        return f"{self.academic_year}-{(self.academic_year + 1) % 100:02d}"

    @property
    def title(self) -> str:
        return f"{self.programme_name} ({self.programme_code}) {self.year_label}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def closure_days(self) -> frozenset[date]:
        days: set[date] = set()
        for first, last, _label in self.closures or ():
            day, end = date.fromisoformat(first), date.fromisoformat(last)
            while day <= end:
                days.add(day)
                day += timedelta(days=1)
        return frozenset(days)

    def preferences_open(self, now: datetime) -> bool:
        return self.preferences_closed_because(now) is None

    def preferences_closed_because(self, now: datetime) -> str | None:
        """Why students' preference lists are closed, in a sentence, or None while they are open: the
        allocation may be published before the deadline, and then the deadline is not the reason."""
        if self.allocation_published_at is not None:
            day = self.allocation_published_at.astimezone(self.zone)
            return f"The allocation was published on {day:%a %d %b %Y}, so preference lists are closed."
        if self.preferences_deadline_at is not None and now >= self.preferences_deadline_at:
            deadline = self.preferences_deadline_at.astimezone(self.zone)
            return (f"The preferences deadline ({deadline:%a %d %b %Y %H:%M}) has passed, so preference lists are "
                    "closed.")
        return None

    def is_student(self, user: User) -> bool:
        # A query, not the enrolments list: that list is reloaded in full after every commit.
        return _remembered(("student", self.id, user.id), lambda: db.session.scalar(
            select(Enrolment.id).where(Enrolment.cohort_id == self.id, Enrolment.user_id == user.id)) is not None)

    def staff_member(self, user: User) -> CohortStaff | None:
        # The staff list when it is loaded already; otherwise a query for this one person. Asking who
        # may see a page must not load every member of staff with their account (a few hundred rows).
        if not user.is_authenticated:
            return None
        if "staff" in self.__dict__:
            return next((s for s in self.staff if s.user_id == user.id), None)
        return _remembered(("staff", self.id, user.id), lambda: db.session.scalar(
            select(CohortStaff).where(CohortStaff.cohort_id == self.id, CohortStaff.user_id == user.id)))

    def coordinator_ids(self) -> set[int]:
        if "staff" in self.__dict__:
            return {s.user_id for s in self.staff if s.is_coordinator}
        return set(db.session.scalars(select(CohortStaff.user_id).where(CohortStaff.cohort_id == self.id,
                                                                        CohortStaff.is_coordinator.is_(True))))

    def can_manage(self, user: User) -> bool:
        """Coordinators of this cohort and admins run it: settings, imports, the audit log."""
        if not user.is_authenticated:
            return False
        if user.has_role(ADMIN):
            return True
        member = self.staff_member(user)
        return member is not None and member.is_coordinator

    def can_view(self, user: User) -> bool:
        """Its students, its staff (coordinators included) and admins."""
        if not user.is_authenticated:
            return False
        if user.has_role(ADMIN) or self.staff_member(user) is not None:
            return True
        return self.is_student(user)


_MEMBERSHIP = "cohort_membership"


def _remembered(key: tuple, find):
    """Who is in which cohort, as read in this session since its last write: a page asks its cohort
    the same question for each project or student it shows (``Project.can_view`` ...)."""
    memo = db.session.info.setdefault(_MEMBERSHIP, {})
    if key not in memo:
        memo[key] = find()
    return memo[key]


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _forget_memberships(session, *_args) -> None:
    # Any write may enrol, add or remove someone: the next question is asked of the database again.
    session.info.pop(_MEMBERSHIP, None)


class Enrolment(db.Model):
    """A student in a cohort. The candidate number stands in for the name in anonymous marking."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("cohort_id", "user_id", name="uq_enrolments_cohort_user"),
        UniqueConstraint("cohort_id", "candidate_number", name="uq_enrolments_cohort_candidate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    candidate_number: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    cohort: Mapped[Cohort] = relationship(back_populates="enrolments")
    student: Mapped[User] = relationship(lazy="joined")


class CohortStaff(db.Model):
    """A member of staff taking part in a cohort, possibly as its coordinator."""

    __tablename__ = "cohort_staff"
    __table_args__ = (
        UniqueConstraint("cohort_id", "user_id", name="uq_cohort_staff_cohort_user"),
        CheckConstraint("load_limit IS NULL OR load_limit >= 0", name="load_limit_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    # Overrides the staff profile's maximum load for this cohort when set.
    load_limit: Mapped[int | None]
    is_coordinator: Mapped[bool] = mapped_column(default=False)
    # Nominated by the coordinator to moderate marks (coordinators moderate anyway).
    is_moderator: Mapped[bool] = mapped_column(default=False, server_default=false())

    cohort: Mapped[Cohort] = relationship(back_populates="staff")
    member: Mapped[User] = relationship(lazy="joined")

    @property
    def effective_load_limit(self) -> int:
        if self.load_limit is not None:
            return self.load_limit
        profile = self.member.staff_profile
        return profile.max_load if profile else 0


class PeopleImport(db.Model):
    """An uploaded people file held back because some of its rows would give an existing account a
    role it does not have (a student of another cohort listed as staff, an admin listed as a student).

    The coordinator sees those rows and confirms or abandons the import; the file is kept as sent so
    that what is confirmed is exactly what was checked."""

    __tablename__ = "people_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set once, when the coordinator confirms (the import is then done) or abandons it.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    abandoned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    cohort: Mapped[Cohort] = relationship()
    uploaded_by: Mapped[User | None] = relationship()
