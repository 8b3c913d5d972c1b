"""Assessment pages: the marker's queue and mark sheets, the coordinator's marking overview."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from ..cohorts.models import Cohort, CohortStaff
from ..core import clock, once
from ..core.auth import get_or_404, require
from ..core.errors import DomainError
from ..core.forms import page_number, show_error
from ..core.ids import as_id
from ..core.storage import file_store
from ..extensions import db
from ..matching import anonymity
from ..people.models import STAFF, User
from ..posters import mine as poster_slots
from . import services
from . import agreement as agreeing
from . import reconciliation
from .forms import (
    CannotAgreeForm, ConfirmForm, MessageForm, OpenMarkingForm, ProposeForm, ReassignForm, ReopenForm, SetUpForm,
    ThirdMarkerForm,
    entries_of, sheet_form,
)
from .models import (
    BANDS, FIRST, IN_RECONCILIATION, ROLE_LABELS, SECOND, THIRD, THIRD_MARKING, Agreement, Component, MarkSheet,
    ReconciliationMessage,
)

bp = Blueprint("assessment", __name__)


@bp.get("/marking")
@login_required
def queue():
    """The marker's queue: every sheet they must mark, soonest due first."""
    require(current_user.has_role(STAFF), "Marking is done by staff.")
    sheets = services.queue_of(current_user)
    numbers = services.candidate_numbers({s.component.cohort_id for s in sheets}, {s.student_id for s in sheets})
    labels = {s.id: services.student_label(s, s.component.cohort, {s.student_id: numbers.get(
        (s.component.cohort_id, s.student_id), "")}, current_user) for s in sheets}
    agreements = reconciliation.reconciliations_of(current_user)
    moderating = db.session.scalars(select(Cohort).join(CohortStaff, CohortStaff.cohort_id == Cohort.id).where(
        CohortStaff.user_id == current_user.id, CohortStaff.is_moderator.is_(True))
        .order_by(Cohort.academic_year.desc())).all()
    return render_template("assessment/queue.html", sheets=sheets, labels=labels, roles=ROLE_LABELS, now=clock.now(),
                           agreements=agreements, agreement_labels=_agreement_labels(agreements, sheets, labels),
                           moderating=moderating)


def _agreement_labels(agreements: list[Agreement], sheets: list[MarkSheet], labels: dict[int, str]) -> dict[int, str]:
    # The same name or candidate number the marker's own sheet of that student shows.
    by_pair = {(s.component_id, s.student_id): labels[s.id] for s in sheets}
    return {a.id: by_pair.get((a.component_id, a.student_id), "") for a in agreements}


def _sheet(sheet_id: int) -> MarkSheet:
    sheet = get_or_404(MarkSheet, sheet_id)
    require(services.can_view(sheet, current_user), "This mark sheet is not yours: markers see their own sheets only.")
    return sheet


def _render_sheet(sheet: MarkSheet, form, status: int = 200, changed: list[str] | None = None, reassign_form=None):
    cohort = sheet.component.cohort
    number = services.candidate_numbers({cohort.id}, {sheet.student_id}).get((cohort.id, sheet.student_id), "")
    return render_template(
        "assessment/sheet.html", sheet=sheet, form=form, cohort=cohort, bands=BANDS, roles=ROLE_LABELS,
        label=services.student_label(sheet, cohort, {sheet.student_id: number}, current_user),
        work=services.work_marked(sheet.component, sheet.student), missing=services.missing_for_submission(sheet),
        can_mark=services.can_mark(sheet, current_user) and not sheet.is_submitted,
        reopen_form=ReopenForm() if cohort.can_manage(current_user) and sheet.is_submitted else None,
        reassign_form=reassign_form or (_reassign_form(sheet) if cohort.can_manage(current_user)
                                        and not sheet.is_submitted and sheet.marker_id != current_user.id else None),
        agreement=_visible_agreement(sheet), poster_slot=_poster_slot(sheet),
        changed=changed or []), status


def _poster_slot(sheet: MarkSheet):
    # A poster's sheet says when and where its markers see the poster, once a schedule is published.
    if sheet.component.key != "poster":
        return None
    return poster_slots.slot_of_student(sheet.component.cohort, sheet.student_id)


def _visible_agreement(sheet: MarkSheet) -> Agreement | None:
    found = db.session.scalar(select(Agreement).where(Agreement.component_id == sheet.component_id,
                                                      Agreement.student_id == sheet.student_id))
    return found if found is not None and reconciliation.can_see(found, current_user) else None


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


