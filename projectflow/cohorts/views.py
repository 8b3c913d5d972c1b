"""Coordinators' cohort pages: create, edit, see who takes part, import people from CSV."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core import clock
from ..core.auth import get_or_404, require, roles_required
from ..core.errors import ValidationFailed
from ..extensions import db
from ..people.models import ADMIN, COORDINATOR, STAFF, STUDENT
from . import importing, services
from .access import cohort_for
from .forms import MAX_YEAR, MIN_YEAR, CohortForm, ImportForm
from .models import Cohort, CohortStaff, Enrolment

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
    return render_template("cohorts/show.html", cohort=cohort, enrolments=enrolments, staff=staff)


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
            report = importing.import_people(cohort, upload.read(), by=current_user,
                                             filename=upload.filename or "upload.csv")
        except importing.ImportRejected as exc:
            db.session.rollback()
            problems = exc.problems
        else:
            db.session.commit()
            flash(f"Imported {upload.filename}: {report.summary()}.", "success")
            return redirect(url_for(".show", cohort_id=cohort.id))
    status = 422 if (problems or form.errors) else 200
    return render_template("cohorts/import.html", cohort=cohort, form=form, problems=problems,
                           example=EXAMPLE_CSV), status
