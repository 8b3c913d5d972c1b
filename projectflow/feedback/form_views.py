"""Feedback forms' routes: one student's form (combined, or one component's) for the student after
release, their markers (a preview) and the cohort's coordinators; the batch of a cohort's forms."""

from __future__ import annotations

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import select

from ..assessment.models import Component
from ..cohorts.models import Cohort, Enrolment
from ..core.auth import get_or_404
from ..core.pdf import pdf_response
from ..extensions import db
from ..people.models import User
from . import feedback_form
from .views import bp


def _student_of(cohort: Cohort, student_id: int) -> User:
    student = db.session.get(User, student_id)
    if student is None or db.session.scalar(select(Enrolment.id).where(
            Enrolment.cohort_id == cohort.id, Enrolment.user_id == student_id)) is None:
        abort(404)
    return student


def _form(cohort_id: int, student_id: int, component_id: int | None):
    cohort = get_or_404(Cohort, cohort_id)
    student = _student_of(cohort, student_id)
    component = None
    if component_id is not None:
        component = db.session.get(Component, component_id)
        if component is None or component.cohort_id != cohort.id:
            abort(404)
    try:
        data, filename = feedback_form.form_pdf(cohort, student, current_user, component)
    except LookupError:
        abort(404, f"{student.name if current_user.id == student.id else 'This student'} has no project "
                   f"in {cohort.title}, so there is no feedback form.")
    return pdf_response(data, filename)


@bp.get("/cohorts/<int:cohort_id>/students/<int:student_id>/feedback.pdf")
@login_required
def form(cohort_id: int, student_id: int):
    """The combined form: every component, the final mark and class."""
    return _form(cohort_id, student_id, None)


@bp.get("/cohorts/<int:cohort_id>/students/<int:student_id>/feedback/<int:component_id>.pdf")
@login_required
def component_form(cohort_id: int, student_id: int, component_id: int):
    """One component's form."""
    return _form(cohort_id, student_id, component_id)