def _reassign_form(sheet: MarkSheet, form=None) -> ReassignForm:
    form = form or ReassignForm()
    staff = sorted((s.member for s in sheet.component.cohort.staff if s.member.is_active and s.user_id != sheet.marker_id),
                   key=lambda u: u.name)
    form.marker.choices = [SelectChoice("", "Choose a member of staff")] + [SelectChoice(str(u.id), u.name) for u in staff]
    return form


@bp.post("/marking/sheets/<int:sheet_id>/reassign")
@login_required
def reassign(sheet_id: int):
    sheet = get_or_404(MarkSheet, sheet_id)
    require(sheet.component.cohort.can_manage(current_user), "Only the cohort's coordinators reassign mark sheets.")
    once.lock(sheet)  # a repeat of this form waits for the first, then reads what it did
    if sheet.replaced_at is not None:
        # The same form sent again once it was done: say so, before asking whether this coordinator may
        # see the sheet (they may have just given the marking to themselves).
        flash("This sheet was reassigned already: nothing changed.", "info")
        return redirect(url_for(".overview", cohort_id=sheet.component.cohort_id))
    require(services.can_view(sheet, current_user), "You mark this student too: another coordinator reassigns it.")
    form = _reassign_form(sheet)
    if not form.validate():
        return _render_sheet(sheet, sheet_form(sheet), 422, reassign_form=form)
    try:
        new = services.reassign_sheet(sheet, db.session.get(User, int(form.marker.data)), reason=form.reason.data,
                                      by=current_user)
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc, "marker")
        return _render_sheet(sheet, sheet_form(sheet), exc.status_code, reassign_form=form)
    db.session.commit()
    flash(f"The sheet is now {new.marker.name}'s, to start afresh; {sheet.marker.name}'s draft is kept in the "
          "audit log.", "success")
    return redirect(url_for(".overview", cohort_id=sheet.component.cohort_id))


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
    state = request.args.get("state", "")
    component = request.args.get("component", type=as_id)  # not an id: no filter
    overview = services.marking_overview(cohort, current_user, page=page_number(), per_page=SHEETS_PER_PAGE,
                                         component_id=component,
                                         state=state if state in services.SHEET_FILTERS else "")
    return render_template("assessment/overview.html", cohort=cohort, overview=overview, roles=ROLE_LABELS,
                           set_up_form=SetUpForm(), open_form=OpenMarkingForm(),
                           needing=reconciliation.needing_action(cohort), filters=services.SHEET_FILTERS,
                           chosen={"state": state, "component": component}), status


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



# --- reconciliation and third markers ------------------------------------------------------------

def _agreement(agreement_id: int) -> Agreement:
    agreement = get_or_404(Agreement, agreement_id)
    require(reconciliation.can_see(agreement, current_user),
            "You see this once both markers have submitted their sheets, and only if you mark this work.")
    return agreement


def _render_agreement(agreement: Agreement, status: int = 200, **forms):
    cohort = agreement.component.cohort
    sheets = reconciliation.sheets_of(agreement)
    number = services.candidate_numbers({cohort.id}, {agreement.student_id}).get((cohort.id, agreement.student_id), "")
    mine = next((s for s in sheets.values() if s.marker_id == current_user.id), None)
    viewer_role = mine.role if mine else None
    label = anonymity.student_label(cohort, agreement.student, current_user, number, with_number=True)
    reconciling = viewer_role in (FIRST, SECOND) and agreement.state == IN_RECONCILIATION
    third_form = None
    if agreement.state == THIRD_MARKING and THIRD not in sheets and cohort.can_manage(current_user) and mine is None:
        third_form = forms.get("third_form") or ThirdMarkerForm()
        third_form.marker.choices = _third_marker_choices(agreement)
        if not third_form.is_submitted() and agreement.third_marker_proposed_id:
            third_form.marker.data = str(agreement.third_marker_proposed_id)
    messages = db.session.scalars(select(ReconciliationMessage).where(
        ReconciliationMessage.agreement_id == agreement.id).order_by(ReconciliationMessage.created_at)).all()
    return render_template(
        "assessment/agreement.html", agreement=agreement, cohort=cohort, sheets=sheets, label=label, bands=BANDS,
        roles=ROLE_LABELS, messages=messages, describe=agreeing.describe(agreement), reconciling=reconciling,
        range=reconciliation.marks_range(agreement) if FIRST in sheets and all(
            s.mark is not None for r, s in sheets.items() if r in (FIRST, SECOND)) else None,
        message_form=forms.get("message_form") or MessageForm(),
        propose_form=forms.get("propose_form") or ProposeForm(),
        confirm_form=ConfirmForm() if reconciling and agreement.proposed_by_id not in (None, current_user.id) else None,
        cannot_form=forms.get("cannot_form") or CannotAgreeForm(), third_form=third_form), status


