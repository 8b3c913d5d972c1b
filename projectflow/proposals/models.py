"""Proposals: projects offered by staff or proposed by students, comments on them, students' ranked
preferences and bookmarks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, CheckConstraint, Column, ForeignKey, Index, String, Table, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..cohorts.models import Cohort
from ..core.types import UTCDateTime
from ..extensions import db
from ..people.models import User

# Staff projects: draft -> submitted -> approved | changes_requested | rejected; approved -> withdrawn.
# Student proposals first go to the named supervisor: draft -> with_supervisor -> submitted
# (accepted) | declined; after that they follow the same path as staff projects.
DRAFT, WITH_SUPERVISOR, DECLINED = "draft", "with_supervisor", "declined"
SUBMITTED, APPROVED, CHANGES_REQUESTED, REJECTED, WITHDRAWN = (
    "submitted", "approved", "changes_requested", "rejected", "withdrawn")
STATES = (DRAFT, WITH_SUPERVISOR, DECLINED, SUBMITTED, CHANGES_REQUESTED, APPROVED, REJECTED, WITHDRAWN)
STATE_LABELS = {
    DRAFT: "Draft", WITH_SUPERVISOR: "With supervisor", DECLINED: "Declined by supervisor",
    SUBMITTED: "Awaiting approval", CHANGES_REQUESTED: "Changes requested", APPROVED: "Approved",
    REJECTED: "Rejected", WITHDRAWN: "Withdrawn",
}
STATE_BADGES = {
    DRAFT: "secondary", WITH_SUPERVISOR: "info", DECLINED: "warning", SUBMITTED: "primary",
    CHANGES_REQUESTED: "warning", APPROVED: "success", REJECTED: "danger", WITHDRAWN: "dark",
}
# A student's proposal that still counts as theirs (at most one per student and cohort).
OPEN_PROPOSAL = "proposed_by_id IS NOT NULL AND state NOT IN ('rejected', 'withdrawn')"
# States in which the owner (or the proposing student) may still edit the text.
EDITABLE = (DRAFT, DECLINED, CHANGES_REQUESTED, APPROVED)

project_co_supervisors = Table(
    "project_co_supervisors", db.metadata,
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="RESTRICT"), primary_key=True),
)


class Project(db.Model):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint(f"state IN {STATES!r}", name="state_known"),
        CheckConstraint("capacity >= 1 AND capacity <= 20", name="capacity_range"),
        # A student's own proposal is for that student alone.
        CheckConstraint("proposed_by_id IS NULL OR capacity = 1", name="self_proposal_capacity_one"),
        CheckConstraint("is_external OR external_organisation IS NULL", name="organisation_only_if_external"),
        CheckConstraint("length(title) > 0", name="title_not_empty"),
        Index("ix_projects_cohort_id_state", "cohort_id", "state"),
        # One open proposal per student: a rejected or withdrawn one makes room for a new one.
        Index("uq_projects_one_open_proposal", "cohort_id", "proposed_by_id", unique=True,
              sqlite_where=text(OPEN_PROPOSAL), postgresql_where=text(OPEN_PROPOSAL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    # The supervisor: who offers it, or whom the proposing student named.
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    prerequisites: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int] = mapped_column(default=1)
    is_external: Mapped[bool] = mapped_column(default=False)
    external_organisation: Mapped[str | None] = mapped_column(String(200))
    external_contact: Mapped[str | None] = mapped_column(String(200))
    has_nda: Mapped[bool] = mapped_column(default=False)
    # A student's proposal says what they will do and why they are suited to it.
    aims: Mapped[str | None] = mapped_column(Text)
    method: Mapped[str | None] = mapped_column(Text)
    data_needed: Mapped[str | None] = mapped_column(Text)
    suitability: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default=DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    cohort: Mapped[Cohort] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="joined")
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    # Loaded when read, or with selectinload by the pages that show them: a page of allocations or
    # preferences loads projects by the hundred and rarely needs their co-supervisors.
    co_supervisors: Mapped[list[User]] = relationship(secondary=project_co_supervisors, lazy="select",
                                                      order_by=User.name)
    comments: Mapped[list[ProjectComment]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectComment.id")

    @property
    def is_self_proposal(self) -> bool:
        return self.proposed_by_id is not None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def state_badge(self) -> str:
        return STATE_BADGES[self.state]

    def supervisor_ids(self) -> set[int]:
        return {self.owner_id, *(u.id for u in self.co_supervisors)}

    # --- who may do what (views, templates and later exports ask these) ---------------------------

    def can_view(self, user: User) -> bool:
        if not user.is_authenticated:
            return False
        if user.id in self.supervisor_ids() or user.id == self.proposed_by_id:
            return True
        if self.cohort.can_manage(user):
            return True
        # Everyone else in the cohort (its students, and staff who do not supervise it) sees approved
        # staff projects only: the catalogue; and withdrawn ones, which students may still have ranked.
        return (self.state in (APPROVED, WITHDRAWN) and not self.is_self_proposal
                and self.cohort.can_view(user))

    def can_edit(self, user: User) -> bool:
        if self.is_self_proposal:
            # An approved proposal is the student's agreed project: changing it needs the coordinator.
            return user.is_authenticated and user.id == self.proposed_by_id and self.state in (
                DRAFT, DECLINED, CHANGES_REQUESTED)
        return user.is_authenticated and user.id == self.owner_id and self.state in EDITABLE

    def can_decide(self, user: User) -> bool:
        """Approve, return or reject: the cohort's coordinators."""
        return self.state == SUBMITTED and self.cohort.can_manage(user)

    def can_respond_as_supervisor(self, user: User) -> bool:
        return self.is_self_proposal and self.state == WITH_SUPERVISOR and user.id == self.owner_id

    def can_withdraw(self, user: User) -> bool:
        return (self.state == APPROVED and not self.is_self_proposal
                and (user.id == self.owner_id or self.cohort.can_manage(user)))

    def can_take_step(self, step: str, user: User) -> bool:
        """Whether ``user`` is the person who takes this step on this project: approve, request-changes
        and reject are the coordinators'; accept and decline the supervisor a student named; withdraw a
        staff project's supervisor's or a coordinator's. Whether the state allows the step now is the
        service's question (a 409, not a 403), asked after this one."""
        if not user.is_authenticated:
            return False
        if step in ("approve", "request-changes", "reject"):
            return self.cohort.can_manage(user)
        if step in ("accept", "decline"):
            return self.is_self_proposal and user.id == self.owner_id
        if step == "withdraw":
            return not self.is_self_proposal and (user.id == self.owner_id or self.cohort.can_manage(user))
        return False

    def is_rankable(self) -> bool:
        return self.state == APPROVED and not self.is_self_proposal


