"""Supervision log pages: the student's own log, the supervisor's view of their students' logs with
confirm and dispute buttons, and the coordinator's report of students overdue a meeting."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.exceptions import BadRequest

from ..cohorts.models import Cohort
from ..core import once
from ..core.auth import get_or_404, require
from ..core.errors import DomainError
from ..core.forms import page_number, search_text, show_error
from ..extensions import db
from ..matching.services import allocation_of, published_run
from . import log_pages
from . import services as meetings
from .forms import DisputeForm, MeetingForm
from .models import Meeting

bp = Blueprint("meetings", __name__)


def _cohort(cohort_id: int) -> Cohort:
    cohort = get_or_404(Cohort, cohort_id)
    require(cohort.can_view(current_user), "You are not part of this cohort.")
    return cohort


def _render_log(cohort: Cohort, form: MeetingForm, status: int = 200):
    today = meetings.local_today(cohort)
    return render_template("supervision/meetings.html", cohort=cohort, form=form,
                           allocation=allocation_of(cohort, current_user),
                           log=meetings.meetings_of(cohort, current_user), phase=meetings.phase_on(cohort, today),
                           today=today), status


@bp.route("/cohorts/<int:cohort_id>/meetings", methods=["GET", "POST"])
@login_required
def log(cohort_id: int):
    """The student's own log and the form to record a meeting."""
    cohort = _cohort(cohort_id)
    require(cohort.is_student(current_user),
            "The meeting log here is a student's own; staff see their students' logs under Supervision.")
    form = MeetingForm()
    if not form.is_submitted():
        return _render_log(cohort, form)
    if form.validate():
        try:
            if once.claim(form.form_token.data, current_user) is not None:
                flash("That form was already sent: the meeting it recorded is in your log below.", "info")
                return redirect(url_for(".log", cohort_id=cohort.id))
            meeting = meetings.record_meeting(cohort, current_user, met_on=form.met_on.data, notes=form.notes.data,
                                              actions=form.actions.data or "", by=current_user)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc, "notes")
            return _render_log(cohort, form, exc.status_code)
        db.session.commit()
        flash(f"Meeting of {meeting.met_on:%d %b %Y} recorded; {meeting.supervisor.name} is asked to confirm it.",
              "success")
        return redirect(url_for(".log", cohort_id=cohort.id))
    if form.met_on.data and not form.met_on.errors:
        # Say everything wrong at once: the date's rule too, not only the empty notes.
        try:
            meetings.check_met_on(cohort, form.met_on.data)
        except DomainError as exc:
            form.met_on.errors.append(exc.message)
    return _render_log(cohort, form, 422)


MEETINGS_PER_PAGE = 50


