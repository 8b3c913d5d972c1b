"""Allocation pages: the coordinator's runs, review, hand moves and publication; the student's
allocation with its explanation; the supervisor's students."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import SelectChoice

from ..cohorts.access import cohort_for
from ..cohorts.models import Cohort
from ..core import clock, sheets
from ..core.auth import get_or_404, require
from ..core.errors import DomainError
from ..core.forms import page_number, show_error
from ..core.ids import as_id
from ..extensions import db
from ..people.models import User
from ..proposals.models import Project
from . import anonymity, explanations, queries, second_markers, services
from .forms import ConflictForm, MarkerForm, MoveForm, PublishForm, PublishRunForm, RunForm
from .models import Allocation, AllocationRun

bp = Blueprint("matching", __name__, url_prefix="/cohorts/<int:cohort_id>/allocation")


def _cohort(cohort_id: int, *, manage: bool = True) -> Cohort:
    return cohort_for(cohort_id, manage=manage, refused="Only this cohort's coordinators can see the allocation runs.")


def _run(cohort: Cohort, run_id: int) -> AllocationRun:
    run = get_or_404(AllocationRun, run_id)
    if run.cohort_id != cohort.id:
        abort(404)
    return run


def _student_of(cohort: Cohort, user_id: int) -> User:
    """A student of this cohort, or 404: an id from elsewhere is neither named nor described."""
    student = db.session.get(User, user_id)
    if student is None or not cohort.is_student(student):
        abort(404, description=f"This cohort has no student with id {user_id}.")
    return student


def _project_of(cohort: Cohort, project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None or project.cohort_id != cohort.id:
        abort(404, description=f"This cohort has no project with id {project_id}.")
    return project


@bp.route("/", methods=["GET", "POST"])
@login_required
def runs(cohort_id: int):
    cohort = _cohort(cohort_id)
    form = RunForm()
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            run = services.start_run(cohort, objective=form.objective.data, note=form.note.data or "",
                                     by=current_user)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc, "objective")
            status = exc.status_code  # 409 while another run is unfinished
        else:
            db.session.commit()
            return redirect(url_for(".run", cohort_id=cohort.id, run_id=run.id))
    runs = services.runs_of(cohort)
    return render_template("matching/runs.html", cohort=cohort, form=form, runs=runs,
                           out_of_date=services.out_of_date_runs(cohort, runs),
                           published=services.published_run(cohort), now=clock.now()), status


@bp.get("/runs/<int:run_id>")
@login_required
def run(cohort_id: int, run_id: int):
    cohort = _cohort(cohort_id)
    run = _run(cohort, run_id)
    if not run.has_result:
        return render_template("matching/run_progress.html", cohort=cohort, run=run)
    return _render_run(cohort, run)


def _render_run(cohort: Cohort, run: AllocationRun, move_form: MoveForm | None = None, status: int = 200):
    review = queries.review(run)
    if move_form is None:
        move_form = _move_form(review, student_id=request.args.get("student", type=as_id))
    return render_template("matching/run.html", cohort=cohort, run=run, review=review, move_form=move_form,
                           publish_form=PublishRunForm(), before=services.before_publishing(cohort),
                           q=request.args.get("q", "").strip(),
                           out_of_date=services.out_of_date_reason(run) if run.can_adjust()
                           and services.inputs_changed(run) else None,
                           objective_label=services.objective_label(run.objective)), status


def _move_form(review: queries.Review, student_id: int | None = None, **kw) -> MoveForm:
    form = MoveForm(**kw)
    students = sorted({**{a.student_id: a.student for a in review.allocations},
                       **{u.student.id: u.student for u in review.unplaced}}.values(), key=lambda u: u.name.lower())
    form.student.choices = [SelectChoice(u.id, f"{u.name} ({review.candidate_of.get(u.id, '?')})") for u in students]
    form.project.choices = [SelectChoice("", "No project")] + [
        SelectChoice(p.id, f"{p.title} — {p.owner.name}") for p in review.projects if not p.is_self_proposal]
    if student_id is not None and not form.is_submitted():
        form.student.data = student_id
    return form


@bp.get("/runs/<int:run_id>/progress")
@login_required
def progress(cohort_id: int, run_id: int):
    """Polled by the progress page: the job's state and message, and whether the run is finished."""
    run = _run(_cohort(cohort_id), run_id)
    job = run.job.as_status() if run.job else None
    return jsonify({"run": run.state, "finished": run.is_finished, "error": run.error, "job": job})


@bp.get("/runs/<int:run_id>/check")
@login_required
def check_move(cohort_id: int, run_id: int):
    """The live check of a hand move, before it is made."""
    cohort = _cohort(cohort_id)
    run = _run(cohort, run_id)
    student = _student_of(cohort, request.args.get("student", type=as_id) or 0)
    project_id = request.args.get("project", type=as_id)
    project = _project_of(cohort, project_id) if project_id else None
    try:
        return jsonify(services.check_move(run, student, project).as_json())
    except DomainError as exc:
        return jsonify({"message": exc.message}), exc.status_code


