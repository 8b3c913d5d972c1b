"""Timeline pages: the coordinator's timeline editor, the student's own timeline, a milestone's page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from ..cohorts.access import cohort_for
from ..cohorts.models import Cohort
from ..core import clock, once, sheets
from ..core.auth import get_or_404, require
from ..core.errors import DomainError
from ..core.forms import show_error
from ..extensions import db
from ..people.models import User
from . import extensions, progress, services
from . import timeline as chart_layout  # (the view below is called timeline)
from .forms import ClosuresForm, DecisionForm, DirectGrantForm, MilestoneForm
from .models import Extension, Milestone

bp = Blueprint("milestones", __name__)


def _cohort(cohort_id: int, *, manage: bool = False) -> Cohort:
    return cohort_for(cohort_id, manage=manage, refused="Only this cohort's coordinators can change its timeline.")


def _values(form: MilestoneForm, cohort: Cohort) -> dict:
    def utc(local):
        return services.local_deadline(local.date(), local.time(), cohort.zone) if local else None

    return {"title": form.title.data or "", "kind": form.kind.data, "phase": form.phase.data,
            "description": form.description.data or "", "due_at": utc(form.due.data),
            "cutoff_at": utc(form.cutoff.data), "needs_file": bool(form.needs_file.data),
            "is_assessed": bool(form.is_assessed.data), "components": list(form.components.data or []),
            "non_working_day_confirmed": bool(form.non_working_day_confirmed.data)}


def _show(form: MilestoneForm, exc: DomainError) -> None:
    # The service names the model's fields; the form calls the two dates due and cutoff.
    exc.field = {"due_at": "due", "cutoff_at": "cutoff"}.get(exc.field, exc.field)
    show_error(form, exc, "title")


def _chart(cohort: Cohort) -> chart_layout.Chart:
    """The cohort's milestones as the timeline chart shows them to its coordinator."""
    return chart_layout.chart(cohort, [chart_layout.Entry(m.title, m.due_at.astimezone(cohort.zone).date(), item=m)
                                   for m in services.milestones_of(cohort)],
                          today=clock.now().astimezone(cohort.zone).date())


@bp.get("/cohorts/<int:cohort_id>/timeline")
@login_required
def timeline(cohort_id: int):
    cohort = _cohort(cohort_id, manage=True)
    closures = ClosuresForm(obj=cohort)
    closures.closures.data = "\n".join(", ".join(c) for c in cohort.closures or [])  # (obj would give the list)
    return render_template("milestones/timeline.html", cohort=cohort, milestones=services.milestones_of(cohort),
                           action_form=FlaskForm(), closures_form=closures, chart=_chart(cohort))


