"""Assessment pages: the marker's queue and mark sheets, the coordinator's marking overview."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from ..cohorts.models import Cohort
from ..core import clock
from ..core.auth import get_or_404, require
from ..core.errors import DomainError
from ..core.forms import page_number
from ..core.storage import file_store
from ..extensions import db
from ..people.models import STAFF
from . import services
from .forms import OpenMarkingForm, ReopenForm, SetUpForm, entries_of, sheet_form
from .models import BANDS, ROLE_LABELS, Component, MarkSheet

bp = Blueprint("assessment", __name__)


@bp.get("/marking")
@login_required
def queue():
    """The marker's queue: every sheet they must mark, soonest due first."""
    require(current_user.has_role(STAFF), "Marking is done by staff.")
    sheets = services.queue_of(current_user)
    numbers = services.candidate_numbers({s.component.cohort_id for s in sheets}, {s.student_id for s in sheets})
    labels = {s.id: services.student_label(s, s.component.cohort, {s.student_id: numbers.get(
        (s.component.cohort_id, s.student_id), "")}) for s in sheets}
    return render_template("assessment/queue.html", sheets=sheets, labels=labels, roles=ROLE_LABELS, now=clock.now())


def _sheet(sheet_id: int) -> MarkSheet:
    sheet = get_or_404(MarkSheet, sheet_id)
    require(services.can_view(sheet, current_user), "This mark sheet is not yours: markers see their own sheets only.")
    return sheet


def _render_sheet(sheet: MarkSheet, form, status: int = 200, changed: list[str] | None = None):
    cohort = sheet.component.cohort
    number = services.candidate_numbers({cohort.id}, {sheet.student_id}).get((cohort.id, sheet.student_id), "")
    return render_template(
        "assessment/sheet.html", sheet=sheet, form=form, cohort=cohort, bands=BANDS, roles=ROLE_LABELS,
        label=services.student_label(sheet, cohort, {sheet.student_id: number}),
        work=services.work_marked(sheet.component, sheet.student), missing=services.missing_for_submission(sheet),
        can_mark=services.can_mark(sheet, current_user) and not sheet.is_submitted,
        reopen_form=ReopenForm() if cohort.can_manage(current_user) and sheet.is_submitted else None,
        changed=changed or []), status


