"""Results: the coordinator's results page with its charts, moderation, release, and the student's
released marks and feedback."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from ..cohorts.models import Cohort, CohortStaff
from ..core import sheets
from ..core.auth import get_or_404, require
from ..core.errors import DomainError
from ..core.forms import page_number, show_error
from ..extensions import db
from ..matching import anonymity
from ..people.models import User
from ..results import engine
from . import result_charts, results
from .models import ROLE_LABELS, Result
from .results_forms import ModerateForm, ModeratorsForm, ReleaseForm, ReleaseOneForm, SampleForm
from .services import parse_mark
from .views import bp

PER_PAGE = 50


def _managed(cohort_id: int) -> Cohort:
    cohort = get_or_404(Cohort, cohort_id)
    require(cohort.can_manage(current_user), "Only the cohort's coordinators see its results.")
    return cohort


def _filters() -> dict[str, str]:
    """The results page's filters from the query string; an unknown value is no filter."""
    state, flag, klass = (request.args.get(k, "") for k in ("state", "flag", "class"))
    return {"state": state if state in results.STATE_FILTERS else "",
            "flag": flag if flag in (*engine.FLAGS, "in_sample", "moderated") else "",
            "klass": klass if klass in results.CLASS_NAMES else ""}


@bp.get("/cohorts/<int:cohort_id>/results")
@login_required
def results_table(cohort_id: int):
    """Every allocated student's agreements and result, filtered and paged."""
    cohort = _managed(cohort_id)
    return _render_results(cohort)


def _render_results(cohort: Cohort, status: int = 200):
    filters = _filters()
    found = results.results_page(cohort, page=page_number(), per_page=PER_PAGE, **filters)
    return render_template("assessment/results.html", cohort=cohort, found=found, filters=filters,
                           states=results.STATE_FILTERS, flag_labels=results.FLAG_LABELS,
                           classes=results.CLASS_NAMES, release_refused=results.release_refused_because(cohort),
                           rules=results.rules_of(cohort), release_form=ReleaseForm(), one_form=ReleaseOneForm(),
                           moderation_of=results.moderation_of), status


@bp.get("/cohorts/<int:cohort_id>/results.<any(csv, xlsx):fmt>")
@login_required
def results_export(cohort_id: int, fmt: str):
    """Every allocated student's agreements and result as a spreadsheet (columns: README, "Exports")."""
    cohort = _managed(cohort_id)
    columns, rows = results.export_rows(cohort)
    return sheets.download(columns, rows, fmt, f"{cohort.programme_code}-{cohort.academic_year}-results",
                           title="Results", zone=cohort.zone)


@bp.get("/cohorts/<int:cohort_id>/results/charts")
@login_required
def results_charts(cohort_id: int):
    cohort = _managed(cohort_id)
    return render_template("assessment/results_charts.html", cohort=cohort, charts=result_charts.results_charts(cohort))


@bp.post("/cohorts/<int:cohort_id>/results/release")
@login_required
def release_all(cohort_id: int):
    cohort = _managed(cohort_id)
    if not ReleaseForm().validate():
        flash("The form expired; release again.", "danger")
        return _render_results(cohort, 400)
    return _release(cohort, None)


@bp.post("/cohorts/<int:cohort_id>/results/<int:student_id>/release")
@login_required
def release_one(cohort_id: int, student_id: int):
    cohort = _managed(cohort_id)
    student = _student_of(cohort, student_id)
    if not ReleaseOneForm().validate():
        flash("The form expired; release again.", "danger")
        return _render_results(cohort, 400)
    return _release(cohort, student)


def _release(cohort: Cohort, student: User | None):
    try:
        released = results.release(cohort, by=current_user, student=student)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_results(cohort, exc.status_code)
    db.session.commit()
    if student is not None:
        flash(f"The result of {student.name} is released and they are told." if released
              else f"The result of {student.name} was released already.", "success")
    else:
        flash(f"{released} result{'s' if released != 1 else ''} released; each student is told." if released
              else "Every result with a final mark is released already.", "success")
    return redirect(request.form.get("next") if _is_local(request.form.get("next"))
                    else url_for(".results_table", cohort_id=cohort.id))


def _is_local(target: str | None) -> bool:
    return bool(target) and target.startswith("/") and not target.startswith("//")


def _student_of(cohort: Cohort, student_id: int) -> User:
    student = get_or_404(User, student_id)
    if not cohort.is_student(student):
        abort(404, description="That student is not in this cohort.")
    return student


# --- moderation -----------------------------------------------------------------------------------

def _moderated(cohort_id: int) -> Cohort:
    cohort = get_or_404(Cohort, cohort_id)
    require(results.can_moderate(cohort, current_user),
            "Only the cohort's coordinators and the moderators they named see the moderation list.")
    return cohort


def _moderators_form(cohort: Cohort, formdata=None) -> ModeratorsForm:
    staff = db.session.execute(select(CohortStaff, User.name).join(User, User.id == CohortStaff.user_id).where(
        CohortStaff.cohort_id == cohort.id, CohortStaff.is_coordinator.is_(False)).order_by(User.name)).all()
    form = ModeratorsForm(formdata=formdata) if formdata is not None else ModeratorsForm(formdata=None)
    form.moderators.choices = [SelectChoice(s.user_id, name) for s, name in staff]
    if formdata is None:
        form.moderators.data = [s.user_id for s, _ in staff if s.is_moderator]
    return form