@bp.post("/cohorts/<int:cohort_id>/timeline/from-template")
@login_required
def from_template(cohort_id: int):
    cohort = _cohort(cohort_id, manage=True)
    if not FlaskForm().validate_on_submit():
        flash("The form had expired: try again.", "danger")
        return redirect(url_for(".timeline", cohort_id=cohort.id))
    created = services.create_timeline(cohort, by=current_user)
    db.session.commit()
    flash(f"Timeline created with {len(created)} milestones from the typical year; adjust any of them.", "success")
    return redirect(url_for(".timeline", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/timeline/closures")
@login_required
def closures(cohort_id: int):
    cohort = _cohort(cohort_id, manage=True)
    form = ClosuresForm()
    if form.validate_on_submit():
        try:
            services.set_closures(cohort, form.closures.data or "", by=current_user)
            services.set_limits(cohort, extension_max_working_days=form.extension_max_working_days.data,
                                meeting_gap_part_time_weeks=form.meeting_gap_part_time_weeks.data,
                                meeting_gap_full_time_weeks=form.meeting_gap_full_time_weeks.data, by=current_user)
        except DomainError as exc:
            db.session.rollback()
            form.closures.errors.append(exc.message)
        else:
            db.session.commit()
            flash("Timeline settings saved.", "success")
            return redirect(url_for(".timeline", cohort_id=cohort.id))
    return render_template("milestones/timeline.html", cohort=cohort, milestones=services.milestones_of(cohort),
                           action_form=FlaskForm(), closures_form=form, chart=_chart(cohort)), 422


@bp.route("/cohorts/<int:cohort_id>/timeline/new", methods=["GET", "POST"])
@login_required
def new_milestone(cohort_id: int):
    cohort = _cohort(cohort_id, manage=True)
    form = MilestoneForm()
    if form.validate_on_submit():
        try:
            milestone = services.add_milestone(cohort, _values(form, cohort), by=current_user)
        except DomainError as exc:
            db.session.rollback()
            _show(form, exc)
        else:
            db.session.commit()
            flash(f"“{milestone.title}” added.", "success")
            return redirect(url_for(".timeline", cohort_id=cohort.id))
    return render_template("milestones/milestone_form.html", cohort=cohort, form=form, milestone=None), \
        422 if form.errors else 200




@bp.route("/milestones/<int:milestone_id>/edit", methods=["GET", "POST"])
@login_required
def edit_milestone(milestone_id: int):
    milestone = get_or_404(Milestone, milestone_id)
    cohort = _cohort(milestone.cohort_id, manage=True)
    form = MilestoneForm(obj=milestone)
    if not form.is_submitted():
        form.due.data = milestone.due_at.astimezone(cohort.zone).replace(tzinfo=None)
        form.cutoff.data = milestone.cutoff_at.astimezone(cohort.zone).replace(tzinfo=None) \
            if milestone.cutoff_at else None
    if form.validate_on_submit():
        try:
            services.update_milestone(milestone, _values(form, cohort), by=current_user)
        except DomainError as exc:
            db.session.rollback()
            _show(form, exc)
        else:
            db.session.commit()
            flash(f"“{milestone.title}” saved.", "success")
            return redirect(url_for(".timeline", cohort_id=cohort.id))
    return render_template("milestones/milestone_form.html", cohort=cohort, form=form, milestone=milestone,
                           delete_form=FlaskForm(), kept_because=services.why_not_removable(milestone)), \
        422 if form.errors else 200


@bp.post("/milestones/<int:milestone_id>/delete")
@login_required
def delete_milestone(milestone_id: int):
    milestone = get_or_404(Milestone, milestone_id)
    cohort = _cohort(milestone.cohort_id, manage=True)
    if not FlaskForm().validate_on_submit():
        flash("The form had expired: try again.", "danger")
        return redirect(url_for(".edit_milestone", milestone_id=milestone.id))
    title = milestone.title
    services.delete_milestone(milestone, by=current_user)
    db.session.commit()
    flash(f"“{title}” removed.", "success")
    return redirect(url_for(".timeline", cohort_id=cohort.id))


@bp.get("/cohorts/<int:cohort_id>/my-timeline")
@login_required
def my_timeline(cohort_id: int):
    cohort = _cohort(cohort_id)
    require(cohort.is_student(current_user), "The timeline page is a student's own; staff see the progress grid.")
    rows = progress.student_rows(cohort, current_user)
    now = clock.now()
    entries = [chart_layout.Entry(r.milestone.title, r.due_at.astimezone(cohort.zone).date(), r.label, r.state, r)
               for r in rows]
    return render_template("milestones/my_timeline.html", cohort=cohort, rows=rows, now=now,
                           chart=chart_layout.chart(cohort, entries, today=now.astimezone(cohort.zone).date()),
                           next_due=progress.next_due(rows))


def _grid_students(cohort: Cohort):
    """The students whose progress the current user sees (the grid's rows and its export's), how
    they see each of them (a name, or a candidate number: ``matching.anonymity``), and whether they
    manage the cohort."""
    from ..matching import anonymity
    from ..matching.services import students_of

    manage = cohort.can_manage(current_user)
    require(manage or cohort.staff_member(current_user) is not None, "The progress grid is for staff.")
    names = anonymity.names_for(cohort, current_user)
    if manage:
        return sorted((e.student for e in cohort.enrolments), key=lambda u: u.name.lower()), names, True
    # Their supervised students and, once published, the students whose work they second-mark:
    # a granted extension must be visible to every marker.
    from ..matching.second_markers import marked_by

    mine = {a.student.id: a.student for a in students_of(cohort, current_user) + marked_by(cohort, current_user)}
    return sorted(mine.values(), key=names.sort_key), names, False


@bp.get("/cohorts/<int:cohort_id>/progress")
@login_required
def progress_grid(cohort_id: int):
    """Students x milestones at a glance: a supervisor's own students; every student for a coordinator."""
    from ..matching.queries import published_allocations

    cohort = _cohort(cohort_id)
    students, names, manage = _grid_students(cohort)
    milestones = services.milestones_of(cohort)
    grid = progress.statuses(cohort, [s.id for s in students])
    supervisors = published_allocations(cohort) if manage else {}
    return render_template("milestones/progress.html", cohort=cohort, students=students, names=names,
                           milestones=milestones, grid=grid, manage=manage, supervisors=supervisors,
                           labels=progress.LABELS, badges=progress.BADGES)


@bp.get("/cohorts/<int:cohort_id>/progress.<any(csv, xlsx):fmt>")
@login_required
def progress_export(cohort_id: int, fmt: str):
    """The progress grid as a spreadsheet: the same rows as the page (columns: README, "Exports")."""
    cohort = _cohort(cohort_id)
    students, names, _ = _grid_students(cohort)
    columns, rows = progress.table(cohort, students, names)
    return sheets.download(columns, rows, fmt, f"{cohort.programme_code}-{cohort.academic_year}-progress",
                           title="Progress", zone=cohort.zone)


# --- extensions ----------------------------------------------------------------------------------

def _direct_form(cohort: Cohort, **kw) -> DirectGrantForm:
    form = DirectGrantForm(**kw)
    form.student.choices = [SelectChoice(e.user_id, f"{e.student.name} ({e.candidate_number})")
                            for e in sorted(cohort.enrolments, key=lambda e: e.student.name.lower())]
    form.milestone.choices = [SelectChoice(m.id, m.title) for m in services.milestones_of(cohort)]
    return form


def _render_queue(cohort: Cohort, direct_form: DirectGrantForm | None = None, status: int = 200):
    queue = extensions.queue(cohort)
    # Next to every "working days" figure, the calendar it counts on: what each number of days
    # gives, and the days that do not count.
    calendar = services.working_calendar(cohort)
    previews = {}
    for e in queue:
        if e.state == "requested":
            options = [(n, extensions.new_deadline(e.milestone, n))
                       for n in range(1, cohort.extension_max_working_days + 1)]
            first = e.milestone.due_at.astimezone(cohort.zone).date()
            skipped = calendar.non_working_days(first, options[-1][1].astimezone(cohort.zone).date())
            previews[e.id] = (options, skipped)
    return render_template("milestones/extensions.html", cohort=cohort, extensions=queue, previews=previews,
                           decision_form=DecisionForm(), direct_form=direct_form or _direct_form(cohort),
                           now=clock.now()), status


@bp.get("/cohorts/<int:cohort_id>/extensions")
@login_required
def extension_queue(cohort_id: int):
    return _render_queue(_cohort(cohort_id, manage=True))


@bp.post("/extensions/<int:extension_id>/decide")
@login_required
def decide_extension(extension_id: int):
    extension = get_or_404(Extension, extension_id)
    cohort = _cohort(extension.milestone.cohort_id, manage=True)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash("An extension is a whole number of working days.", "danger")
        return _render_queue(cohort, status=422)
    try:
        if form.decision.data == "grant":
            extensions.grant(extension, working_days=form.working_days.data or 0, note=form.note.data or "",
                             by=current_user)
        elif form.decision.data == "refuse":
            extensions.refuse(extension, note=form.note.data or "", by=current_user)
        else:
            extensions.refer(extension, note=form.note.data or "", by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(f"Not decided: {exc.message}", "danger")
        return _render_queue(cohort, status=exc.status_code)
    db.session.commit()
    flash(f"Extension of {extension.student.name} {extension.state_label.lower()}; they are notified.", "success")
    return redirect(url_for(".extension_queue", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/extensions/direct")
@login_required
def grant_directly(cohort_id: int):
    cohort = _cohort(cohort_id, manage=True)
    form = _direct_form(cohort)
    if form.validate_on_submit():
        milestone = get_or_404(Milestone, form.milestone.data)
        if milestone.cohort_id != cohort.id:
            abort(404)
        try:
            if once.claim(form.form_token.data, current_user) is not None:
                flash("That form was already sent: the extension it granted is in the list.", "info")
                return redirect(url_for(".extension_queue", cohort_id=cohort.id))
            extensions.grant_directly(milestone, get_or_404(User, form.student.data),
                                      working_days=form.working_days.data, note=form.note.data, by=current_user)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc, "note")
        else:
            db.session.commit()
            flash("Extension granted; the student is notified.", "success")
            return redirect(url_for(".extension_queue", cohort_id=cohort.id))
    return _render_queue(cohort, form, 422)


@bp.get("/extensions/<int:extension_id>/evidence")
@login_required
def evidence(extension_id: int):
    extension = get_or_404(Extension, extension_id)
    cohort = extension.milestone.cohort
    require(cohort.can_manage(current_user) or current_user.id == extension.student_id,
            "Only the coordinators and the student see the evidence.")
    if not extension.evidence_key:
        abort(404)
    from ..core.storage import file_store

    return send_file(file_store().path_of(extension.evidence_key), mimetype="application/pdf", as_attachment=True,
                     download_name=f"extension-{extension.id}-evidence.pdf")
