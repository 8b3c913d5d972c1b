"""Each role's home page; ``/`` sends a signed-in person to the one they are viewing as."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..cohorts.models import Cohort, CohortStaff, Enrolment
from ..cohorts.services import cohorts_managed_by
from ..core.audit import AuditEvent
from ..core.auth import current_view_role, roles_required
from ..extensions import db
from ..people.models import ADMIN, COORDINATOR, ROLES, STAFF, STUDENT, User, UserRole

bp = Blueprint("home", __name__)


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
    return render_template("home/student.html", enrolments=enrolments)


@bp.get("/staff")
@roles_required(STAFF)
def staff():
    memberships = db.session.scalars(
        select(CohortStaff).join(Cohort).where(CohortStaff.user_id == current_user.id)
        .order_by(Cohort.academic_year.desc())).all()
    return render_template("home/staff.html", memberships=memberships, profile=current_user.staff_profile)


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
