"""The coordinator's panels page: every poster with the people who assess it, a member of staff added
to a poster's panel or taken off it."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..cohorts.models import Cohort
from ..core.errors import DomainError
from ..core.forms import page_number, search_text, show_error
from ..core.ids import as_id
from ..extensions import db
from ..people.models import User
from . import panels, services
from .forms import RemovePanelMemberForm, panel_member_form
from .models import PanelMember
from .views import _cohort, bp


def _form(cohort: Cohort, **kwargs):
    return panel_member_form(panels.poster_students(cohort), panels.staff_choices(cohort), **kwargs)


def _render(cohort: Cohort, form=None, status: int = 200):
    q = search_text("q")
    if form is None:
        form = _form(cohort, formdata=None)
        form.student.data = request.args.get("student", type=as_id)  # "Add" beside a poster chose it
    view = panels.panels_page(cohort, q=q, page=page_number())
    return render_template("posters/panels.html", cohort=cohort, view=view, q=q, form=form,
                           schedules=panels.schedule_states(cohort)), status


def _back(cohort: Cohort, **args):
    """The panels page as the coordinator left it (its search and page)."""
    kept = {k: v for k, v in (("q", request.args.get("q")), ("page", request.args.get("page"))) if v}
    return redirect(url_for(".panels_page", cohort_id=cohort.id, **(kept | args)), 303)


def _schedules_made(cohort: Cohort) -> str:
    return (" The schedules made before this change do not take it into account: make a new schedule to do so."
            if panels.schedule_states(cohort) else "")


# One rule for the page and its "add" form (two rules on one address answer a bad id with 405, not 404).
@bp.route("/cohorts/<int:cohort_id>/posters/panels", methods=["GET", "POST"])
@login_required
def panels_page(cohort_id: int):
    cohort = _cohort(cohort_id, manage=True)
    if request.method == "GET":
        return _render(cohort)
    return _add_panel_member(cohort)


def _add_panel_member(cohort: Cohort):
    form = _form(cohort)
    if not form.validate_on_submit():
        return _render(cohort, form, 422)
    student, member = db.session.get(User, form.student.data), db.session.get(User, form.member.data)
    if student is None:
        form.student.errors.append("Choose a student from the list.")
    if member is None:
        form.member.errors.append("Choose a member of staff from the list.")
    if student is None or member is None:
        return _render(cohort, form, 422)
    try:
        services.add_panel_member(cohort, student, member, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc, "member")
        return _render(cohort, form, exc.status_code)
    db.session.commit()
    flash(f"{member.name} is on the poster panel of {student.name}." + _schedules_made(cohort), "success")
    return _back(cohort, q=student.name, page=None)


@bp.post("/cohorts/<int:cohort_id>/posters/panels/<int:panel_member_id>/remove")
@login_required
def remove_panel_member(cohort_id: int, panel_member_id: int):
    cohort = _cohort(cohort_id, manage=True)
    found = db.session.get(PanelMember, panel_member_id)
    if found is None or found.cohort_id != cohort.id:
        removal = panels.removal_of(cohort, panel_member_id) if found is None else None
        if removal is None:
            abort(404, description="That panel member is on no poster panel of this cohort.")
        # The same button pressed again: what it asked for is done.
        flash(f"Nothing to remove: {(removal.before or {}).get('member', 'that member of staff')} was already taken "
              "off that poster panel.", "info")
        return _back(cohort)
    if not RemovePanelMemberForm().validate_on_submit():
        flash("The form had expired: press Remove again.", "danger")
        return _render(cohort, status=422)
    who, student = found.user.name, db.session.get(User, found.student_id).name
    try:
        services.remove_panel_member(found, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(f"Not removed: {exc.message}", "danger")
        return _render(cohort, status=exc.status_code)
    db.session.commit()
    flash(f"{who} is no longer on the poster panel of {student}." + _schedules_made(cohort), "success")
    return _back(cohort)
