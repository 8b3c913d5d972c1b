"""The coordinator's schedule pages: make a schedule (a job, its progress polled), review it as a grid
per session and per assessor, move or swap posters with live checks, publish it."""

from __future__ import annotations

import json

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import NotFound

from ..cohorts.models import Cohort
from ..core import jobs
from ..core.auth import get_or_404
from ..core.errors import DomainError
from ..core.forms import show_error
from ..core.ids import as_id
from ..extensions import db
from ..people.models import User
from ..solvers.posters_io import poster_problem_from_dict, schedule_to_dict
from . import schedules
from .forms import ChangeForm, PublishScheduleForm, StartScheduleForm, change_form
from .models import FAILED, PUBLISHED, QUEUED, RUNNING, SOLVED, PosterSchedule
from .problem import precheck, problem_file
from .views import _cohort, bp


def _schedule(cohort: Cohort, schedule_id: int) -> PosterSchedule:
    schedule = get_or_404(PosterSchedule, schedule_id)
    if schedule.cohort_id != cohort.id:
        abort(404, description="That poster schedule belongs to another cohort.")
    return schedule


def _poster_student(schedule: PosterSchedule, student_id: int | None, problem: dict) -> User:
    """A student whose poster is in the cohort's input now (``problem``) or has a slot in the schedule
    (404 otherwise)."""
    ids = {int(p["id"][1:]) for p in problem["posters"]}
    ids |= set(schedules.assessors_of(schedule))
    if student_id is None or student_id not in ids:
        abort(404, description="That student has no poster in this schedule.")
    return db.session.get(User, student_id)


@bp.route("/cohorts/<int:cohort_id>/posters/schedules", methods=["GET", "POST"])
@login_required
def schedules_page(cohort_id: int):
    cohort = _cohort(cohort_id, manage=True)
    form = StartScheduleForm()
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate_on_submit():
            try:
                schedule = schedules.start_schedule(cohort, by=current_user, seconds=form.seconds.data)
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
                status = exc.status_code
            else:
                db.session.commit()
                return redirect(url_for(".schedule", cohort_id=cohort.id, schedule_id=schedule.id))
    return render_template("posters/schedules.html", cohort=cohort, form=form, schedules=schedules.schedules_of(cohort),
                           labels=schedules.STATE_LABELS, badges=schedules.STATE_BADGES, label=schedules.label,
                           problems=precheck(cohort),
                           published=schedules.published_schedule(cohort)), status


@bp.get("/cohorts/<int:cohort_id>/posters/schedules/<int:schedule_id>")
@login_required
def schedule(cohort_id: int, schedule_id: int):
    cohort = _cohort(cohort_id, manage=True)
    found = _schedule(cohort, schedule_id)
    if found.state in (QUEUED, RUNNING, FAILED):
        job = db.session.get(jobs.Job, found.job_id) if found.job_id else None
        return render_template("posters/schedule_progress.html", cohort=cohort, schedule=found, job=job,
                               label=schedules.label(found),
                               seconds=found.summary.get("seconds") or schedules.solve_seconds())
    return _render_review(cohort, found)


def _render_review(cohort: Cohort, found: PosterSchedule, form: ChangeForm | None = None, status: int = 200):
    review = schedules.review(found)
    zone = cohort.zone
    if form is None:
        form = change_form(review, zone, review.slot_minutes)
        student = request.args.get("student", type=as_id)
        if student is not None:
            form.student.data = student
    sessions = review.sessions
    chosen = request.args.get("session", type=as_id)
    session = next((s for s in sessions if s.id == chosen), sessions[0] if sessions else None)
    return render_template("posters/schedule.html", cohort=cohort, schedule=found, review=review, form=form,
                           publish_form=PublishScheduleForm(), label=schedules.label(found),
                           labels=schedules.STATE_LABELS, session=session,
                           grid=review.grid(session) if session is not None else None,
                           published=schedules.published_schedule(cohort),
                           editable=found.state in (SOLVED, PUBLISHED)), status


@bp.get("/cohorts/<int:cohort_id>/posters/schedules/<int:schedule_id>/progress")
@login_required
def schedule_progress(cohort_id: int, schedule_id: int):
    """Polled by the progress page: the job's state and message, and whether the schedule is made."""
    found = _schedule(_cohort(cohort_id, manage=True), schedule_id)
    job = db.session.get(jobs.Job, found.job_id) if found.job_id else None
    return jsonify({"schedule": found.state, "finished": found.state not in (QUEUED, RUNNING), "error": found.error,
                    "job": job.as_status() if job else None})


def _change_of(found: PosterSchedule, args, problem: dict) -> tuple[User, schedules.Target | None, User | None]:
    student = _poster_student(found, _id_or_none(args.get("student")), problem)
    if args.get("action") == "swap":
        return student, None, _poster_student(found, _id_or_none(args.get("other")), problem)
    return student, schedules.target_from(found, args.get("target", "")), None