@bp.route("/marking/sheets/<int:sheet_id>", methods=["GET", "POST"])
@login_required
def sheet(sheet_id: int):
    """A mark sheet: the submitted work beside the rubric; save as a draft, then submit."""
    sheet = _sheet(sheet_id)
    if request.method == "GET":
        return _render_sheet(sheet, sheet_form(sheet))
    require(services.can_mark(sheet, current_user), "Only the sheet's marker changes its marks.")
    form = sheet_form(sheet, formdata=request.form)
    wants_json = request.accept_mimetypes.best == "application/json"
    if not form.validate():
        return _answer(sheet, form, 422, wants_json, "Some fields need correcting; nothing was saved.")
    entries, problems = entries_of(form)
    for name, message in problems.items():
        form[name].errors.append(message)
    if problems:
        return _answer(sheet, form, 422, wants_json, "Some marks need correcting; nothing was saved.")
    changed = services.changes_since(sheet, entries, form.overall_comment.data or "", form.private_note.data or "")
    if form.version.data != str(sheet.version) and changed:
        # Saved since this copy of the page was shown (another tab), and differently: show what differs.
        # (An older copy that holds what is saved, as after this page's own autosave, is no conflict.)
        return _answer(sheet, form, 409, wants_json, "This sheet was saved elsewhere (another tab?) since you "
                       "opened it: compare below, then save again to keep yours.", changed=changed, reload=True)
    try:
        services.save_sheet(sheet, entries, overall_comment=form.overall_comment.data or "",
                            private_note=form.private_note.data or "", by=current_user)
        if form.submit.data:
            services.submit_sheet(sheet, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        db.session.refresh(sheet)
        form.version.data = str(sheet.version)
        return _answer(sheet, form, exc.status_code, wants_json, exc.message)
    db.session.commit()
    if wants_json:
        return jsonify(saved=True, version=sheet.version, message=f"Draft saved at {sheet.updated_at.astimezone(sheet.component.cohort.zone):%H:%M}.")
    if sheet.is_submitted:
        flash(f"Marks submitted: {sheet.mark}. The other marker's sheet stays hidden until they submit too.", "success")
        return redirect(url_for(".queue"))
    flash("Draft saved. Submit the marks when every criterion has one.", "success")
    return redirect(url_for(".sheet", sheet_id=sheet.id))


def _answer(sheet, form, status, wants_json, message, changed=None, reload=False):
    if wants_json:
        return jsonify(saved=False, message=message, changed=changed or [], reload=reload), status
    flash(message, "danger")
    if reload:
        # Show their values in the form with the saved sheet's version: saving again keeps theirs.
        form.version.data = str(sheet.version)
    return _render_sheet(sheet, form, status, changed)


@bp.get("/marking/sheets/<int:sheet_id>/work")
@login_required
def work(sheet_id: int):
    """The submission the sheet marks, shown inline in the browser's own PDF viewer beside the rubric."""
    sheet = _sheet(sheet_id)
    submission = services.work_marked(sheet.component, sheet.student).submission
    if submission is None:
        abort(404, description="Nothing has been submitted for this work.")
    store = file_store()
    if not store.exists(submission.storage_key):
        abort(404, description="The file of this submission is missing from the store: tell the coordinator.")
    response = send_file(store.path_of(submission.storage_key), mimetype="application/pdf", as_attachment=False,
                         download_name=f"{sheet.component.key}-{sheet.id}.pdf")
    # Shown in a frame of the sheet's page, which is on this site.
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
    return response


@bp.post("/marking/sheets/<int:sheet_id>/reopen")
@login_required
def reopen(sheet_id: int):
    sheet = get_or_404(MarkSheet, sheet_id)
    require(sheet.component.cohort.can_manage(current_user), "Only the cohort's coordinators reopen mark sheets.")
    form = ReopenForm()
    if not form.validate():
        flash(" ".join(form.reason.errors) or "Say why the sheet is reopened.", "danger")
        return _render_sheet(sheet, sheet_form(sheet), 422)
    try:
        services.reopen_sheet(sheet, reason=form.reason.data, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for(".sheet", sheet_id=sheet.id))
    db.session.commit()
    flash(f"The sheet is reopened; {sheet.marker.name} can change it and submit again.", "success")
    return redirect(url_for(".sheet", sheet_id=sheet.id))


# --- the coordinator's overview -----------------------------------------------------------------

SHEETS_PER_PAGE = 50


def _managed(cohort_id: int) -> Cohort:
    cohort = get_or_404(Cohort, cohort_id)
    require(cohort.can_manage(current_user), "Only the cohort's coordinators run its marking.")
    return cohort


@bp.get("/cohorts/<int:cohort_id>/marking")
@login_required
def overview(cohort_id: int):
    return _render_overview(_managed(cohort_id))


def _render_overview(cohort: Cohort, status: int = 200):
    overview = services.marking_overview(cohort, current_user, page=page_number(), per_page=SHEETS_PER_PAGE)
    return render_template("assessment/overview.html", cohort=cohort, overview=overview, roles=ROLE_LABELS,
                           set_up_form=SetUpForm(), open_form=OpenMarkingForm()), status


@bp.post("/cohorts/<int:cohort_id>/marking/set-up")
@login_required
def set_up(cohort_id: int):
    cohort = _managed(cohort_id)
    if not SetUpForm().validate():
        flash("The form expired; set up marking again.", "danger")
        return _render_overview(cohort, 400)
    services.set_up_marking(cohort, by=current_user)
    db.session.commit()
    flash("Marking is set up with the standard components and rubrics.", "success")
    return redirect(url_for(".overview", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/marking/components/<int:component_id>/open")
@login_required
def open_component(cohort_id: int, component_id: int):
    cohort = _managed(cohort_id)
    component = get_or_404(Component, component_id)
    if component.cohort_id != cohort.id:
        abort(404, description="That component belongs to another cohort.")
    if not OpenMarkingForm().validate():
        flash("The form expired; open marking again.", "danger")
        return _render_overview(cohort, 400)
    try:
        opened = services.open_marking(component, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_overview(cohort, exc.status_code)
    db.session.commit()
    flash(opened.summary(component) if opened.sheets else f"Every marker of {component.title} has a sheet already.",
          "success")
    return redirect(url_for(".overview", cohort_id=cohort.id))


# The blueprint's other pages, each area in its own module.
from . import results_views, setup_views  # noqa: E402,F401
