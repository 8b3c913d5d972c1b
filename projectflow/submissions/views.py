"""Submission pages: a milestone as the student sees it (deadline, extension, upload, versions), the
receipt, and downloads for the people who may see the work."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_login import current_user, login_required

from ..core import clock, once
from ..core.auth import get_or_404, require
from ..core.errors import DomainError
from ..core.storage import UploadRejected, file_store
from ..extensions import db
from ..matching import anonymity
from ..milestones import extensions
from ..milestones.forms import ExtensionRequestForm
from ..milestones.models import Milestone
from ..milestones.services import effective_deadline, working_calendar
from . import archive, services
from .forms import SubmissionForm
from .models import Submission

bp = Blueprint("submissions", __name__)


def _page(milestone: Milestone, form: SubmissionForm | None = None, status: int = 200,
          extension_form: ExtensionRequestForm | None = None):
    cohort = milestone.cohort
    form = form or SubmissionForm(form_token=secrets.token_urlsafe(24))
    if not form.form_token.data:
        form.form_token.data = secrets.token_urlsafe(24)
    deadline = effective_deadline(milestone, current_user)
    try:
        services.check_open(milestone, current_user)
        closed = None
    except DomainError as exc:
        closed = exc.message
    now = clock.now()
    calendar = working_calendar(cohort)
    upcoming = calendar.non_working_days(now.astimezone(cohort.zone).date(),
                                         deadline.due_at.astimezone(cohort.zone).date()) \
        if deadline.due_at > now else []
    return render_template("submissions/milestone.html", cohort=cohort, milestone=milestone, deadline=deadline,
                           form=form, closed=closed, now=now, declaration=services.DECLARATION,
                           versions=services.versions(milestone, current_user), upcoming=upcoming,
                           max_mb=file_store_limit_mb(), extension_form=extension_form or ExtensionRequestForm(),
                           on_time=services.on_time_version_a_late_one_would_replace(milestone, current_user),
                           extensions=extensions.history(milestone, current_user),
                           no_request=extensions.why_no_request(milestone, current_user),
                           limit=cohort.extension_max_working_days), status


def file_store_limit_mb() -> int:
    from flask import current_app

    return int(current_app.config["MAX_UPLOAD_MB"])


@bp.get("/milestones/<int:milestone_id>")
@login_required
def milestone(milestone_id: int):
    milestone = get_or_404(Milestone, milestone_id)
    require(milestone.cohort.is_student(current_user), "This page is for the cohort's students.")
    return _page(milestone)


@bp.post("/milestones/<int:milestone_id>/submit")
@login_required
def submit(milestone_id: int):
    milestone = get_or_404(Milestone, milestone_id)
    require(milestone.cohort.is_student(current_user), "Only the cohort's students submit work.")
    form = SubmissionForm()
    if not form.validate_on_submit():
        return _page(milestone, form, 422)
    upload = form.file.data
    try:
        submission, created = services.submit(milestone, current_user, upload.stream, file_name=upload.filename or "",
                                              declared=bool(form.declaration.data),
                                              form_token=form.form_token.data or "", by=current_user,
                                              late_confirmed=bool(form.late_confirmed.data))
    except DomainError as exc:
        db.session.rollback()
        target = form[exc.field] if exc.field in ("declaration", "late_confirmed") else form.file
        target.errors = list(target.errors) + [exc.message]
        return _page(milestone, form, exc.status_code)
    if created:
        flash("Your file is submitted. The receipt below is also on its way by e-mail.", "success")
    else:
        flash("That form was already sent: this is the receipt of the submission it made.", "info")
    return redirect(url_for(".receipt", submission_id=submission.id))


@bp.get("/submissions/<int:submission_id>/receipt")
@login_required
def receipt(submission_id: int):
    submission = get_or_404(Submission, submission_id)
    cohort = submission.milestone.cohort
    require(services.can_see_work(cohort, submission.student, current_user), "This is someone else's work.")
    not_counted = []
    if submission.is_late:
        not_counted = working_calendar(cohort).non_working_days(
            submission.deadline_at.astimezone(cohort.zone).date(), submission.submitted_at.astimezone(cohort.zone).date())
    number = anonymity.candidate_number_of(cohort, submission.student)
    known = anonymity.knows(cohort, submission.student, current_user)
    # A second marker of an anonymous cohort reads neither the name nor the file's own name (which
    # often carries it): the file is named as in the zip handed to markers.
    return render_template("submissions/receipt.html", submission=submission, cohort=cohort, not_counted=not_counted,
                           student_label=anonymity.student_label(cohort, submission.student, current_user, number),
                           file_label=submission.file_name if known else archive.file_name(number, submission))


@bp.get("/submissions/<int:submission_id>/download")
@login_required
def download(submission_id: int):
    submission = get_or_404(Submission, submission_id)
    cohort = submission.milestone.cohort
    require(services.can_see_work(cohort, submission.student, current_user), "This is someone else's work.")
    store = file_store()
    if not store.exists(submission.storage_key):
        abort(404, description="The file of this submission is missing from the store: tell the coordinator.")
    # Named by candidate number, as in the zip handed to markers, whoever downloads it.
    name = f"{cohort.programme_code}-{archive.file_name(anonymity.candidate_number_of(cohort, submission.student), submission)}"
    return send_file(store.path_of(submission.storage_key), mimetype="application/pdf", as_attachment=True,
                     download_name=name)


@bp.post("/milestones/<int:milestone_id>/extension")
@login_required
def request_extension(milestone_id: int):
    milestone = get_or_404(Milestone, milestone_id)
    require(milestone.cohort.is_student(current_user), "Only the cohort's students ask for extensions.")
    form = ExtensionRequestForm()
    if not form.validate_on_submit():
        return _page(milestone, status=422, extension_form=form)
    upload = form.evidence.data
    try:
        if once.claim(form.form_token.data, current_user) is not None:
            flash("That form was already sent: your request is below.", "info")
            return redirect(url_for(".milestone", milestone_id=milestone.id))
        extensions.request_extension(milestone, current_user, reason=form.reason.data,
                                     evidence=upload.stream if upload and upload.filename else None,
                                     evidence_name=upload.filename if upload else "", by=current_user)
    except DomainError as exc:
        db.session.rollback()
        target = form.evidence if isinstance(exc, UploadRejected) else form.reason
        target.errors = list(target.errors) + [exc.message]
        return _page(milestone, status=exc.status_code, extension_form=form)
    db.session.commit()
    flash("Your request is sent; the coordinator decides and you will be notified.", "success")
    return redirect(url_for(".milestone", milestone_id=milestone.id))