def _id_or_none(value):
    try:
        return as_id(value)
    except ValueError:
        return None


@bp.get("/cohorts/<int:cohort_id>/posters/schedules/<int:schedule_id>/check")
@login_required
def check_change(cohort_id: int, schedule_id: int):
    """The live check of a move or swap, before it is made."""
    found = _schedule(_cohort(cohort_id, manage=True), schedule_id)
    problem = problem_file(found.cohort)  # built once: it names the posters, then the change is checked against it
    try:
        student, target, other = _change_of(found, request.args, problem)
        return jsonify(schedules.check_change(found, student, target, swap_with=other, problem=problem).as_json())
    except DomainError as exc:
        return jsonify({"message": exc.message}), exc.status_code
    except NotFound as exc:  # a student with no poster here: the page's script shows the sentence
        return jsonify({"message": exc.description}), 404


@bp.post("/cohorts/<int:cohort_id>/posters/schedules/<int:schedule_id>/change")
@login_required
def change(cohort_id: int, schedule_id: int):
    cohort = _cohort(cohort_id, manage=True)
    found = _schedule(cohort, schedule_id)
    review = schedules.review(found)
    form = change_form(review, cohort.zone, review.slot_minutes)
    if not form.validate_on_submit():
        return _render_review(cohort, found, form, 422)
    try:
        # The change itself is checked against the input read again once the cohort is locked
        # (``schedules.change``): another request may have changed it meanwhile.
        student, target, other = _change_of(found, request.form, problem_file(cohort))
        schedules.change(found, student, target, swap_with=other, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc, "target")
        return _render_review(cohort, found, form, exc.status_code)
    db.session.commit()
    flash(f"Swapped the places of {student.name}'s and {other.name}'s posters." if other else
          f"Moved {student.name}'s poster." + (" They and their assessors were told." if found.state == PUBLISHED
                                               else ""), "success")
    slot = next((s for s in schedules.slots_of(found) if s.student_id == student.id), None)
    return redirect(url_for(".schedule", cohort_id=cohort.id, schedule_id=found.id,
                            session=slot.session_id if slot else None, _anchor=f"poster-{student.id}"))


@bp.post("/cohorts/<int:cohort_id>/posters/schedules/<int:schedule_id>/publish")
@login_required
def publish(cohort_id: int, schedule_id: int):
    cohort = _cohort(cohort_id, manage=True)
    found = _schedule(cohort, schedule_id)
    form = PublishScheduleForm()
    if not form.validate_on_submit():
        abort(400, description="The form was damaged on its way: reload the page and try again.")
    was = found.state
    try:
        schedules.publish_schedule(found, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_review(cohort, found, status=exc.status_code)
    db.session.commit()
    flash(f"{schedules.label(found)} is published: students and assessors were told their slots." if was != PUBLISHED
          else f"{schedules.label(found)} was already published.", "success")
    return redirect(url_for(".schedule", cohort_id=cohort.id, schedule_id=found.id))


@bp.get("/cohorts/<int:cohort_id>/posters/schedules/<int:schedule_id>/assessors")
@login_required
def schedule_assessors(cohort_id: int, schedule_id: int):
    """The schedule per assessor: each one's posters in time order, and the days they come in."""
    cohort = _cohort(cohort_id, manage=True)
    found = _schedule(cohort, schedule_id)
    if found.state not in (SOLVED, PUBLISHED) and not schedules.slots_of(found):
        abort(404, description="This schedule has no slots yet.")
    review = schedules.review(found)
    return render_template("posters/schedule_assessors.html", cohort=cohort, schedule=found, review=review,
                           label=schedules.label(found), labels=schedules.STATE_LABELS)


@bp.get("/cohorts/<int:cohort_id>/posters/schedules/<int:schedule_id>/<any(problem, schedule):name>.json")
@login_required
def schedule_file(cohort_id: int, schedule_id: int, name: str):
    """The schedule's input (``projectflow schedule-posters --input``) or its placements as the command
    writes them."""
    cohort = _cohort(cohort_id, manage=True)
    found = _schedule(cohort, schedule_id)
    if name == "problem":
        data = found.problem
    else:
        if found.state not in (SOLVED, PUBLISHED) and not schedules.slots_of(found):
            abort(404, description="This schedule has no placements yet.")
        data = schedule_to_dict(schedules.standing_against(found, poster_problem_from_dict(found.problem)))
    filename = f"{cohort.programme_code}-{cohort.academic_year}-posters{found.number}-{name}.json"
    return Response(json.dumps(data, indent=1, ensure_ascii=False) + "\n", mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
