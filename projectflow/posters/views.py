"""The posters blueprint: sessions and rooms, availability, the schedule and the day's programme.

This part: the coordinator's set-up page (settings, sessions and rooms, the availability window, the
pre-check), a session's page, the students' declarations to decide, and each person's availability.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..cohorts.access import cohort_for
from ..cohorts.models import Cohort
from ..core import clock, once
from ..core.auth import get_or_404, require
from ..core.calendar import local_deadline
from ..core.errors import DomainError
from ..core.forms import page_number, show_error
from ..extensions import db
from ..people.models import User
from . import models  # noqa: F401 (the tables)
from . import problem, services
from .availability import (answers_of, close_window, counts, decide_declaration, declarations_query, open_window,
                           save_staff_availability, save_student_declarations, window_closed_because, window_is_open,
                           window_state)
from .forms import (DecisionForm, RemoveSessionForm, SettingsForm, WindowForm, availability_form, session_form,
                    staff_answers, student_answers)
from .models import DECLARED, Availability, PosterSession

bp = Blueprint("posters", __name__)

DECLARATIONS_PER_PAGE = 50
DECLARATION_FILTERS = {"waiting": "Waiting for a decision", "decided": "Decided", "all": "All"}


def _cohort(cohort_id: int, *, manage: bool = False) -> Cohort:
    return cohort_for(cohort_id, manage=manage, refused="Only this cohort's coordinators set up its poster sessions.")


def _session(cohort: Cohort, session_id: int) -> PosterSession:
    session = get_or_404(PosterSession, session_id)
    if session.cohort_id != cohort.id:
        abort(404, description="That poster session belongs to another cohort.")
    return session


def _render_overview(cohort: Cohort, status: int = 200, **forms):
    view = problem.overview(cohort)
    settings_form = forms.get("settings_form") or SettingsForm(obj=view.settings)
    window_form = forms.get("window_form") or WindowForm()
    if "window_form" not in forms and view.settings.availability_closes_at and \
            window_is_open(view.settings, clock.now()):
        window_form.closes.data = view.settings.availability_closes_at.astimezone(cohort.zone).replace(tzinfo=None)
    return render_template("posters/overview.html", cohort=cohort, view=view, settings_form=settings_form,
                           window_form=window_form, session_form=forms.get("session_form") or session_form(new=True),
                           window_open=window_is_open(view.settings, clock.now()),
                           window_state=window_state(cohort, view.settings, clock.now())), status


def _show(form, exc: DomainError) -> None:
    """A service's refusal next to its field; the rooms' next to the rooms."""
    if exc.field == "rooms":
        form.rooms_errors.append(exc.message)
    else:
        show_error(form, exc, "day")


def _back(cohort: Cohort, anchor: str | None = None):
    return redirect(url_for(".overview", cohort_id=cohort.id, _anchor=anchor))


@bp.get("/cohorts/<int:cohort_id>/posters")
@login_required
def overview(cohort_id: int):
    return _render_overview(_cohort(cohort_id, manage=True))


@bp.post("/cohorts/<int:cohort_id>/posters/settings")
@login_required
def save_settings(cohort_id: int):
    cohort = _cohort(cohort_id, manage=True)
    form = SettingsForm()
    if form.validate_on_submit():
        try:
            services.save_settings(cohort, slot_minutes=form.slot_minutes.data,
                                   max_per_assessor_per_session=form.max_per_assessor_per_session.data,
                                   by=current_user)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc, "slot_minutes")
        else:
            db.session.commit()
            flash("Poster settings saved.", "success")
            return _back(cohort, "settings")
    return _render_overview(cohort, 422, settings_form=form)


@bp.post("/cohorts/<int:cohort_id>/posters/sessions")
@login_required
def add_session(cohort_id: int):
    cohort = _cohort(cohort_id, manage=True)
    form = session_form(new=True)
    if form.validate_on_submit():
        try:
            if once.claim(form.form_token.data, current_user) is not None:
                flash("That form was already sent: the session it added is in the list.", "info")
                return _back(cohort, "sessions")
            session = services.add_session(cohort, form.values(), by=current_user, form_token=form.form_token.data)
        except DomainError as exc:
            db.session.rollback()
            _show(form, exc)
        else:
            db.session.commit()
            flash(f"Session of {services.session_label(session, cohort.zone)} added.", "success")
            return _back(cohort, "sessions")
    return _render_overview(cohort, 422, session_form=form)


@bp.post("/cohorts/<int:cohort_id>/posters/window")
@login_required
def window(cohort_id: int):
    cohort = _cohort(cohort_id, manage=True)
    form = WindowForm()
    if form.validate_on_submit() and (form.open.data or form.close.data):
        try:
            if form.close.data:
                close_window(cohort, by=current_user)
                message = "The availability window is closed; the answers given are kept."
            else:
                local = form.closes.data
                closes_at = local_deadline(local.date(), local.time(), cohort.zone) if local else None
                was_open = window_is_open(services.settings_of(cohort), clock.now())
                open_window(cohort, closes_at=closes_at, by=current_user)
                message = ("The closing time of the availability window is saved." if was_open else
                           "The availability window is open: the cohort's staff and students were told.")
        except DomainError as exc:
            db.session.rollback()
            if exc.field:
                show_error(form, exc, "closes")
            else:
                flash(exc.message, "danger")
            return _render_overview(cohort, exc.status_code, window_form=form)
        db.session.commit()
        flash(message, "success")
        return _back(cohort, "window")
    if not form.errors:
        flash("Press “Open the availability window” or “Close it now”.", "danger")
    return _render_overview(cohort, 422, window_form=form)


def _render_session(cohort: Cohort, session: PosterSession, form, remove_form=None, status: int = 200):
    answers = services.answers_for(session)
    return render_template("posters/session.html", cohort=cohort, session=session, form=form,
                           remove_form=remove_form or RemoveSessionForm(), answers=answers,
                           label=services.session_label(session, cohort.zone)), status


@bp.route("/cohorts/<int:cohort_id>/posters/sessions/<int:session_id>", methods=["GET", "POST"])
@login_required
def edit_session(cohort_id: int, session_id: int):
    cohort = _cohort(cohort_id, manage=True)
    session = _session(cohort, session_id)
    form = session_form(session)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_session(session, form.values(), by=current_user)
        except DomainError as exc:
            db.session.rollback()
            _show(form, exc)
            status = exc.status_code
        else:
            db.session.commit()
            flash(f"Session of {services.session_label(session, cohort.zone)} saved.", "success")
            return _back(cohort, "sessions")
    elif form.is_submitted():
        status = 422
    return _render_session(cohort, session, form, status=status)


@bp.post("/cohorts/<int:cohort_id>/posters/sessions/<int:session_id>/remove")
@login_required
def remove_session(cohort_id: int, session_id: int):
    cohort = _cohort(cohort_id, manage=True)
    session = _session(cohort, session_id)
    form = RemoveSessionForm()
    if not form.validate_on_submit():
        return _render_session(cohort, session, session_form(session, formdata=None, fill=True), form, 422)
    label = services.session_label(session, cohort.zone)
    try:
        answers = services.remove_session(session, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        if db.session.get(PosterSession, session_id, populate_existing=True) is None:
            # Removed a moment ago (the same form sent twice): nothing of it is left to show.
            flash(f"The session of {label} was already removed.", "info")
            return _back(cohort, "sessions")
        flash(f"Not removed: {exc.message}", "danger")
        return _render_session(cohort, session, session_form(session, formdata=None, fill=True), form,
                               exc.status_code)
    db.session.commit()
    flash(f"Session of {label} removed" + (f", with {answers} availability answer(s) for it." if answers else "."),
          "success")
    return _back(cohort, "sessions")


def _render_declarations(cohort: Cohort, status: int = 200):
    show = request.args.get("show", "waiting")
    show = show if show in DECLARATION_FILTERS else "waiting"
    page = db.paginate(declarations_query(cohort, show), page=page_number(),
                       per_page=DECLARATIONS_PER_PAGE, error_out=False)
    deciders = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_({d.decided_by_id for d in page.items if d.decided_by_id})))}
    candidates = services.candidate_numbers(cohort, [d.user_id for d in page.items])
    return render_template("posters/declarations.html", cohort=cohort, page=page, show=show,
                           filters=DECLARATION_FILTERS, deciders=deciders, candidates=candidates,
                           counts=counts(cohort), form=DecisionForm(), declared=DECLARED), status


@bp.get("/cohorts/<int:cohort_id>/posters/declarations")
@login_required
def declarations(cohort_id: int):
    return _render_declarations(_cohort(cohort_id, manage=True))


@bp.post("/cohorts/<int:cohort_id>/posters/declarations/<int:declaration_id>")
@login_required
def decide(cohort_id: int, declaration_id: int):
    cohort = _cohort(cohort_id, manage=True)
    declaration = get_or_404(Availability, declaration_id)
    if declaration.session.cohort_id != cohort.id or not cohort.is_student(declaration.user):
        abort(404, description="That declaration belongs to another cohort.")
    form = DecisionForm()
    if not form.validate_on_submit() or not (form.accept.data or form.refuse.data):
        flash(" ".join(form.note.errors) or "Press Accept or Refuse to decide.", "danger")
        return _render_declarations(cohort, 422)
    try:
        decide_declaration(declaration, accept=bool(form.accept.data), note=form.note.data or "",
                           by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(f"Not decided: {exc.message}", "danger")
        return _render_declarations(cohort, exc.status_code)
    db.session.commit()
    flash(f"{declaration.user.name}'s declaration {declaration.state}; they are told in the app.", "success")
    return redirect(url_for(".declarations", cohort_id=cohort.id))


@bp.route("/cohorts/<int:cohort_id>/posters/availability", methods=["GET", "POST"])
@login_required
def availability(cohort_id: int):
    """Each member of staff and each student says which poster sessions they cannot come to."""
    cohort = _cohort(cohort_id)
    is_student = cohort.is_student(current_user)
    require(is_student or cohort.staff_member(current_user) is not None,
            "The poster availability page is for the cohort's staff and students.")
    sessions = services.sessions_of(cohort)
    form = availability_form(sessions, answers_of(cohort, current_user), student=is_student)
    status = 200
    if form.validate_on_submit():
        try:
            if is_student:
                changed = save_student_declarations(cohort, current_user, student_answers(form),
                                                    by=current_user)
            else:
                changed = save_staff_availability(cohort, current_user, staff_answers(form), by=current_user)
        except DomainError as exc:
            db.session.rollback()
            if exc.field and exc.field in form:
                show_error(form, exc, exc.field)
            else:
                flash(exc.message, "danger")
            status = exc.status_code
        else:
            db.session.commit()
            flash(("Your answers are saved." if not is_student else "Your declarations are saved; the coordinator "
                   "decides on each reason.") if changed else "Nothing had changed.", "success")
            return redirect(url_for(".availability", cohort_id=cohort.id))
    elif form.is_submitted():
        status = 422
    settings = services.settings_of(cohort)
    answers = answers_of(cohort, current_user)
    # How many posters they assess is known once the allocation is published.
    assessed = services.assessed_by(cohort, current_user) \
        if not is_student and cohort.allocation_published_at is not None else None
    return render_template("posters/availability.html", cohort=cohort, form=form, sessions=sessions, answers=answers,
                           is_student=is_student, assessed=assessed,
                           closed=window_closed_because(settings, clock.now(), zone=cohort.zone),
                           closes_at=settings.availability_closes_at), status


# Routes of the other parts live in their own modules: the day's programme (PDF) and each person's own
# slots (page, .ics, feed).
from . import mine_views, panel_views, programme_views, schedule_views  # noqa: E402,F401
