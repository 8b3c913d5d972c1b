"""The coordinator's feedback-form batches: the page that starts one (which copies, which students)
and lists the cohort's batches, the status a running batch's page polls, and the zip of a finished one."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import BooleanField, RadioField, SelectChoice

from ..cohorts.access import cohort_for
from ..cohorts.models import Cohort
from ..core import jobs, once
from ..core.auth import get_or_404
from ..core.errors import DomainError
from ..core.forms import FlaskForm, IdChoiceField, show_error
from ..extensions import db
from ..people.models import User
from . import batch
from .feedback_form import STAFF, STUDENT
from .views import bp

REFUSED = "Only this cohort's coordinators generate its feedback forms."


class BatchForm(FlaskForm):
    copies = RadioField("Copies", default=STUDENT, choices=[
        SelectChoice(STUDENT, "Student copies: what each student reads (every submitted sheet, no justifications)"),
        SelectChoice(STAFF, "Board copies: for the exam board and the external examiner, with the reconciliation "
                            "justifications and flags")])
    released = BooleanField("Released results only")
    supervisor = IdChoiceField("Supervisor", what="supervisor")
    milestone = IdChoiceField("Forms", what="milestone",
                              description="The combined form has every component, the final mark and class; a "
                                          "milestone's forms have only the components marked on it.")
    form_token = once.FormTokenField()  # the same form sent twice starts one batch


def _form(cohort: Cohort) -> BatchForm:
    form = BatchForm()
    form.supervisor.choices = [SelectChoice("", "Every supervisor")] + [
        SelectChoice(u.id, u.name) for u in batch.supervisors(cohort)]
    form.milestone.choices = [SelectChoice("", "Combined forms (every component)")] + [
        SelectChoice(m.id, f"{m.title}'s components") for m in batch.marked_milestones(cohort)]
    return form


def _size(path) -> str | None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    return f"{size / 1024 / 1024:.1f} MB" if size >= 100 * 1024 else f"{max(1, size // 1024)} KB"


def _render(cohort: Cohort, form: BatchForm, status: int = 200, problem: str | None = None):
    batches = batch.batches_of(cohort)
    # The oldest unfinished batch: the one the job runner works on first.
    running = next((j for j in reversed(batches) if not j.is_finished), None)
    sizes = {j.id: _size(batch.zip_path(j)) for j in batches if j.state == jobs.DONE}
    asked_by = {j.created_by_id for j in batches if j.created_by_id}
    people = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(asked_by))).all()) if asked_by else {}
    return render_template("feedback/batches.html", cohort=cohort, form=form, batches=batches, running=running,
                           problem=problem, counts_of=batch.counts_of, people=people,
                           ready={k: v for k, v in sizes.items() if v}), status


@bp.route("/cohorts/<int:cohort_id>/feedback", methods=["GET", "POST"])
@login_required
def batches(cohort_id: int):
    """The feedback forms of the cohort, in batches: start one, follow it, download it."""
    cohort = cohort_for(cohort_id, manage=True, refused=REFUSED)
    form = _form(cohort)
    if not form.is_submitted():
        return _render(cohort, form)
    if not form.validate():
        return _render(cohort, form, 422)
    filters = batch.Filters(bool(form.released.data), form.supervisor.data, form.milestone.data)
    try:
        if once.claim(form.form_token.data, current_user) is not None:
            flash("That form was already sent: its batch is listed below.", "info")
            return redirect(url_for(".batches", cohort_id=cohort.id))
        job = batch.start_batch(cohort, filters, form.copies.data, by=current_user)
        once.made(form.form_token.data, job)
    except DomainError as exc:
        db.session.rollback()
        if exc.field and exc.field in form:
            show_error(form, exc, "copies")
            return _render(cohort, form, exc.status_code)
        return _render(cohort, form, exc.status_code, problem=exc.message)
    db.session.commit()
    forms = job.params["forms"]
    flash(f"Batch {job.id} ({forms} feedback form{'s' if forms != 1 else ''}) is queued: this page shows its "
          "progress.", "success")
    return redirect(url_for(".batches", cohort_id=cohort.id))


def _job(cohort: Cohort, job_id: int) -> jobs.Job:
    job = get_or_404(jobs.Job, job_id)
    if job.kind != batch.JOB_KIND or job.cohort_id != cohort.id:
        abort(404, description=f"{cohort.title} has no batch of feedback forms with id {job_id}.")
    return job


@bp.get("/cohorts/<int:cohort_id>/feedback/batches/<int:job_id>")
@login_required
def batch_status(cohort_id: int, job_id: int):
    """Polled by the batches page while a batch runs (the shape the allocation page's script reads)."""
    cohort = cohort_for(cohort_id, manage=True, refused=REFUSED)
    job = _job(cohort, job_id)
    counts = batch.counts_of(job)
    ready = job.state == jobs.DONE and batch.zip_path(job).is_file()
    return jsonify({"finished": job.is_finished, "job": job.as_status(),
                    "counts": counts.__dict__ if counts else None,
                    "download": url_for(".batch_zip", cohort_id=cohort.id, job_id=job.id) if ready else None})


@bp.get("/cohorts/<int:cohort_id>/feedback/batches/<int:job_id>.zip")
@login_required
def batch_zip(cohort_id: int, job_id: int):
    cohort = cohort_for(cohort_id, manage=True, refused=REFUSED)
    job = _job(cohort, job_id)
    path = batch.zip_path(job)
    if job.state != jobs.DONE or not path.is_file():
        abort(404, description=f"Batch {job.id} is not ready yet: its page shows its progress.")
    kind = "board-copies" if job.params.get("copies") == STAFF else "student-copies"
    name = f"feedback-{cohort.programme_code}-{cohort.year_label}-{kind}-{job.id}.zip"
    response = send_file(path, mimetype="application/zip", as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
