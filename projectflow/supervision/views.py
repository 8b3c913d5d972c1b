"""Supervision log pages: the student's own log, the supervisor's view of their students' logs with
confirm buttons, and the coordinator's report of students overdue a meeting."""

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
from .forms import MeetingForm
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
        state=state if state in (log_pages.CONFIRMED, log_pages.AWAITING) else None, **dates)


def _render_supervision(cohort: Cohort, status: int = 200):
    manage = cohort.can_manage(current_user)
    allocations = meetings.all_allocations(cohort) if manage else meetings.supervised_by(cohort, current_user)
    chosen = _log_filter(allocations)
    shown = log_pages.students_in(allocations, chosen)
    ids = [a.student_id for a in shown]
    page = db.paginate(log_pages.meetings_query(cohort.id, ids, chosen), page=page_number(),
                       per_page=MEETINGS_PER_PAGE, error_out=False)
    totals = log_pages.totals(cohort.id, ids)
    return render_template("supervision/supervision.html", cohort=cohort, allocations=allocations,
                           groups=log_pages.grouped(allocations, page.items), page=page, chosen=chosen,
                           totals=totals, never=[a for a in shown if a.student_id not in totals],
                           supervisors=sorted({a.supervisor for a in allocations}, key=lambda u: u.name.lower()),
                           manage=manage, confirm_form=FlaskForm(),
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
    back = url_for(".supervision", cohort_id=cohort.id, _anchor=f"student-{meeting.student_id}")
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
