"""Submissions: every version of a student's file for a milestone; the latest counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.types import UTCDateTime
from ..extensions import db
from ..milestones.models import Milestone
from ..people.models import User


class Submission(db.Model):
    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("milestone_id", "student_id", "version", name="uq_submissions_milestone_student_version"),
        # The page's one-time token: the same form sent twice (a double click) is one submission.
        UniqueConstraint("student_id", "form_token", name="uq_submissions_student_form_token"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        CheckConstraint("is_late = (late_seconds > 0)", name="late_when_after_deadline"),
        Index("ix_submissions_milestone_id_student_id", "milestone_id", "student_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="RESTRICT"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    version: Mapped[int]
    # The name on the student's computer, shown back to them; never used to find the file.
    file_name: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    page_count: Mapped[int]
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The student's effective deadline when they submitted (an extension's, if granted), and how late.
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    is_late: Mapped[bool] = mapped_column(default=False)
    late_seconds: Mapped[int] = mapped_column(default=0)
    late_working_days: Mapped[int] = mapped_column(default=0)
    declaration: Mapped[str] = mapped_column(String(40))  # which integrity declaration was ticked
    form_token: Mapped[str] = mapped_column(String(64))

    milestone: Mapped[Milestone] = relationship(lazy="joined")
    student: Mapped[User] = relationship(foreign_keys=[student_id], lazy="joined")

    @property
    def late_hours(self) -> float:
        return self.late_seconds / 3600
