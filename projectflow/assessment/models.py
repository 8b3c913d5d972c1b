"""Assessment: what is marked (components and their rubrics), the markers' sheets, the agreement of
each component's mark, and each student's result (DESIGN.md sections 1.7 and 3).

Marks are exact two-decimal values (``core.types.Mark``). The rules that turn marks into an agreed
mark, a penalty, a final mark, a class and flags are pure code in ``projectflow.results``; the models
here keep what people did and what those rules decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..cohorts.models import Cohort
from ..core.types import Mark, UTCDateTime
from ..extensions import db
from ..milestones.models import Milestone
from ..people.models import User

# Who marks: the supervisor is the first marker; the second marker is assigned by the second-marker
# engine; a third marker is brought in when the first two are too far apart.
FIRST, SECOND, THIRD = "first", "second", "third"
MARKER_ROLES = (FIRST, SECOND, THIRD)
ROLE_LABELS = {FIRST: "First marker", SECOND: "Second marker", THIRD: "Third marker"}

# Who marks a component: both markers independently, or the supervisor alone.
DOUBLE, SUPERVISOR_ONLY = "double", "supervisor"
MARKED_BY = (DOUBLE, SUPERVISOR_ONLY)

# A mark sheet's life (DESIGN.md section 2). Only the coordinator reopens a submitted sheet.
NOT_STARTED, DRAFT, SUBMITTED = "not_started", "draft", "submitted"
SHEET_STATES = (NOT_STARTED, DRAFT, SUBMITTED)

# A component's agreement: the results engine decides the state from the sheets.
AWAITING_MARKS, IN_RECONCILIATION, THIRD_MARKING, AGREED = (
    "awaiting_marks", "in_reconciliation", "third_marking", "agreed")
AGREEMENT_STATES = (AWAITING_MARKS, IN_RECONCILIATION, THIRD_MARKING, AGREED)
ROUTES = ("single", "automatic", "reconciled", "third_marker")

PROVISIONAL, RELEASED = "provisional", "released"

# Late-penalty presets (DESIGN.md section 3): points per working day; the UCL rule; capped at the pass
# mark; none.
PENALTY_PRESETS = {"per-day": "Points off per working day late, then zero",
                   "ucl": "UCL rule: -10 up to 2 working days (not below the pass mark), capped at the "
                          "pass mark up to 5, then zero",
                   "cap": "Capped at the pass mark for a number of working days, then zero",
                   "none": "No penalty"}


@dataclass(frozen=True)
class Band:
    """A band of marks with the words a rubric uses for it; ``low`` is the least mark in it."""

    low: int
    high: int
    name: str


# The bands every rubric describes, best first (DESIGN.md section 3).
BANDS = (Band(90, 100, "Exceptional"), Band(80, 89, "Outstanding"), Band(70, 79, "Distinction"),
         Band(60, 69, "Merit"), Band(50, 59, "Pass"), Band(40, 49, "Fail (marginal)"),
         Band(0, 39, "Clear fail"))


def band_index(mark: Decimal) -> int:
    """Which of ``BANDS`` a mark falls in (69.99 is in the Merit band)."""
    return next(i for i, band in enumerate(BANDS) if mark >= band.low)


class MarkingRules(db.Model):
    """A cohort's marking rules, with DESIGN.md section 3's defaults. One row per cohort."""

    __tablename__ = "marking_rules"
    __table_args__ = (
        CheckConstraint("agree_within >= 0 AND third_marker_above >= agree_within", name="gaps_ordered"),
        CheckConstraint("penalty_preset IN ('per-day', 'ucl', 'cap', 'none')", name="penalty_preset_known"),
        CheckConstraint("penalty_points >= 0 AND penalty_days >= 0", name="penalty_not_negative"),
        CheckConstraint("moderation_sample_percent BETWEEN 0 AND 100 AND moderation_sample_min >= 0",
                        name="sample_sensible"),
        CheckConstraint("interim_feedback_working_days > 0 AND final_feedback_working_days > 0",
                        name="feedback_days_positive"),
    )

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True)
    agree_within: Mapped[Decimal] = mapped_column(Mark, default=Decimal("5"))
    third_marker_above: Mapped[Decimal] = mapped_column(Mark, default=Decimal("10"))
    discretion_below: Mapped[Decimal] = mapped_column(Mark, default=Decimal("2.5"))
    moderation_near_below: Mapped[Decimal] = mapped_column(Mark, default=Decimal("2"))
    moderation_sample_percent: Mapped[int] = mapped_column(default=10)
    moderation_sample_min: Mapped[int] = mapped_column(default=10)
    penalty_preset: Mapped[str] = mapped_column(String(10), default="per-day")
    penalty_points: Mapped[Decimal] = mapped_column(Mark, default=Decimal("5"))
    penalty_days: Mapped[int] = mapped_column(default=5)
    interim_feedback_working_days: Mapped[int] = mapped_column(default=10)
    final_feedback_working_days: Mapped[int] = mapped_column(default=30)
    exam_board_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    cohort: Mapped[Cohort] = relationship()


class Component(db.Model):
    """A part of the project mark (the final report, the poster, the supervisor's assessment of
    independence), weighted, tied to the milestone whose submission it assesses."""

    __tablename__ = "assessment_components"
    __table_args__ = (
        UniqueConstraint("cohort_id", "key", name="uq_assessment_components_cohort_key"),
        CheckConstraint("weight > 0 AND weight <= 100", name="weight_in_range"),
        CheckConstraint("marked_by IN ('double', 'supervisor')", name="marked_by_known"),
        CheckConstraint("length(title) > 0", name="title_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(20))  # report, poster, independence: the results file's ids
    title: Mapped[str] = mapped_column(String(120))
    weight: Mapped[int]
    marked_by: Mapped[str] = mapped_column(String(10), default=DOUBLE)
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    cohort: Mapped[Cohort] = relationship()
    milestone: Mapped[Milestone | None] = relationship(lazy="joined")
    rubrics: Mapped[list[Rubric]] = relationship(back_populates="component", order_by="Rubric.version",
                                                 cascade="all, delete-orphan")

    @property
    def roles(self) -> tuple[str, ...]:
        return (FIRST, SECOND) if self.marked_by == DOUBLE else (FIRST,)

    @property
    def current_rubric(self) -> Rubric | None:
        return self.rubrics[-1] if self.rubrics else None


class Rubric(db.Model):
    """One version of a component's rubric. It is frozen once any mark exists against it; a change
    after that makes a new version, and sheets already begun stay on theirs."""

    __tablename__ = "rubrics"
    __table_args__ = (
        UniqueConstraint("component_id", "version", name="uq_rubrics_component_version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("assessment_components.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(default=1)
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    component: Mapped[Component] = relationship(back_populates="rubrics")
    criteria: Mapped[list[Criterion]] = relationship(back_populates="rubric", order_by="Criterion.position",
                                                     cascade="all, delete-orphan")

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None

    def criteria_for(self, role: str) -> list[Criterion]:
        """The criteria a marker in ``role`` marks (a third marker marks what the second marked)."""
        as_role = SECOND if role == THIRD else role
        return [c for c in self.criteria if as_role in c.marked_by]


class Criterion(db.Model):
    """A criterion of a rubric: its weight, what each band means for it, and who marks it."""

    __tablename__ = "criteria"
    __table_args__ = (
        UniqueConstraint("rubric_id", "position", name="uq_criteria_rubric_position"),
        CheckConstraint("weight > 0 AND weight <= 100", name="weight_in_range"),
        CheckConstraint("length(title) > 0", name="title_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id", ondelete="CASCADE"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(120))
    weight: Mapped[int]
    # Roles that mark it: ["first", "second"], or ["first"] for what only the supervisor can judge.
    marked_by: Mapped[list[str]] = mapped_column(JSON, default=lambda: [FIRST, SECOND])
    # One descriptor per band of BANDS, best first.
    descriptors: Mapped[list[str]] = mapped_column(JSON, default=list)

    rubric: Mapped[Rubric] = relationship(back_populates="criteria")


class MarkSheet(db.Model):
    """One marker's marks for one student's component: criterion marks and comments, an overall
    comment to the student and a private note to the other markers.

    A sheet replaced when its marking is reassigned is kept (``replaced_at``) for the record; the
    new marker starts a clean sheet."""

    __tablename__ = "mark_sheets"
    __table_args__ = (
        # One live sheet per student, component and role.
        Index("uq_mark_sheets_one_live", "component_id", "student_id", "role", unique=True,
              sqlite_where=text("replaced_at IS NULL"), postgresql_where=text("replaced_at IS NULL")),
        Index("ix_mark_sheets_marker_id_state", "marker_id", "state"),
        CheckConstraint("role IN ('first', 'second', 'third')", name="role_known"),
        CheckConstraint("state IN ('not_started', 'draft', 'submitted')", name="state_known"),
        CheckConstraint("(state = 'submitted') = (submitted_at IS NOT NULL)", name="submitted_when"),
        CheckConstraint("state != 'submitted' OR mark IS NOT NULL", name="submitted_with_mark"),
        CheckConstraint("mark IS NULL OR (mark >= 0 AND mark <= 10000)", name="mark_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("assessment_components.id", ondelete="CASCADE"))
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id", ondelete="RESTRICT"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    marker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(12), default=NOT_STARTED)
    mark: Mapped[Decimal | None] = mapped_column(Mark)  # the rubric's weighted mark, set on submission
    overall_comment: Mapped[str] = mapped_column(Text, default="")
    private_note: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    component: Mapped[Component] = relationship(lazy="joined")
    rubric: Mapped[Rubric] = relationship()
    student: Mapped[User] = relationship(foreign_keys=[student_id], lazy="joined")
    marker: Mapped[User] = relationship(foreign_keys=[marker_id], lazy="joined")
    marks: Mapped[list[CriterionMark]] = relationship(back_populates="sheet", cascade="all, delete-orphan")

    @property
    def is_submitted(self) -> bool:
        return self.state == SUBMITTED

    def mark_for(self, criterion: Criterion) -> CriterionMark | None:
        return next((m for m in self.marks if m.criterion_id == criterion.id), None)


class CriterionMark(db.Model):
    """A marker's band, mark and comment for one criterion of their sheet."""

    __tablename__ = "criterion_marks"
    __table_args__ = (
        UniqueConstraint("sheet_id", "criterion_id", name="uq_criterion_marks_sheet_criterion"),
        CheckConstraint("mark IS NULL OR (mark >= 0 AND mark <= 10000)", name="mark_in_range"),
        CheckConstraint("band IS NULL OR (band >= 0 AND band < 7)", name="band_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("mark_sheets.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id", ondelete="RESTRICT"))
    band: Mapped[int | None]  # index into BANDS: a marker may choose the band before the mark
    mark: Mapped[Decimal | None] = mapped_column(Mark)
    comment: Mapped[str] = mapped_column(Text, default="")

    sheet: Mapped[MarkSheet] = relationship(back_populates="marks")
    criterion: Mapped[Criterion] = relationship()


class Agreement(db.Model):
    """How one student's component mark was agreed: the state the results engine gives the sheets,
    the route it took, and the marks before and after any late penalty."""

    __tablename__ = "agreements"
    __table_args__ = (
        UniqueConstraint("component_id", "student_id", name="uq_agreements_component_student"),
        CheckConstraint("state IN ('awaiting_marks', 'in_reconciliation', 'third_marking', 'agreed')",
                        name="state_known"),
        # An agreed mark exists exactly when the state is agreed.
        CheckConstraint("(state = 'agreed') = (agreed_mark IS NOT NULL)", name="agreed_mark_when_agreed"),
        CheckConstraint("(state = 'agreed') = (route IS NOT NULL)", name="route_when_agreed"),
        CheckConstraint("(state = 'agreed') = (mark IS NOT NULL)", name="mark_when_agreed"),
        CheckConstraint("route IS NULL OR route IN ('single', 'automatic', 'reconciled', 'third_marker')",
                        name="route_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("assessment_components.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    state: Mapped[str] = mapped_column(String(20), default=AWAITING_MARKS)
    route: Mapped[str | None] = mapped_column(String(20))
    agreed_mark: Mapped[Decimal | None] = mapped_column(Mark)  # before any late penalty
    penalty: Mapped[Decimal] = mapped_column(Mark, default=Decimal("0"))
    mark: Mapped[Decimal | None] = mapped_column(Mark)  # after the penalty: what counts
    # Reconciliation: one marker proposes, the other confirms; either may say they cannot agree.
    reconciled_mark: Mapped[Decimal | None] = mapped_column(Mark)
    justification: Mapped[str] = mapped_column(Text, default="")
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cannot_agree_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A third marker: proposed by the second-marker engine, confirmed by the coordinator (who may
    # choose another), who then gets a third sheet.
    third_marker_proposed_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    component: Mapped[Component] = relationship(lazy="joined")
    student: Mapped[User] = relationship(foreign_keys=[student_id])
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])


class ReconciliationMessage(db.Model):
    """A message of the two markers' discussion while they reconcile their marks."""

    __tablename__ = "reconciliation_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    author: Mapped[User | None] = relationship(lazy="joined")


class Result(db.Model):
    """A student's project result in a cohort: the final mark, class and flags, its moderation and
    its release."""

    __tablename__ = "results"
    __table_args__ = (
        UniqueConstraint("cohort_id", "student_id", name="uq_results_cohort_student"),
        CheckConstraint("state IN ('provisional', 'released')", name="state_known"),
        CheckConstraint("(state = 'released') = (released_at IS NOT NULL)", name="released_when"),
        CheckConstraint("state != 'released' OR final IS NOT NULL", name="released_with_final"),
        CheckConstraint("(moderated_at IS NULL) = (moderated_by_id IS NULL)", name="moderated_by_whom"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    final: Mapped[Decimal | None] = mapped_column(Mark)
    classification: Mapped[str | None] = mapped_column(String(40))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    in_sample: Mapped[bool] = mapped_column(default=False)  # drawn for the external examiner
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    moderation_note: Mapped[str] = mapped_column(Text, default="")
    # A moderator's adjusted final mark (the engine's stays in ``final``); None when confirmed as it is.
    moderated_final: Mapped[Decimal | None] = mapped_column(Mark)
    state: Mapped[str] = mapped_column(String(12), default=PROVISIONAL)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    student: Mapped[User] = relationship(foreign_keys=[student_id], lazy="joined")