class ProjectComment(db.Model):
    """A remark on a project: the coordinator's reason for returning it, a supervisor's reply..."""

    __tablename__ = "project_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    # The transition the comment came with (e.g. "changes_requested"), or None for a plain remark.
    state: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    project: Mapped[Project] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship(lazy="joined")


class PreferenceList(db.Model):
    """A student's ranked choices for a cohort. ``version`` guards against two windows saving at once."""

    __tablename__ = "preference_lists"
    __table_args__ = (UniqueConstraint("cohort_id", "student_id", name="uq_preference_lists_cohort_student"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Who saved it last: the student, or a coordinator entering it on their behalf.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    student: Mapped[User] = relationship(foreign_keys=[student_id])
    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])
    choices: Mapped[list[Preference]] = relationship(
        back_populates="preference_list", cascade="all, delete-orphan", order_by="Preference.rank",
        lazy="selectin")

    def can_view(self, user: User) -> bool:
        cohort = db.session.get(Cohort, self.cohort_id)
        return user.is_authenticated and (user.id == self.student_id or cohort.can_manage(user))


class Preference(db.Model):
    __tablename__ = "preferences"
    __table_args__ = (
        UniqueConstraint("list_id", "project_id", name="uq_preferences_list_project"),
        UniqueConstraint("list_id", "rank", name="uq_preferences_list_rank"),
        CheckConstraint("rank >= 1", name="rank_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("preference_lists.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int]

    preference_list: Mapped[PreferenceList] = relationship(back_populates="choices")
    project: Mapped[Project] = relationship(lazy="joined")


class Bookmark(db.Model):
    __tablename__ = "bookmarks"

    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

