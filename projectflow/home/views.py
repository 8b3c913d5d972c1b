"""Each role's home page; ``/`` sends a signed-in person to the one they are viewing as."""

from __future__ import annotations

from flask import Blueprint, flash, has_request_context, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select, update

from ..cohorts.models import Cohort, CohortStaff, Enrolment
from ..cohorts.services import cohorts_managed_by
from ..core import clock
from ..proposals.models import WITH_SUPERVISOR, PreferenceList, Project
from ..core.audit import AuditEvent
from ..core.notifications import Notification, unread_count
from ..core.auth import current_view_role, roles_required
from ..extensions import db
from ..matching.models import PUBLISHED, Allocation, AllocationRun
from ..people.models import ADMIN, COORDINATOR, ROLES, STAFF, STUDENT, User, UserRole

bp = Blueprint("home", __name__)


@bp.app_context_processor
def _navigation() -> dict:
    """The cohort the navigation links point into, and the unread notification count."""
    if not has_request_context() or not current_user.is_authenticated:
        return {}
    return {"nav_cohort": nav_cohort(current_view_role()), "unread_notifications": unread_count(current_user)}


def nav_cohort(role: str | None) -> Cohort | None:
    """The person's most recent cohort in the role they are viewing as."""
    if role == STUDENT:
        query = select(Cohort).join(Enrolment).where(Enrolment.user_id == current_user.id)
    elif role == STAFF:
        query = select(Cohort).join(CohortStaff).where(CohortStaff.user_id == current_user.id)
    elif role == COORDINATOR:
        query = select(Cohort).join(CohortStaff).where(CohortStaff.user_id == current_user.id,
                                                       CohortStaff.is_coordinator.is_(True))
    else:
        return None
    return db.session.scalar(query.order_by(Cohort.academic_year.desc(), Cohort.id.desc()).limit(1))


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("people.login"))
    role = current_view_role()
    if role is None:
        return render_template("home/no_role.html")
    return redirect(url_for(f"home.{role}"))


@bp.get("/student")
@roles_required(STUDENT)
def student():
    enrolments = db.session.scalars(
        select(Enrolment).join(Cohort).where(Enrolment.user_id == current_user.id)
        .order_by(Cohort.academic_year.desc())).all()
    cohort_ids = [e.cohort_id for e in enrolments]
    lists = {pl.cohort_id: pl for pl in db.session.scalars(select(PreferenceList).where(
        PreferenceList.student_id == current_user.id, PreferenceList.cohort_id.in_(cohort_ids)))}
    proposals = {p.cohort_id: p for p in db.session.scalars(select(Project).where(
        Project.proposed_by_id == current_user.id, Project.cohort_id.in_(cohort_ids)).order_by(Project.id))}
    allocations = {a.run.cohort_id: a for a in db.session.scalars(
        select(Allocation).join(AllocationRun).where(Allocation.student_id == current_user.id,
                                                     AllocationRun.state == PUBLISHED))}
    return render_template("home/student.html", enrolments=enrolments, lists=lists, proposals=proposals,
                           allocations=allocations, now=clock.now())


@bp.get("/staff")
@roles_required(STAFF)
def staff():
    memberships = db.session.scalars(
        select(CohortStaff).join(Cohort).where(CohortStaff.user_id == current_user.id)
        .order_by(Cohort.academic_year.desc())).all()
    waiting = db.session.scalars(select(Project).where(
        Project.owner_id == current_user.id, Project.state == WITH_SUPERVISOR)).all()
    return render_template("home/staff.html", memberships=memberships, profile=current_user.staff_profile,
                           waiting=waiting)


@bp.get("/coordinator")
@roles_required(COORDINATOR)
def coordinator():
    cohorts = cohorts_managed_by(current_user)
    counts = _people_counts([c.id for c in cohorts])
    return render_template("home/coordinator.html", cohorts=cohorts, counts=counts)


@bp.get("/admin")
@roles_required(ADMIN)
def admin():
    by_role = dict(db.session.execute(
        select(UserRole.role, func.count()).join(User)
        .where(User.is_active.is_(True)).group_by(UserRole.role)).all())
    inactive = db.session.scalar(select(func.count()).select_from(User).where(User.is_active.is_(False)))
    recent = db.session.scalars(select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                .limit(10)).all()
    return render_template("home/admin.html", by_role=by_role, roles=ROLES, inactive=inactive,
                           recent=recent)


def _people_counts(cohort_ids: list[int]) -> dict[int, dict[str, int]]:
    """Students and staff per cohort, in two queries rather than two per cohort."""
    counts = {cid: {"students": 0, "staff": 0} for cid in cohort_ids}
    for cid, n in db.session.execute(select(Enrolment.cohort_id, func.count())
                                     .where(Enrolment.cohort_id.in_(cohort_ids)).group_by(Enrolment.cohort_id)):
        counts[cid]["students"] = n
    for cid, n in db.session.execute(select(CohortStaff.cohort_id, func.count())
                                     .where(CohortStaff.cohort_id.in_(cohort_ids)).group_by(CohortStaff.cohort_id)):
        counts[cid]["staff"] = n
    return counts


@bp.get("/notifications")
@login_required
def notifications():
    items = db.session.scalars(select(Notification).where(Notification.user_id == current_user.id)
                               .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(200)).all()
    return render_template("home/notifications.html", items=items, form=FlaskForm())


@bp.post("/notifications/read")
@login_required
def mark_notifications_read():
    if FlaskForm().validate_on_submit():
        db.session.execute(update(Notification).where(Notification.user_id == current_user.id,
                                                      Notification.read_at.is_(None)).values(read_at=clock.now()))
        db.session.commit()
        flash("All notifications marked as read.", "success")
    return redirect(url_for("home.notifications"))