def _third_marker_choices(agreement: Agreement) -> list[SelectChoice]:
    cohort = agreement.component.cohort
    proposed = agreement.third_marker_proposed_id
    staff = sorted((s.member for s in cohort.staff if s.member.is_active), key=lambda u: u.name)
    return [SelectChoice(str(u.id), u.name + (" (proposed)" if u.id == proposed else "")) for u in staff]


def _reconciling(agreement_id: int) -> Agreement:
    agreement = _agreement(agreement_id)
    require(reconciliation.is_reconciler(agreement, current_user), "Only the first and second markers reconcile.")
    return agreement


@bp.get("/marking/agreements/<int:agreement_id>")
@login_required
def agreement(agreement_id: int):
    """Both sheets side by side, the markers' discussion, and what to do next."""
    return _render_agreement(_agreement(agreement_id))


def _act(agreement: Agreement, form, name: str, action, done: str):
    """Validate ``form``, run ``action`` (a service call), commit and say ``done``; or show why not."""
    if not form.validate():
        return _render_agreement(agreement, 422, **{name: form})
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc, next(iter(f.name for f in form if f.type not in ("CSRFTokenField", "SubmitField")),
                                   "submit"))
        flash(exc.message, "danger")
        return _render_agreement(agreement, exc.status_code, **{name: form})
    db.session.commit()
    flash(done, "success")
    return redirect(url_for(".agreement", agreement_id=agreement.id))


@bp.post("/marking/agreements/<int:agreement_id>/messages")
@login_required
def post_message(agreement_id: int):
    agreement = _reconciling(agreement_id)
    form = MessageForm()

    def action():
        if once.claim(form.form_token.data, current_user) is None:
            reconciliation.post_message(agreement, form.body.data, by=current_user)
    return _act(agreement, form, "message_form", action, "Message sent.")


@bp.post("/marking/agreements/<int:agreement_id>/propose")
@login_required
def propose(agreement_id: int):
    agreement = _reconciling(agreement_id)
    form = ProposeForm()

    def action():
        reconciliation.propose(agreement, services.parse_mark(form.mark.data) or Decimal(0), form.justification.data,
                               by=current_user)
    return _act(agreement, form, "propose_form", action,
                "Mark proposed: the other marker is asked to confirm it.")


@bp.post("/marking/agreements/<int:agreement_id>/confirm")
@login_required
def confirm(agreement_id: int):
    agreement = _reconciling(agreement_id)
    return _act(agreement, ConfirmForm(), "confirm_form",
                lambda: reconciliation.confirm(agreement, by=current_user), "Agreed by reconciliation.")


@bp.post("/marking/agreements/<int:agreement_id>/cannot-agree")
@login_required
def cannot_agree(agreement_id: int):
    agreement = _reconciling(agreement_id)
    form = CannotAgreeForm()
    return _act(agreement, form, "cannot_form",
                lambda: reconciliation.cannot_agree(agreement, form.reason.data, by=current_user),
                "Sent to a third marker: the coordinator appoints one.")


@bp.post("/marking/agreements/<int:agreement_id>/third-marker")
@login_required
def appoint_third_marker(agreement_id: int):
    agreement = _agreement(agreement_id)
    require(agreement.component.cohort.can_manage(current_user), "Only the cohort's coordinators appoint third markers.")
    form = ThirdMarkerForm()
    form.marker.choices = _third_marker_choices(agreement)

    def action():
        marker = db.session.get(User, int(form.marker.data))
        reconciliation.appoint_third_marker(agreement, marker, by=current_user)
    return _act(agreement, form, "third_form", action, "Third marker appointed: their sheet is in their queue.")


# The blueprint's other pages, each area in its own module.
from . import results_views, setup_views  # noqa: E402,F401