def _log_filter(allocations) -> log_pages.LogFilter:
    """The filters of the supervision log from the query string; a date that is not one is refused."""
    dates = {}
    for name in ("since", "until"):
        raw = search_text(name)
        try:
            dates[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise BadRequest(f"“{raw}” is not a date: write it as 2026-03-01, or leave it empty.") from None
    state = request.args.get("state")
    return log_pages.LogFilter(
        student_id=request.args.get("student", type=int) if request.args.get("student", type=int) in
        {a.student_id for a in allocations} else None,
        supervisor_id=request.args.get("supervisor", type=int) if request.args.get("supervisor", type=int) in
        {a.supervisor_id for a in allocations} else None,
        state=state if state in log_pages.STATES else None, **dates)


def _kept(page: int | None = None) -> dict[str, str]:
    """The page and filters of the supervision page in the query string: its forms send them along so
    that the person comes back to the page they were on, not to page 1 of everything. ``page``: the
    page shown (which may differ from the one asked for)."""
    kept = {k: v for k in log_pages.KEPT if (v := request.args.get(k, "").strip())}
    if page is not None:
        kept.pop("page", None)
        if page > 1:
            kept["page"] = str(page)
    return kept


def _render_supervision(cohort: Cohort, status: int = 200, dispute_form: DisputeForm | None = None,
                        disputing: int | None = None):
    manage = cohort.can_manage(current_user)
    allocations = meetings.all_allocations(cohort) if manage else meetings.supervised_by(cohort, current_user)
    chosen = _log_filter(allocations)
    shown = log_pages.students_in(allocations, chosen)
    ids = [a.student_id for a in shown]
    query = log_pages.meetings_query(cohort.id, ids, chosen)
    page = db.paginate(query, page=page_number(), per_page=MEETINGS_PER_PAGE, error_out=False)
    if not page.items and page.page > 1 and page.pages:
        # The last meeting of the last page was just confirmed away from a filter: show the new last page.
        page = db.paginate(query, page=page.pages, per_page=MEETINGS_PER_PAGE, error_out=False)
    totals = log_pages.totals(cohort.id, ids)
    return render_template("supervision/supervision.html", cohort=cohort, allocations=allocations,
                           groups=log_pages.grouped(allocations, page.items), page=page, chosen=chosen,
                           states=log_pages.STATES, totals=totals, never=[a for a in shown if a.student_id not in totals],
                           supervisors=sorted({a.supervisor for a in allocations}, key=lambda u: u.name.lower()),
                           manage=manage, confirm_form=FlaskForm(), keep=_kept(page=page.page),
                           dispute_form=dispute_form or DisputeForm(formdata=None), disputing=disputing,
                           confirmable=meetings.confirmable(page.items, allocations, current_user)), status


@bp.get("/cohorts/<int:cohort_id>/meetings/supervision")
@login_required
def supervision(cohort_id: int):
    """A supervisor's students' logs (co-supervised ones included); every student's for a coordinator."""
    cohort = _cohort(cohort_id)
    require(cohort.staff_member(current_user) is not None or cohort.can_manage(current_user),
            "Supervision logs are for the cohort's staff.")
    return _render_supervision(cohort)


@bp.post("/meetings/<int:meeting_id>/confirm")
@login_required
def confirm(meeting_id: int):
    meeting = get_or_404(Meeting, meeting_id)
    cohort = get_or_404(Cohort, meeting.cohort_id)
    require(meetings.can_confirm(meeting, current_user),
            "Only the student's supervisor or a co-supervisor confirms their meetings.")
    back = url_for(".supervision", cohort_id=cohort.id, **_kept(), _anchor=f"student-{meeting.student_id}")
    if not FlaskForm().validate_on_submit():
        flash("The form had expired: try again.", "danger")
        return redirect(back)
    try:
        meetings.confirm_meeting(meeting, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(f"Not confirmed: {exc.message}", "danger")
        return _render_supervision(cohort, exc.status_code)
    db.session.commit()
    flash(f"Meeting of {meeting.met_on:%d %b %Y} with {meeting.student.name} confirmed.", "success")
    return redirect(back)


@bp.post("/meetings/<int:meeting_id>/dispute")
@login_required
def dispute(meeting_id: int):
    """The supervisor says a meeting record is not right, with a comment the student reads."""
    meeting = get_or_404(Meeting, meeting_id)
    cohort = get_or_404(Cohort, meeting.cohort_id)
    require(meetings.can_confirm(meeting, current_user),
            "Only the student's supervisor or a co-supervisor disputes their meeting records.")
    form = DisputeForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            flash("The form had expired: try again.", "danger")
            return redirect(url_for(".supervision", cohort_id=cohort.id, **_kept()))
        return _render_supervision(cohort, 422, form, meeting.id)
    try:
        meetings.dispute_meeting(meeting, form.comment.data, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        if exc.field == "comment":
            show_error(form, exc, "comment")
            return _render_supervision(cohort, exc.status_code, form, meeting.id)
        flash(f"Not disputed: {exc.message}", "danger")
        return _render_supervision(cohort, exc.status_code)
    db.session.commit()
    flash(f"You disputed the record of the meeting of {meeting.met_on:%d %b %Y} with {meeting.student.name}; "
          "they are told, with your comment.", "success")
    return redirect(url_for(".supervision", cohort_id=cohort.id, **_kept(), _anchor=f"meeting-{meeting.id}"))


@bp.get("/cohorts/<int:cohort_id>/meetings/overdue")
@login_required
def overdue_report(cohort_id: int):
    """Students of the published allocation without a meeting for longer than the phase's gap."""
    cohort = get_or_404(Cohort, cohort_id)
    require(cohort.can_manage(current_user), "The overdue-meetings report is for the cohort's coordinators.")
    today = meetings.local_today(cohort)
    return render_template("supervision/overdue.html", cohort=cohort, rows=meetings.overdue(cohort, today),
                           phase=meetings.phase_on(cohort, today), today=today,
                           published=published_run(cohort))
