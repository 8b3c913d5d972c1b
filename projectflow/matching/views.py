"""Allocation pages: the coordinator's runs, review, hand moves and publication; the student's
allocation with its explanation; the supervisor's students."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import SelectChoice

from ..cohorts.models import Cohort
from ..core import clock
from ..core.auth import get_or_404, require
from ..core.errors import DomainError
from ..core.forms import show_error
from ..extensions import db
from ..people.models import User
from ..proposals.models import Project
from . import explanations, queries, services
from .forms import MoveForm, PublishForm, RunForm
from .models import AllocationRun

bp = Blueprint("matching", __name__, url_prefix="/cohorts/<int:cohort_id>/allocation")


def _cohort(cohort_id: int, *, manage: bool = True) -> Cohort:
    cohort = get_or_404(Cohort, cohort_id)
    if manage:
        require(cohort.can_manage(current_user), "Only this cohort's coordinators can see the allocation runs.")
    else:
        require(cohort.can_view(current_user), "You are not part of this cohort.")
    return cohort


def _run(cohort: Cohort, run_id: int) -> AllocationRun:
    run = get_or_404(AllocationRun, run_id)
    if run.cohort_id != cohort.id:
        abort(404)
    return run


@bp.route("/", methods=["GET", "POST"])
@login_required
def runs(cohort_id: int):
    cohort = _cohort(cohort_id)
    form = RunForm()
    if form.validate_on_submit():
        try:
            run = services.start_run(cohort, objective=form.objective.data, note=form.note.data or "",
                                     by=current_user)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc, "objective")
        else:
            db.session.commit()
            return redirect(url_for(".run", cohort_id=cohort.id, run_id=run.id))
    status = 422 if form.errors else 200
    return render_template("matching/runs.html", cohort=cohort, form=form, runs=services.runs_of(cohort),
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
        move_form = _move_form(review, student_id=request.args.get("student", type=int))
    return render_template("matching/run.html", cohort=cohort, run=run, review=review, move_form=move_form,
                           publish_form=PublishForm(), q=request.args.get("q", "").strip(),
                           inputs_changed=run.can_adjust() and services.inputs_changed(run),
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
    run = _run(_cohort(cohort_id), run_id)
    student = get_or_404(User, request.args.get("student", type=int) or 0)
    project_id = request.args.get("project", type=int)
    project = get_or_404(Project, project_id) if project_id else None
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
    student = get_or_404(User, form.student.data)
    project = get_or_404(Project, form.project.data) if form.project.data else None
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
    if not PublishForm().validate_on_submit():
        abort(400)
    services.publish_run(run, by=current_user)
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


@bp.get("/my-students")
@login_required
def my_students(cohort_id: int):
    cohort = _cohort(cohort_id, manage=False)
    require(cohort.staff_member(current_user) is not None or cohort.can_manage(current_user),
            "Only the cohort's staff supervise students.")
    return render_template("matching/my_students.html", cohort=cohort,
                           allocations=services.students_of(cohort, current_user),
                           published=services.published_run(cohort))
