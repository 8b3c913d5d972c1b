"""Coordinators' cohort pages: create, edit, see who takes part, import people from CSV."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core import clock, once
from ..core.auth import get_or_404, require, roles_required
from ..core.errors import ValidationFailed
from ..core.text import counted
from ..extensions import db
from ..people import invitations
from ..people.forms import InvitationForm
from ..people.models import ADMIN, COORDINATOR, STAFF, STUDENT
from ..people.views import send_invitation_answer
from . import held, importing, services
from .access import cohort_for
from .forms import MAX_YEAR, MIN_YEAR, AbandonImportForm, CohortForm, ConfirmImportForm, ImportForm
from .models import Cohort, CohortStaff, Enrolment, PeopleImport

bp = Blueprint("cohorts", __name__, url_prefix="/cohorts")

EXAMPLE_CSV = (
    "email,name,role,expertise,max_load\n"
    "a.student25@example.ac.uk,Ada Student,student,,\n"
    "j.smith@example.ac.uk,Dr Jane Smith,staff,robotics;reinforcement learning,6\n"
)


def _managed_cohort(cohort_id: int) -> Cohort:
    return cohort_for(cohort_id, manage=True)


@bp.get("/")
@roles_required(COORDINATOR, ADMIN)
def index():
    return render_template("cohorts/index.html", cohorts=services.cohorts_managed_by(current_user))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(COORDINATOR)
def new():
    form = CohortForm()
    if request.method == "GET":
        year = request.args.get("year", type=int)
        if year is None or not MIN_YEAR <= year <= MAX_YEAR:
            year = clock.now().year
        form.academic_year.data = year
        for name, value in services.default_phase_dates(year).items():
            getattr(form, name).data = value
    if form.validate_on_submit():
        try:
            cohort = services.create_cohort(form.values(), by=current_user)
        except ValidationFailed as exc:
            form.programme_code.errors.append(exc.message)
        else:
            db.session.commit()
            flash(f"Cohort {cohort.title} created. Next: import its students and staff.", "success")
            return redirect(url_for(".show", cohort_id=cohort.id))
    return render_template("cohorts/form.html", form=form, cohort=None), 422 if form.errors else 200


@bp.get("/<int:cohort_id>")
@roles_required(STUDENT, STAFF, COORDINATOR, ADMIN)
def show(cohort_id: int):
    cohort = get_or_404(Cohort, cohort_id)
    require(cohort.can_view(current_user), "You are not part of this cohort.")
    if not cohort.can_manage(current_user):
        return render_template("cohorts/summary.html", cohort=cohort)
    enrolments = db.session.scalars(
        select(Enrolment).where(Enrolment.cohort_id == cohort.id)
        .options(selectinload(Enrolment.student)).order_by(Enrolment.candidate_number)).all()
    staff = db.session.scalars(
        select(CohortStaff).where(CohortStaff.cohort_id == cohort.id)
        .options(selectinload(CohortStaff.member))).all()
    staff = sorted(staff, key=lambda s: s.member.name.lower())
    states = invitations.invitation_states([e.student for e in enrolments] + [s.member for s in staff],
                                           cohort.zone, among=services.people_of(cohort))
    return render_template("cohorts/show.html", cohort=cohort, enrolments=enrolments, staff=staff,
                           states=states, held_imports=held.open_imports(cohort),
                           invitation_form=InvitationForm(), new_token=once.new_token)


@bp.post("/<int:cohort_id>/people/<int:user_id>/invitation")
@roles_required(COORDINATOR, ADMIN)
def send_invitation(cohort_id: int, user_id: int):
    cohort = _managed_cohort(cohort_id)
    person = services.person_in_cohort(cohort, user_id)
    if person is None:
        abort(404, description="That person is not a student or member of staff of this cohort.")
    return send_invitation_answer(person, cohort=cohort,
                                  redirect_to=url_for(".show", cohort_id=cohort.id, _anchor="people"))


@bp.route("/<int:cohort_id>/edit", methods=["GET", "POST"])
@roles_required(COORDINATOR, ADMIN)
def edit(cohort_id: int):
    cohort = _managed_cohort(cohort_id)
    form = CohortForm(obj=cohort)
    if form.validate_on_submit():
        try:
            services.update_cohort(cohort, form.values(), by=current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            form.programme_code.errors.append(exc.message)
        else:
            db.session.commit()
            flash("Cohort saved.", "success")
            return redirect(url_for(".show", cohort_id=cohort.id))
    return render_template("cohorts/form.html", form=form, cohort=cohort), 422 if form.errors else 200


@bp.route("/<int:cohort_id>/import", methods=["GET", "POST"])
@roles_required(COORDINATOR, ADMIN)
def import_people(cohort_id: int):
    cohort = _managed_cohort(cohort_id)
    form = ImportForm()
    problems: list[importing.RowProblem] = []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            outcome = held.import_or_hold(cohort, upload.read(), by=current_user,
                                          filename=upload.filename or "upload.csv")
        except importing.ImportRejected as exc:
            db.session.rollback()
            problems = exc.problems
        else:
            db.session.commit()
            if isinstance(outcome, PeopleImport):
                flash("Nothing is imported yet: some rows would give existing accounts a new role. "
                      "Confirm those changes, or abandon the import.", "warning")
                return redirect(url_for(".held_import", cohort_id=cohort.id, import_id=outcome.id))
            flash(f"Imported {upload.filename}: {outcome.summary()}.{_invited(outcome)}", "success")
            return redirect(url_for(".show", cohort_id=cohort.id))
    status = 422 if (problems or form.errors) else 200
    return render_template("cohorts/import.html", cohort=cohort, form=form, problems=problems,
                           example=EXAMPLE_CSV), status


def _invited(report: importing.ImportReport) -> str:
    if not report.invitations_queued:
        return ""
    return (f" {counted(report.invitations_queued, 'invitation')} to set a password will be e-mailed by the job "
            "runner in the next minutes; the Account column shows each one once sent.")


def _held_import(cohort: Cohort, import_id: int) -> PeopleImport:
    found = db.session.get(PeopleImport, import_id)
    if found is None or found.cohort_id != cohort.id:
        abort(404, description="There is no such import in this cohort.")
    return found


def _held_page(cohort: Cohort, waiting: PeopleImport, review: held.Review, status: int = 200, message: str = ""):
    return render_template("cohorts/held_import.html", cohort=cohort, held=waiting, review=review,
                           message=message, confirm_form=ConfirmImportForm(changes=review.digest),
                           abandon_form=AbandonImportForm()), status


@bp.get("/<int:cohort_id>/imports/<int:import_id>")
@roles_required(COORDINATOR, ADMIN)
def held_import(cohort_id: int, import_id: int):
    cohort = _managed_cohort(cohort_id)
    waiting = _held_import(cohort, import_id)
    return _held_page(cohort, waiting, held.review(waiting))


@bp.post("/<int:cohort_id>/imports/<int:import_id>/confirm")
@roles_required(COORDINATOR, ADMIN)
def confirm_import(cohort_id: int, import_id: int):
    cohort = _managed_cohort(cohort_id)
    waiting = _held_import(cohort, import_id)
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        return _held_page(cohort, waiting, held.review(waiting), 422, "The form was incomplete; nothing was imported.")
    try:
        report = held.confirm_import(waiting, seen=form.changes.data, by=current_user)
    except held.ChangedSinceShown as exc:
        db.session.rollback()
        return _held_page(cohort, waiting, exc.review, 409, exc.message)
    except importing.ImportRejected as exc:
        db.session.rollback()
        return _held_page(cohort, waiting, held.Review(problems=exc.problems), 422, exc.message)
    db.session.commit()
    flash(f"Imported {waiting.filename}: {report.summary()}.{_invited(report)}", "success")
    return redirect(url_for(".show", cohort_id=cohort.id))


@bp.post("/<int:cohort_id>/imports/<int:import_id>/abandon")
@roles_required(COORDINATOR, ADMIN)
def abandon_import(cohort_id: int, import_id: int):
    cohort = _managed_cohort(cohort_id)
    waiting = _held_import(cohort, import_id)
    if not AbandonImportForm().validate_on_submit():
        return _held_page(cohort, waiting, held.review(waiting), 422, "The form was incomplete; nothing changed.")
    held.abandon_import(waiting, by=current_user)
    db.session.commit()
    flash(f"Abandoned the import of {waiting.filename}: nothing from it was imported.", "info")
    return redirect(url_for(".show", cohort_id=cohort.id))
