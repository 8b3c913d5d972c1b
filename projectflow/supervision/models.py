"""The supervision log: meetings a student records and their supervisor confirms."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.types import UTCDateTime
from ..extensions import db
from ..people.models import User


class Meeting(db.Model):
    """A supervision meeting the student recorded; the supervisor confirms it."""

    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint("(confirmed_at IS NULL) = (confirmed_by_id IS NULL)", name="confirmed_by_whom"),
        # A record is confirmed or disputed by its supervisor, never both; a dispute always says why.
        CheckConstraint("(disputed_at IS NULL) = (dispute_comment IS NULL)", name="disputed_with_comment"),
        CheckConstraint("confirmed_at IS NULL OR disputed_at IS NULL", name="confirmed_or_disputed"),
        Index("ix_meetings_cohort_id_student_id_met_on", "cohort_id", "student_id", "met_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    met_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text)
    actions: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispute_comment: Mapped[str | None] = mapped_column(Text)

    student: Mapped[User] = relationship(foreign_keys=[student_id], lazy="joined")
    supervisor: Mapped[User] = relationship(foreign_keys=[supervisor_id], lazy="joined")