@bp.post("/runs/<int:run_id>/move")
@login_required
def move(cohort_id: int, run_id: int):
    cohort = _cohort(cohort_id)
    run = _run(cohort, run_id)
    form = _move_form(queries.review(run))
    if not form.validate_on_submit():
        flash("Choose a student and a project from the lists.", "danger")
        return _render_run(cohort, run, form, 422)
    student = _student_of(cohort, form.student.data)
    project = _project_of(cohort, form.project.data) if form.project.data else None
    try:
        services.move_student(run, student, project, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(f"Not moved: {exc.message}", "danger")
        return _render_run(cohort, run, form, exc.status_code)
    db.session.commit()
    flash(f"Moved {student.name} " + (f"to “{project.title}”." if project else "off their project."), "success")
    return redirect(url_for(".run", cohort_id=cohort.id, run_id=run.id, student=student.id))


@bp.post("/runs/<int:run_id>/publish")
@login_required
def publish(cohort_id: int, run_id: int):
    cohort = _cohort(cohort_id)
    run = _run(cohort, run_id)
    form = PublishRunForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.publish_run(run, by=current_user, early=bool(form.early.data))
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_run(cohort, run, status=exc.status_code)
    db.session.commit()
    flash(f"{run.label} is published: students and supervisors have been told.", "success")
    return redirect(url_for(".runs", cohort_id=cohort.id))


@bp.get("/runs/<int:run_id>/<any(problem, result):name>.json")
@login_required
def download(cohort_id: int, run_id: int, name: str):
    """The run's inputs (problem.json) or the engine's result (result.json): `projectflow allocate
    --input problem.json` reproduces the result."""
    run = _run(_cohort(cohort_id), run_id)
    data = run.problem if name == "problem" else run.result
    if data is None:
        abort(404, description="This run has no such file yet.")
    filename = f"{run.cohort.programme_code}-{run.cohort.academic_year}-run{run.number}-{name}.json"
    return Response(json.dumps(data, indent=1, ensure_ascii=False) + "\n", mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/allocation.<any(csv, xlsx):fmt>")
@login_required
def export(cohort_id: int, fmt: str):
    """The published allocation as a spreadsheet (columns: README, "Exports")."""
    cohort = _cohort(cohort_id)
    published = services.published_run(cohort)
    if published is None:
        abort(404, description="The cohort has no published allocation to download yet.")
    return sheets.download(queries.ALLOCATION_COLUMNS, queries.allocation_rows(published), fmt,
                           f"{cohort.programme_code}-{cohort.academic_year}-allocation", title="Allocation")


@bp.get("/mine")
@login_required
def mine(cohort_id: int):
    cohort = _cohort(cohort_id, manage=False)
    require(cohort.is_student(current_user), "Only the cohort's students have an allocation.")
    allocation = services.allocation_of(cohort, current_user)
    published = services.published_run(cohort)
    explanation = explanations.for_student(published, current_user) if published else None
    return render_template("matching/mine.html", cohort=cohort, allocation=allocation, published=published,
                           explanation=explanation)


# --- second markers ------------------------------------------------------------------------------

def _conflict_form(cohort: Cohort, **kw) -> ConflictForm:
    form = ConflictForm(**kw)
    form.staff.choices = [SelectChoice(s.user_id, s.member.name)
                          for s in sorted(cohort.staff, key=lambda s: s.member.name.lower())]
    form.student.choices = [SelectChoice(e.user_id, f"{e.student.name} ({e.candidate_number})")
                            for e in sorted(cohort.enrolments, key=lambda e: e.student.name.lower())]
    return form


def _render_markers(cohort: Cohort, conflict_form: ConflictForm | None = None, status: int = 200):
    if services.published_run(cohort) is None:
        return render_template("matching/markers.html", cohort=cohort, overview=None), status
    show = request.args.get("show", "")
    filters = dict(show=show if show in second_markers.MARKER_FILTERS else "",
                   q=request.args.get("q", "").strip()[:100],
                   marker_id=request.args.get("marker", type=as_id),
                   supervisor_id=request.args.get("supervisor", type=as_id))
    overview = second_markers.overview(cohort, page=page_number(), per_page=second_markers.MARKERS_PER_PAGE,
                                       **filters)
    return render_template("matching/markers.html", cohort=cohort, overview=overview, filters=filters,
                           people={s.user_id: s.member for s in cohort.staff},
                           filter_choices=second_markers.MARKER_FILTERS,
                           conflict_form=conflict_form or _conflict_form(cohort), publish_form=PublishForm()), status


@bp.get("/markers")
@login_required
def markers(cohort_id: int):
    return _render_markers(_cohort(cohort_id))


@bp.post("/markers/assign")
@login_required
def assign_markers(cohort_id: int):
    cohort = _cohort(cohort_id)
    if not PublishForm().validate_on_submit():
        abort(400)
    result = second_markers.assign_second_markers(cohort, by=current_user)
    db.session.commit()
    flash(f"Second markers chosen for {len(result.assignments)} projects in {result.solve_seconds:.2f} s "
          f"(optimal: expertise overlap {result.overlap_total}, fair share {result.fair_share})"
          + (f"; {len(result.unassigned)} could not be given one." if result.unassigned else "."), "success")
    for d in result.diagnosis:
        flash(d.message, "warning")
    return redirect(url_for(".markers", cohort_id=cohort.id))


def _allocation(cohort: Cohort, allocation_id: int) -> Allocation:
    allocation = get_or_404(Allocation, allocation_id)
    if allocation.run.cohort_id != cohort.id:
        abort(404)
    return allocation


def _marker_form(allocation: Allocation, **kw) -> tuple[MarkerForm, list]:
    """The change form offers who may mark the project, best first; the rest are listed with why not."""
    found = second_markers.candidates(allocation)
    form = MarkerForm(**kw)
    form.marker.choices = [SelectChoice(c.member.user_id, f"{c.member.member.name} – "
                                        f"{c.check.overlap} shared keyword{'' if c.check.overlap == 1 else 's'}, "
                                        f"{c.load} of {c.maximum} projects")
                           for c in found if not c.check.problems]
    return form, found


def _render_change(cohort: Cohort, allocation: Allocation, form: MarkerForm | None = None, status: int = 200):
    current = second_markers.current_marker(allocation)
    offered, found = _marker_form(allocation, marker=current.marker_id if current else None)
    if form is not None:  # a refused change: why, next to the list
        offered.marker.errors = form.marker.errors
    refused = [c for c in found if c.check.problems]
    full = [c for c in refused if len(c.check.problems) == 1 and c.load >= c.maximum]  # named in one line
    return render_template("matching/marker_change.html", cohort=cohort, allocation=allocation, current=current,
                           form=offered, refused=[c for c in refused if c not in full], full=full), status


# One rule for the page and its form (two rules on one address answer a bad id with 405, not 404).
@bp.route("/markers/<int:allocation_id>", methods=["GET", "POST"])
@login_required
def change_marker(cohort_id: int, allocation_id: int):
    cohort = _cohort(cohort_id)
    allocation = _allocation(cohort, allocation_id)
    if request.method == "GET":
        return _render_change(cohort, allocation)
    form = MarkerForm()
    form.marker.choices = [SelectChoice(s.user_id, s.member.name) for s in cohort.staff]
    if not form.validate_on_submit():
        form.marker.errors = ["Choose a member of the cohort's staff."]
        return _render_change(cohort, allocation, form, 422)
    try:
        second_markers.change_marker(allocation, get_or_404(User, form.marker.data), by=current_user)
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc, "marker")
        return _render_change(cohort, allocation, form, exc.status_code)
    db.session.commit()
    flash(f"Second marker of {allocation.student.name}'s project changed.", "success")
    return redirect(url_for(".markers", cohort_id=cohort.id))


@bp.post("/markers/conflicts")
@login_required
def declare_conflict(cohort_id: int):
    cohort = _cohort(cohort_id)
    form = _conflict_form(cohort)
    if form.validate_on_submit():
        try:
            second_markers.declare_conflict(cohort, get_or_404(User, form.staff.data),
                                            get_or_404(User, form.student.data), form.reason.data, by=current_user)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc, "staff")
        else:
            db.session.commit()
            flash("Conflict of interest recorded.", "success")
            return redirect(url_for(".markers", cohort_id=cohort.id))
    return _render_markers(cohort, form, 422)


@bp.post("/markers/publish")
@login_required
def publish_markers(cohort_id: int):
    cohort = _cohort(cohort_id)
    if not PublishForm().validate_on_submit():
        abort(400)
    told = second_markers.publish_second_markers(cohort, by=current_user)
    db.session.commit()
    flash(f"Second markers published: {told} markers have been told.", "success")
    return redirect(url_for(".markers", cohort_id=cohort.id))


@bp.get("/my-students")
@login_required
def my_students(cohort_id: int):
    cohort = _cohort(cohort_id, manage=False)
    require(cohort.staff_member(current_user) is not None or cohort.can_manage(current_user),
            "Only the cohort's staff supervise students.")
    return render_template("matching/my_students.html", cohort=cohort,
                           allocations=services.students_of(cohort, current_user),
                           second_marking=second_markers.marked_by(cohort, current_user),
                           names=anonymity.names_for(cohort, current_user), manage=cohort.can_manage(current_user),
                           published=services.published_run(cohort))
