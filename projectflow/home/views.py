"""Each role's home page; ``/`` sends a signed-in person to the one they are viewing as."""

from __future__ import annotations

from flask import Blueprint, flash, has_request_context, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select, update

from ..cohorts.models import Cohort, CohortStaff, Enrolment
from ..cohorts.services import cohorts_managed_by
from ..core import clock
from ..proposals.models import WITH_SUPERVISOR, PreferenceList, Project
from ..assessment.services import without_blind_events
from ..core.audit import AuditEvent
from ..core.forms import page_number
from ..core.notifications import Notification, unread_count
from ..core.auth import current_view_role, roles_required
from ..extensions import db
from ..matching.models import PUBLISHED, Allocation, AllocationRun
from ..people.forms import SwitchCohortForm
from ..people.models import ADMIN, COORDINATOR, ROLES, STAFF, STUDENT, User, UserRole

bp = Blueprint("home", __name__)


NAV_COHORT_KEY = "nav_cohort_id"

# The pages of each role that the navigation opens in its current cohort (templates/_nav.html), and
# the ones the cohort switcher may return to in the chosen cohort.
COHORT_PAGES = {
    STUDENT: ("proposals.catalogue", "proposals.edit_preferences", "matching.mine", "milestones.my_timeline",
              "meetings.log", "assessment.my_results", "posters.availability", "posters.mine"),
    STAFF: ("proposals.my_projects", "proposals.catalogue", "matching.my_students", "milestones.progress_grid",
            "meetings.supervision", "posters.availability", "posters.mine"),
    COORDINATOR: ("proposals.queue", "matching.runs", "milestones.timeline", "milestones.progress_grid",
                  "meetings.supervision", "meetings.overdue_report", "proposals.overview", "assessment.overview",
                  "posters.overview"),
}


@bp.app_context_processor
def _navigation() -> dict:
    """The cohorts of the role being viewed (newest first), the one the navigation links point into,
    and the unread notification count."""
    if not has_request_context() or not current_user.is_authenticated:
        return {}
    cohorts = nav_cohorts(current_view_role())
    return {"nav_cohorts": cohorts, "nav_cohort": current_cohort(cohorts),
            "nav_cohort_pages": COHORT_PAGES.get(current_view_role(), ()),
            "unread_notifications": unread_count(current_user)}


def nav_cohorts(role: str | None) -> list[Cohort]:
    """The person's cohorts in the role they are viewing as, most recent first."""
    if role == STUDENT:
        query = select(Cohort).join(Enrolment).where(Enrolment.user_id == current_user.id)
    elif role == STAFF:
        query = select(Cohort).join(CohortStaff).where(CohortStaff.user_id == current_user.id)
    elif role == COORDINATOR:
        query = select(Cohort).join(CohortStaff).where(CohortStaff.user_id == current_user.id,
                                                       CohortStaff.is_coordinator.is_(True))
    else:
        return []
    return list(db.session.scalars(query.order_by(Cohort.academic_year.desc(), Cohort.id.desc())))


def current_cohort(cohorts: list[Cohort]) -> Cohort | None:
    """The cohort the navigation points into: the one of the page being viewed if it is one of the
    person's, else the one they chose with the switcher, else the most recent."""
    by_id = {c.id: c for c in cohorts}
    viewed = (request.view_args or {}).get("cohort_id")
    chosen = session.get(NAV_COHORT_KEY)
    return by_id.get(viewed) or by_id.get(chosen) or (cohorts[0] if cohorts else None)


@bp.post("/switch-cohort")
@login_required
def switch_cohort():
    """The navigation's cohort switcher: remembers the choice and shows the same page in that cohort."""
    form = SwitchCohortForm()
    role = current_view_role()
    mine = {c.id for c in nav_cohorts(role)}
    if not form.validate_on_submit() or form.cohort_id.data not in mine:
        flash("Choose one of your cohorts.", "danger")
        return redirect(url_for("home.index")), 303
    session[NAV_COHORT_KEY] = form.cohort_id.data
    if form.stay.data in COHORT_PAGES.get(role, ()):
        return redirect(url_for(form.stay.data, cohort_id=form.cohort_id.data))
    return redirect(url_for("home.index"))


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
    from ..assessment.results import released_in

    return render_template("home/student.html", enrolments=enrolments, lists=lists, proposals=proposals,
                           allocations=allocations, released=released_in(current_user), now=clock.now(),
                           poster_days=_with_poster_sessions(cohort_ids),
                           poster_schedules=_with_published_poster_schedule(cohort_ids))


@bp.get("/staff")
@roles_required(STAFF)
def staff():
    memberships = db.session.scalars(
        select(CohortStaff).join(Cohort).where(CohortStaff.user_id == current_user.id)
        .order_by(Cohort.academic_year.desc())).all()
    waiting = db.session.scalars(select(Project).where(
        Project.owner_id == current_user.id, Project.state == WITH_SUPERVISOR)).all()
    return render_template("home/staff.html", memberships=memberships, profile=current_user.staff_profile,
                           waiting=waiting, poster_days=_with_poster_sessions([m.cohort_id for m in memberships]),
                           poster_schedules=_with_published_poster_schedule([m.cohort_id for m in memberships]))


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
    recent = db.session.scalars(without_blind_events(select(AuditEvent), current_user)
                                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(10)).all()
    return render_template("home/admin.html", by_role=by_role, roles=ROLES, inactive=inactive,
                           recent=recent)


def _with_poster_sessions(cohort_ids: list[int]) -> set[int]:
    """The cohorts among these that have poster sessions (their people say when they can come)."""
    from ..posters.models import PosterSession

    return set(db.session.scalars(select(PosterSession.cohort_id).where(PosterSession.cohort_id.in_(cohort_ids))
                                  .distinct()))


def _with_published_poster_schedule(cohort_ids: list[int]) -> set[int]:
    """The cohorts among these whose poster schedule is published (each person's slots can be seen)."""
    from ..posters.models import PUBLISHED, PosterSchedule

    return set(db.session.scalars(select(PosterSchedule.cohort_id).where(PosterSchedule.cohort_id.in_(cohort_ids),
                                                                         PosterSchedule.state == PUBLISHED)))


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


NOTIFICATIONS_PER_PAGE = 25


@bp.get("/notifications")
@login_required
def notifications():
    """The person's notifications, newest first, a page at a time; ``?show=unread`` keeps the unread."""
    show = "unread" if request.args.get("show") == "unread" else "all"
    query = (select(Notification).where(Notification.user_id == current_user.id)
             .order_by(Notification.created_at.desc(), Notification.id.desc()))
    if show == "unread":
        query = query.where(Notification.read_at.is_(None))
    page = db.paginate(query, page=page_number(), per_page=NOTIFICATIONS_PER_PAGE, error_out=False)
    return render_template("home/notifications.html", page=page, items=page.items, show=show, form=FlaskForm())


@bp.post("/notifications/read")
@login_required
def mark_notifications_read():
    if FlaskForm().validate_on_submit():
        db.session.execute(update(Notification).where(Notification.user_id == current_user.id,
                                                      Notification.read_at.is_(None)).values(read_at=clock.now()))
        db.session.commit()
        flash("All notifications marked as read.", "success")
    return redirect(url_for("home.notifications"))
