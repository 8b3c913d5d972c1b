"""Matching: allocation runs and the student-project-supervisor allocations they produce.

A run keeps its inputs (the problem the engine saw, as problem.json) and the engine's own result
(result.json), so any published allocation can be reproduced with ``projectflow allocate``. Its
``Allocation`` rows are the allocation as it stands, hand moves included; once the run is published
they are the cohort's source of truth for supervision.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..cohorts.models import Cohort
from ..core.jobs import Job
from ..core.types import UTCDateTime
from ..extensions import db
from ..people.models import User
from ..proposals.models import Project

# AllocationRun: queued -> running -> solved | failed; solved -> published -> superseded (when a
# later run is published in its place).
QUEUED, RUNNING, SOLVED, FAILED, PUBLISHED, SUPERSEDED = (
    "queued", "running", "solved", "failed", "published", "superseded")
RUN_STATES = (QUEUED, RUNNING, SOLVED, FAILED, PUBLISHED, SUPERSEDED)
UNFINISHED = "state IN ('queued', 'running')"
RUN_LABELS = {QUEUED: "Waiting", RUNNING: "Running", SOLVED: "Ready to review", FAILED: "Failed",
              PUBLISHED: "Published", SUPERSEDED: "Replaced"}
RUN_BADGES = {QUEUED: "secondary", RUNNING: "info", SOLVED: "primary", FAILED: "danger",
              PUBLISHED: "success", SUPERSEDED: "dark"}
# The objectives a coordinator can choose in the app. `stable` needs supervisors' rankings of
# students, which the app does not collect; it stays available through `projectflow allocate`.
APP_OBJECTIVES = ("min-cost", "greedy", "generous")
OBJECTIVE_LABELS = {
    "min-cost": "Best overall (fewest unplaced, then the least sum of rank squared, then even loads)",
    "greedy": "Most first choices (then most second choices, and so on)",
    "generous": "Fewest low choices (the worst choice anyone gets as good as possible)",
    "stable": "Stable (supervisors' rankings decide)",
}


class AllocationRun(db.Model):
    __tablename__ = "allocation_runs"
    __table_args__ = (
        CheckConstraint(f"state IN {RUN_STATES!r}", name="state_known"),
        CheckConstraint("objective IN ('min-cost', 'greedy', 'generous', 'stable')", name="objective_known"),
        # A solved run has the engine's result (a failed one may have it too: its diagnosis).
        CheckConstraint("state NOT IN ('solved', 'published', 'superseded') OR result IS NOT NULL",
                        name="result_when_solved"),
        CheckConstraint("(state IN ('published', 'superseded')) = (published_at IS NOT NULL)",
                        name="published_at_when_published"),
        UniqueConstraint("cohort_id", "number", name="uq_allocation_runs_cohort_number"),
        # One published run per cohort: it is the source of truth for supervision.
        Index("uq_allocation_runs_one_published", "cohort_id", unique=True,
              sqlite_where=text("state = 'published'"), postgresql_where=text("state = 'published'")),
        # One unfinished run per cohort: a second start waits for the first to finish.
        Index("uq_allocation_runs_one_unfinished", "cohort_id", unique=True,
              sqlite_where=text(UNFINISHED), postgresql_where=text(UNFINISHED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    number: Mapped[int]  # "Run 3" of its cohort
    objective: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(12), default=QUEUED)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    # problem.json as the engine saw it (read when the run starts), and the engine's result.json
    # (never changed by hand moves).
    problem: Mapped[dict | None] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)
    # SHA-256 of that problem (``matching.problem.problem_hash``): whether the cohort's inputs have
    # changed since is then a comparison of two fingerprints. None on runs solved before it was kept.
    inputs_hash: Mapped[str | None] = mapped_column(String(64))
    # The allocation as it stands (hand moves included), summarised for lists and comparisons.
    assigned_count: Mapped[int] = mapped_column(default=0)
    unassigned_count: Mapped[int] = mapped_column(default=0)
    profile: Mapped[list[int]] = mapped_column(JSON, default=list)
    worst_rank: Mapped[int | None]
    rank_cost: Mapped[int] = mapped_column(default=0)
    moves: Mapped[int] = mapped_column(default=0)  # hand moves since the engine's result
    is_valid: Mapped[bool | None]  # the validator's verdict on the allocation as it stands
    validation_problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    cohort: Mapped[Cohort] = relationship()
    job: Mapped[Job | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    allocations: Mapped[list[Allocation]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="Allocation.id")

    @property
    def label(self) -> str:
        return f"Run {self.number}"

    @property
    def state_label(self) -> str:
        return RUN_LABELS[self.state]

    @property
    def state_badge(self) -> str:
        return RUN_BADGES[self.state]

    @property
    def is_finished(self) -> bool:
        return self.state not in (QUEUED, RUNNING)

    @property
    def has_result(self) -> bool:
        return self.state in (SOLVED, PUBLISHED, SUPERSEDED)

    @property
    def engine_status(self) -> str | None:
        return (self.result or {}).get("status")

    @property
    def student_count(self) -> int:
        return len((self.problem or {}).get("students", []))

    def can_adjust(self) -> bool:
        """Hand moves are made on a run under review, before it is published."""
        return self.state == SOLVED


class Allocation(db.Model):
    """A student's project and supervisor in one run (hand moves included)."""

    __tablename__ = "allocations"
    __table_args__ = (
        UniqueConstraint("run_id", "student_id", name="uq_allocations_run_student"),
        CheckConstraint("rank IS NULL OR rank >= 1", name="rank_positive"),
        Index("ix_allocations_run_id_project_id", "run_id", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"), index=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    # The project's place in the student's list as the engine saw it; None when not on it (an
    # approved own proposal, or a hand move to a project they did not rank).
    rank: Mapped[int | None]
    is_fixed: Mapped[bool] = mapped_column(default=False)  # an approved own proposal
    is_moved: Mapped[bool] = mapped_column(default=False)  # placed by hand, not by the engine

    run: Mapped[AllocationRun] = relationship(back_populates="allocations")
    student: Mapped[User] = relationship(foreign_keys=[student_id], lazy="joined")
    project: Mapped[Project] = relationship(lazy="joined")
    supervisor: Mapped[User] = relationship(foreign_keys=[supervisor_id], lazy="joined")


SECOND = "second"
MARKER_ROLES = (SECOND,)


class MarkerAssignment(db.Model):
    """A marker of one allocated student's project besides the supervisor (the first marker)."""

    __tablename__ = "marker_assignments"
    __table_args__ = (
        UniqueConstraint("allocation_id", "role", name="uq_marker_assignments_allocation_role"),
        CheckConstraint("role IN ('second')", name="role_known"),
        CheckConstraint("overlap >= 0", name="overlap_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("allocations.id", ondelete="CASCADE"))
    marker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    role: Mapped[str] = mapped_column(String(10), default=SECOND)
    overlap: Mapped[int] = mapped_column(default=0)  # project keywords found in the marker's expertise
    is_moved: Mapped[bool] = mapped_column(default=False)  # chosen by the coordinator, kept on re-runs
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    allocation: Mapped[Allocation] = relationship()
    marker: Mapped[User] = relationship(lazy="joined")


class MarkingConflict(db.Model):
    """A declared conflict of interest: this member of staff never marks this student's work."""

    __tablename__ = "marking_conflicts"
    __table_args__ = (UniqueConstraint("cohort_id", "staff_id", "student_id", name="uq_marking_conflicts_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    staff: Mapped[User] = relationship(foreign_keys=[staff_id], lazy="joined")
    student: Mapped[User] = relationship(foreign_keys=[student_id], lazy="joined")