@bp.get("/cohorts/<int:cohort_id>/moderation")
@login_required
def moderation(cohort_id: int):
    """The moderation list: every flagged student and the sample, with what is left to moderate."""
    return _render_moderation(_moderated(cohort_id))


def _render_moderation(cohort: Cohort, status: int = 200, moderators_form: ModeratorsForm | None = None):
    show = request.args.get("show", "")
    listing = results.moderation_list(cohort, current_user, page=page_number(), per_page=PER_PAGE,
                                      show=show if show in ("to-do", "done") else "")
    manages = cohort.can_manage(current_user)
    return render_template("assessment/moderation.html", cohort=cohort, listing=listing, show=show,
                           manages=manages, names=anonymity.names_for(cohort, current_user), rules=results.rules_of(cohort), sample_form=SampleForm(),
                           moderators_form=(moderators_form or _moderators_form(cohort)) if manages else None,
                           moderation_of=results.moderation_of), status


@bp.post("/cohorts/<int:cohort_id>/moderation/sample")
@login_required
def draw_sample(cohort_id: int):
    cohort = _managed(cohort_id)
    if not SampleForm().validate():
        flash("The form expired; draw the sample again.", "danger")
        return _render_moderation(cohort, 400)
    try:
        drawn = results.draw_sample(cohort, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_moderation(cohort, exc.status_code)
    db.session.commit()
    flash(f"The sample holds {len(drawn)} student{'s' if len(drawn) != 1 else ''}; drawing again gives the same "
          "students.", "success")
    return redirect(url_for(".moderation", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/moderation/moderators")
@login_required
def set_moderators(cohort_id: int):
    cohort = _managed(cohort_id)
    form = _moderators_form(cohort, request.form)
    if not form.validate():
        flash("Choose moderators among the cohort's staff.", "danger")
        return _render_moderation(cohort, 422, form)
    try:
        changed = results.set_moderators(cohort, set(form.moderators.data or []), by=current_user)
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc, "moderators")
        return _render_moderation(cohort, exc.status_code, form)
    db.session.commit()
    flash(f"Moderators saved ({', '.join(changed)})." if changed else "The moderators are as they were.", "success")
    return redirect(url_for(".moderation", cohort_id=cohort.id))


def _result_of(cohort: Cohort, student: User) -> Result:
    result = db.session.scalar(select(Result).where(Result.cohort_id == cohort.id, Result.student_id == student.id))
    if result is None:
        abort(404, description="This student has no result yet: their marks are not agreed.")
    return result


def _render_moderate(cohort: Cohort, student: User, result: Result, form: ModerateForm, status: int = 200):
    listing = results.moderation_row(cohort, student, current_user)
    return render_template("assessment/moderate.html", cohort=cohort, student=student, result=result,
                           label=anonymity.student_label(cohort, student, current_user, listing.row.candidate_number),
                           entry=listing, form=form, roles=ROLE_LABELS, flag_labels=results.FLAG_LABELS,
                           moderation_of=results.moderation_of), status


@bp.route("/cohorts/<int:cohort_id>/moderation/<int:student_id>", methods=["GET", "POST"])
@login_required
def moderate(cohort_id: int, student_id: int):
    """A moderator confirms or adjusts one student's final mark, with a reason."""
    cohort = _moderated(cohort_id)
    student = _student_of(cohort, student_id)
    require(student.id not in results.marked_students(cohort, current_user),
            "You marked this student's work: another moderator moderates it.")
    result = _result_of(cohort, student)
    if request.method == "GET":
        form = ModerateForm(formdata=None)
        form.reason.data = result.moderation_note
        form.mark.data = f"{result.moderated_final}" if result.moderated_final is not None else ""
        return _render_moderate(cohort, student, result, form)
    form = ModerateForm()
    if not form.validate():
        return _render_moderate(cohort, student, result, form, 422)
    try:
        adjusting = bool(form.adjust.data)
        mark = parse_mark(form.mark.data or "") if adjusting else None
        results.moderate(result, decision=results.ADJUST if adjusting else results.CONFIRM, mark=mark,
                         reason=form.reason.data, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        db.session.refresh(result)
        show_error(form, exc, "mark" if form.adjust.data else "reason")
        return _render_moderate(cohort, student, result, form, exc.status_code)
    db.session.commit()
    label = anonymity.student_label(cohort, student, current_user)
    flash(f"Moderated: the final mark of {label} is {results.final_of(result)}"
          f" ({results.moderation_of(result)}).", "success")
    return redirect(url_for(".moderation", cohort_id=cohort.id))


# --- the student's results ------------------------------------------------------------------------

@bp.get("/cohorts/<int:cohort_id>/my-results")
@login_required
def my_results(cohort_id: int):
    """The student's own results, once released: marks, penalties, the final mark and class, and the
    markers' comments to them."""
    cohort = get_or_404(Cohort, cohort_id)
    require(cohort.is_student(current_user), "Only the cohort's students have results here.")
    return render_template("assessment/my_results.html", cohort=cohort,
                           mine=results.released_results(cohort, current_user), roles=ROLE_LABELS)
