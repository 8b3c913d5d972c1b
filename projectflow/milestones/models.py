"""Milestones: the cohort's timeline (project plan, ethics form, interim and final report, poster ...),
students' extensions, and the supervision log.

A milestone's ``due_at`` is a local wall-clock time of the cohort (16:00 London) stored in UTC. A
student's *effective* deadline is the milestone's, or the new date of their latest granted extension.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..cohorts.models import Cohort
from ..core.types import UTCDateTime
from ..extensions import db
from ..people.models import User

PROJECT_PLAN, ETHICS, INTERIM_REPORT, FINAL_REPORT, POSTER, CUSTOM = (
    "project_plan", "ethics", "interim_report", "final_report", "poster", "custom")
KINDS = (PROJECT_PLAN, ETHICS, INTERIM_REPORT, FINAL_REPORT, POSTER, CUSTOM)
KIND_LABELS = {PROJECT_PLAN: "Project plan", ETHICS: "Ethics and risk form", INTERIM_REPORT: "Interim report",
               FINAL_REPORT: "Final report", POSTER: "Poster", CUSTOM: "Other"}
PART_TIME, FULL_TIME = "part_time", "full_time"
PHASES = (PART_TIME, FULL_TIME)
PHASE_LABELS = {PART_TIME: "Part-time phase", FULL_TIME: "Full-time phase"}
# The assessment components a milestone's work can feed (DESIGN.md section 3).
COMPONENTS = ("report", "poster", "independence")

# Extension: requested -> granted | refused | referred (to mitigating circumstances); a coordinator
# may also grant one directly, which is recorded as granted at once.
REQUESTED, GRANTED, REFUSED, REFERRED = "requested", "granted", "refused", "referred"
EXTENSION_STATES = (REQUESTED, GRANTED, REFUSED, REFERRED)
EXTENSION_LABELS = {REQUESTED: "Requested", GRANTED: "Granted", REFUSED: "Refused",
                    REFERRED: "Referred to mitigating circumstances"}
EXTENSION_BADGES = {REQUESTED: "primary", GRANTED: "success", REFUSED: "danger", REFERRED: "warning"}


class Milestone(db.Model):
    __tablename__ = "milestones"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS!r}", name="kind_known"),
        CheckConstraint(f"phase IN {PHASES!r}", name="phase_known"),
        CheckConstraint("cutoff_at IS NULL OR cutoff_at >= due_at", name="cutoff_not_before_due"),
        CheckConstraint("length(title) > 0", name="title_not_empty"),
        UniqueConstraint("cohort_id", "title", name="uq_milestones_cohort_title"),
        Index("ix_milestones_cohort_id_due_at", "cohort_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(120))
    phase: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Nothing is accepted after the cut-off; without one, late work is accepted and marked late.
    cutoff_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    needs_file: Mapped[bool] = mapped_column(default=True)
    is_assessed: Mapped[bool] = mapped_column(default=False)
    components: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    cohort: Mapped[Cohort] = relationship()

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def phase_label(self) -> str:
        return PHASE_LABELS[self.phase]


class Extension(db.Model):
    __tablename__ = "extensions"
    __table_args__ = (
        CheckConstraint(f"state IN {EXTENSION_STATES!r}", name="state_known"),
        # A granted extension says until when; nothing else has a new date.
        CheckConstraint("(state = 'granted') = (new_due_at IS NOT NULL)", name="new_due_when_granted"),
        CheckConstraint("(state = 'requested') = (decided_at IS NULL)", name="decided_unless_requested"),
        # One open request per student and milestone.
        Index("uq_extensions_one_open_request", "milestone_id", "student_id", unique=True,
              sqlite_where=text("state = 'requested'"), postgresql_where=text("state = 'requested'")),
        Index("ix_extensions_student_id_milestone_id", "student_id", "milestone_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    state: Mapped[str] = mapped_column(String(10), default=REQUESTED)
    reason: Mapped[str] = mapped_column(Text)
    requested_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # what the student asked for
    # Optional evidence (a PDF in the file store; the key is ours, the name is the student's).
    evidence_key: Mapped[str | None] = mapped_column(String(200))
    evidence_name: Mapped[str | None] = mapped_column(String(255))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    new_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    milestone: Mapped[Milestone] = relationship(lazy="joined")
    student: Mapped[User] = relationship(foreign_keys=[student_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def state_label(self) -> str:
        return EXTENSION_LABELS[self.state]

    @property
    def state_badge(self) -> str:
        return EXTENSION_BADGES[self.state]
