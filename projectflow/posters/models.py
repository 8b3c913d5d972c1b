"""Poster sessions (DESIGN.md section 1.6): the sessions and rooms of the poster days, who cannot come
to which session, the panel members a coordinator adds, and the schedules the scheduler makes.

A poster is assessed in one slot of ``slot_minutes`` within its session by all its assessors together
(the student's supervisor and second marker, and any panel member); a board holds one poster for the
whole session. Schedules are made by ``projectflow.solvers.posters`` in a job; one per cohort is
published at a time, and its slots are what students and assessors see.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..cohorts.models import Cohort
from ..core.types import UTCDateTime
from ..extensions import db
from ..people.models import User

# Availability: a person cannot come to a session, or would rather not ("if needed").
UNAVAILABLE, IF_NEEDED = "unavailable", "if_needed"
AVAILABILITY_KINDS = (UNAVAILABLE, IF_NEEDED)
# A student's declaration needs the coordinator's decision; staff's counts at once.
DECLARED, ACCEPTED, REFUSED = "declared", "accepted", "refused"
DECLARATION_STATES = (DECLARED, ACCEPTED, REFUSED)

# A schedule's life: queued -> running -> solved | failed; solved -> published -> superseded.
QUEUED, RUNNING, SOLVED, FAILED, PUBLISHED, SUPERSEDED = (
    "queued", "running", "solved", "failed", "published", "superseded")
SCHEDULE_STATES = (QUEUED, RUNNING, SOLVED, FAILED, PUBLISHED, SUPERSEDED)


class PosterSettings(db.Model):
    """A cohort's poster-day rules and the availability window. One row per cohort."""

    __tablename__ = "poster_settings"
    __table_args__ = (
        CheckConstraint("slot_minutes >= 5 AND slot_minutes <= 240", name="slot_minutes_sensible"),
        CheckConstraint("max_per_assessor_per_session >= 1", name="max_per_assessor_positive"),
    )

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True)
    slot_minutes: Mapped[int] = mapped_column(default=15)
    max_per_assessor_per_session: Mapped[int] = mapped_column(default=8)
    # Assessors and students say when they cannot come while the window is open.
    availability_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    availability_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    cohort: Mapped[Cohort] = relationship()


class PosterSession(db.Model):
    """A session of the poster days: a date, a start and an end, one or more rooms."""

    __tablename__ = "poster_sessions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_poster_sessions_cohort_id_starts_at", "cohort_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    cohort: Mapped[Cohort] = relationship()
    rooms: Mapped[list[PosterRoom]] = relationship(back_populates="session", order_by="PosterRoom.name",
                                                   cascade="all, delete-orphan")


class PosterRoom(db.Model):
    """A room of a session, with its number of poster boards."""

    __tablename__ = "poster_rooms"
    __table_args__ = (
        UniqueConstraint("session_id", "name", name="uq_poster_rooms_session_name"),
        CheckConstraint("boards >= 1", name="boards_positive"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("poster_sessions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    boards: Mapped[int]

    session: Mapped[PosterSession] = relationship(back_populates="rooms")


class Availability(db.Model):
    """A person's word on one session: they cannot come, or only if needed. A student's declaration
    carries a reason and waits for the coordinator's decision."""

    __tablename__ = "poster_availability"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id", name="uq_poster_availability_session_user"),
        CheckConstraint(f"kind IN {AVAILABILITY_KINDS!r}", name="kind_known"),
        CheckConstraint(f"state IN {DECLARATION_STATES!r}", name="state_known"),
        CheckConstraint("(state = 'declared') = (decided_at IS NULL)", name="decided_when"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("poster_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default=UNAVAILABLE)
    reason: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default=ACCEPTED)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    session: Mapped[PosterSession] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class PanelMember(db.Model):
    """A member of staff the coordinator adds to a student's poster panel, beside the supervisor and
    the second marker."""

    __tablename__ = "poster_panel_members"
    __table_args__ = (
        UniqueConstraint("cohort_id", "student_id", "user_id", name="uq_poster_panel_members_cohort_student_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class PosterSchedule(db.Model):
    """One run of the scheduler for a cohort: what it was given, how good its answer is against the
    lower bound, and its slots. One published schedule per cohort."""

    __tablename__ = "poster_schedules"
    __table_args__ = (
        CheckConstraint(f"state IN {SCHEDULE_STATES!r}", name="state_known"),
        CheckConstraint("(state IN ('published', 'superseded')) = (published_at IS NOT NULL)",
                        name="published_when"),
        UniqueConstraint("cohort_id", "number", name="uq_poster_schedules_cohort_number"),
        Index("uq_poster_schedules_one_published", "cohort_id", unique=True,
              sqlite_where=text("state = 'published'"), postgresql_where=text("state = 'published'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    number: Mapped[int]  # 1, 2, ... within the cohort
    state: Mapped[str] = mapped_column(String(12), default=QUEUED)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    problem: Mapped[dict] = mapped_column(JSON, default=dict)  # the scheduler's input, as its file format
    summary: Mapped[dict] = mapped_column(JSON, default=dict)  # status, unplaced, bound, figures
    assessor_days: Mapped[int | None]
    lower_bound: Mapped[int | None]
    if_needed_used: Mapped[int | None]
    solve_seconds: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    cohort: Mapped[Cohort] = relationship()
    slots: Mapped[list[PosterSlot]] = relationship(back_populates="schedule", cascade="all, delete-orphan")


class PosterSlot(db.Model):
    """Where and when one student's poster is assessed in a schedule."""

    __tablename__ = "poster_slots"
    __table_args__ = (
        UniqueConstraint("schedule_id", "student_id", name="uq_poster_slots_schedule_student"),
        UniqueConstraint("schedule_id", "room_id", "board", name="uq_poster_slots_schedule_room_board"),
        CheckConstraint("board >= 1", name="board_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_poster_slots_schedule_id_session_id", "schedule_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("poster_schedules.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("poster_sessions.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("poster_rooms.id", ondelete="CASCADE"))
    board: Mapped[int]
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    is_moved: Mapped[bool] = mapped_column(default=False)  # placed by hand, not by the scheduler

    schedule: Mapped[PosterSchedule] = relationship(back_populates="slots")
    student: Mapped[User] = relationship(lazy="joined")
    session: Mapped[PosterSession] = relationship()
    room: Mapped[PosterRoom] = relationship()
