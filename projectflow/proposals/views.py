"""Proposal pages: staff projects, student proposals, the approval queue, catalogue and preferences."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..cohorts.access import cohort_for
from ..cohorts.models import Cohort
from ..core import clock, once
from ..core.auth import get_or_404, require, roles_required
from ..core.errors import DomainError, ValidationFailed
from ..core.forms import as_page, page_number, search_text
from ..core.ids import as_id
from ..core.web import same_site_path
from ..extensions import db
from ..people.models import ADMIN, COORDINATOR, STAFF, STUDENT, User
from . import preferences, queries, services
from .forms import (ActionForm, DecisionForm, LoadLimitForm, PreferenceSettingsForm, PreferencesForm, ProjectForm,
                    ProposalForm)
from .models import STATE_LABELS, STATES, Project

bp = Blueprint("proposals", __name__)

# Coordinator decisions and supervisor answers: route name -> (service call, success message).
DECISIONS = {
    "approve": (lambda p, c: services.approve_project(p, by=current_user, comment=c), "Approved."),
    "request-changes": (lambda p, c: services.request_changes(p, by=current_user, comment=c),
                        "Returned for changes; the author is told."),
    "reject": (lambda p, c: services.reject_project(p, by=current_user, comment=c), "Rejected."),
    "accept": (lambda p, c: services.respond_as_supervisor(p, accept=True, by=current_user, comment=c),
               "Accepted: it now awaits the coordinator's approval."),
    "decline": (lambda p, c: services.respond_as_supervisor(p, accept=False, by=current_user, comment=c),
                "Declined; the student is told."),
    "withdraw": (lambda p, c: services.withdraw_project(p, by=current_user, reason=c),
                 "Withdrawn; students who ranked it are told."),
}


def _cohort_for(cohort_id: int, *, manage: bool = False) -> Cohort:
    return cohort_for(cohort_id, manage=manage, refused="Only this cohort's coordinators can see that.")


def _project_form(cohort: Cohort, **kw) -> ProjectForm:
    form = ProjectForm(**kw)
    form.co_supervisors.choices = [SelectChoice(s.user_id, s.member.name) for s in
                                   sorted(cohort.staff, key=lambda s: s.member.name.lower())
                                   if s.user_id != current_user.id and s.member.staff_profile is not None]
    return form


def _proposal_form(cohort: Cohort, **kw) -> ProposalForm:
    form = ProposalForm(**kw)
    form.supervisor.choices = [SelectChoice("", "Choose the supervisor you asked")] + [
        SelectChoice(s.user_id, s.member.name) for s in sorted(cohort.staff, key=lambda s: s.member.name.lower())
        if s.member.staff_profile is not None and s.member.is_active]
    return form


# --- staff: my projects, new, edit ----------------------------------------------------------------

@bp.get("/cohorts/<int:cohort_id>/my-projects")
@roles_required(STAFF)
def my_projects(cohort_id: int):
    cohort = _cohort_for(cohort_id)
    member = cohort.staff_member(current_user)
    require(member is not None, "You are not staff of this cohort.")
    load = services.supervisor_load(cohort, member)
    return render_template("proposals/my_projects.html", cohort=cohort, load=load,
                           projects=queries.projects_of(cohort, owner=current_user))


@bp.route("/cohorts/<int:cohort_id>/projects/new", methods=["GET", "POST"])
@roles_required(STAFF)
def new_project(cohort_id: int):
    cohort = _cohort_for(cohort_id)
    form = _project_form(cohort)
    if form.validate_on_submit():
        try:
            earlier = once.claim(form.form_token.data, current_user)
            if earlier is not None:
                flash("That form was already sent: this is the draft it made.", "info")
                return redirect(url_for(".show", project_id=earlier.object_id) if earlier.object_id
                                else url_for(".my_projects", cohort_id=cohort.id))
            project = services.create_project(cohort, owner=current_user, values=form.values(),
                                              co_supervisor_ids=form.co_supervisors.data or [], by=current_user)
            once.made(form.form_token.data, project)
        except DomainError as exc:
            db.session.rollback()
            form.title.errors.append(exc.message)
        else:
            db.session.commit()
            flash("Draft saved. Submit it for approval when it is ready.", "success")
            return redirect(url_for(".show", project_id=project.id))
    return render_template("proposals/project_form.html", form=form, cohort=cohort, project=None), \
        422 if form.errors else 200


@bp.route("/cohorts/<int:cohort_id>/proposal/new", methods=["GET", "POST"])
@roles_required(STUDENT)
def new_proposal(cohort_id: int):
    cohort = _cohort_for(cohort_id)
    form = _proposal_form(cohort)
    if form.validate_on_submit():
        try:
            project = services.propose_project(cohort, student=current_user, supervisor_id=form.supervisor.data,
                                               values=form.values())
        except DomainError as exc:
            db.session.rollback()
            form.title.errors.append(exc.message)
            return render_template("proposals/proposal_form.html", form=form, cohort=cohort, project=None), \
                exc.status_code  # 409 for a student who has a proposal already
        else:
            db.session.commit()
            flash("Draft saved. Send it to the supervisor when it is ready.", "success")
            return redirect(url_for(".show", project_id=project.id))
    return render_template("proposals/proposal_form.html", form=form, cohort=cohort, project=None), \
        422 if form.errors else 200


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@roles_required(STAFF, STUDENT)
def edit(project_id: int):
    project = get_or_404(Project, project_id)
    require(project.can_edit(current_user), "You cannot edit this project now.")
    cohort = project.cohort
    if project.is_self_proposal:
        form = _proposal_form(cohort, obj=project)
        if request.method == "GET":
            form.supervisor.data = project.owner_id
    else:
        form = _project_form(cohort, obj=project)
        if request.method == "GET":
            form.co_supervisors.data = [u.id for u in project.co_supervisors]
    if form.validate_on_submit():
        try:
            if project.is_self_proposal and form.supervisor.data != project.owner_id:
                services.change_proposed_supervisor(project, form.supervisor.data, by=current_user)
            services.update_project(project, form.values(), by=current_user,
                                    co_supervisor_ids=None if project.is_self_proposal else form.co_supervisors.data)
        except DomainError as exc:
            db.session.rollback()
            form.title.errors.append(exc.message)
        else:
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for(".show", project_id=project.id))
    template = "proposals/proposal_form.html" if project.is_self_proposal else "proposals/project_form.html"
    return render_template(template, form=form, cohort=cohort, project=project), 422 if form.errors else 200


# --- one project and its transitions --------------------------------------------------------------

def _render_show(project: Project, decision_form: DecisionForm | None = None, open_decision: str = ""):
    cohort = project.cohort
    sees_counts = cohort.can_manage(current_user) or current_user.id in project.supervisor_ids()
    return render_template(
        "proposals/show.html", project=project, cohort=cohort,
        decision_form=decision_form or DecisionForm(), open_decision=open_decision, action_form=ActionForm(),
        bookmarked=project.id in preferences.bookmarked_ids(current_user, cohort),
        ranked_by=len(services.students_who_ranked(project)) if sees_counts else None)


@bp.get("/projects/<int:project_id>")
@roles_required(STUDENT, STAFF, COORDINATOR, ADMIN)
def show(project_id: int):
    project = get_or_404(Project, project_id)
    require(project.can_view(current_user), "This project is not open to you.")
    return _render_show(project)


@bp.post("/projects/<int:project_id>/submit")
@roles_required(STAFF, STUDENT)
def submit(project_id: int):
    project = get_or_404(Project, project_id)
    services.submit_project(project, by=current_user)
    db.session.commit()
    flash("Sent to the supervisor." if project.is_self_proposal else "Submitted for approval.", "success")
    return redirect(url_for(".show", project_id=project.id))


@bp.post("/projects/<int:project_id>/<any(" + ", ".join(f'"{d}"' for d in DECISIONS) + "):decision>")
@roles_required(STAFF, COORDINATOR, ADMIN)
def decide(project_id: int, decision: str):
    project = get_or_404(Project, project_id)
    require(project.can_view(current_user), "This project is not open to you.")
    require(project.can_take_step(decision, current_user), "That step on this project is not yours to take.")
    form = DecisionForm()
    if not form.validate_on_submit():
        return _render_show(project, decision_form=form, open_decision=decision), 422
    call, message = DECISIONS[decision]
    try:
        call(project, form.comment.data or "")
    except ValidationFailed as exc:
        # A missing comment: show the page again with the message next to the comment box.
        db.session.rollback()
        form.comment.errors.append(exc.message)
        return _render_show(project, decision_form=form, open_decision=decision), 422
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".show", project_id=project.id))


@bp.post("/projects/<int:project_id>/bookmark")
@roles_required(STUDENT)
def bookmark(project_id: int):
    project = get_or_404(Project, project_id)
    # The button says what it makes ("1": bookmark, "0": remove), so the same click sent twice does
    # it once; a request without it toggles.
    wanted = {"1": True, "0": False}.get(request.form.get("bookmarked", ""))
    now_marked = preferences.set_bookmark(project, current_user, wanted)
    db.session.commit()
    flash(f"“{project.title}” {'bookmarked' if now_marked else 'removed from bookmarks'}.", "success")
    return redirect(same_site_path(request.form.get("next")) or url_for(".show", project_id=project.id))


# --- the coordinator's queue ----------------------------------------------------------------------

@bp.get("/cohorts/<int:cohort_id>/proposals")
@roles_required(COORDINATOR, ADMIN)
def queue(cohort_id: int):
    cohort = _cohort_for(cohort_id, manage=True)
    state = request.args.get("state", "submitted")
    if state not in STATES and state != "all":
        state = "submitted"
    return render_template("proposals/queue.html", cohort=cohort, state=state, labels=STATE_LABELS,
                           counts=queries.state_counts(cohort),
                           projects=queries.projects_of(cohort, state="" if state == "all" else state),
                           now=clock.now())


# --- the catalogue and preferences ---------------------------------------------------------------

@bp.get("/cohorts/<int:cohort_id>/catalogue")
@roles_required(STUDENT, STAFF, COORDINATOR, ADMIN)
def catalogue(cohort_id: int):
    cohort = _cohort_for(cohort_id)
    args = request.args
    filters = {"q": search_text("q"), "keyword": args.get("keyword") or "",
               "supervisor": args.get("supervisor", type=as_id), "external": args.get("external") or "",
               "bookmarked": args.get("bookmarked") == "1"}
    query = queries.catalogue_query(
        cohort, q=filters["q"], keyword=filters["keyword"], supervisor_id=filters["supervisor"],
        external=filters["external"], bookmarked_by=current_user if filters["bookmarked"] else None)
    page = db.paginate(query, page=page_number(), per_page=25, error_out=False)
    plist = preferences.preference_list(cohort, current_user)
    return render_template("proposals/catalogue.html", cohort=cohort, page=page, filters=filters,
                           keywords=queries.catalogue_keywords(cohort),
                           supervisors=queries.catalogue_supervisors(cohort),
                           bookmarked=preferences.bookmarked_ids(current_user, cohort),
                           ranked={c.project_id: c.rank for c in plist.choices} if plist else {},
                           action_form=ActionForm(), is_student=cohort.is_student(current_user))


def _preferences_page(cohort, student, *, ranked_ids, version, status=200, editing_for=None, unsaved=False,
                      q: str = "", page: int = 1):
    # Only what the student may rank is shown, whatever ids were sent (the view has said why).
    ranked, _refused = preferences.projects_for_list(cohort, student, ranked_ids)
    plist = preferences.preference_list(cohort, student)
    closed_because = cohort.preferences_closed_because(clock.now())
    open_now = closed_because is None
    own = preferences.approved_proposal_of(cohort, student)
    form = PreferencesForm()
    form.version.data = "" if version is None else str(version)  # the version this page shows
    listed = {p.id for p in ranked}
    return render_template(
        "proposals/preferences.html", cohort=cohort, student=student, ranked=ranked,
        plist=plist, own_proposal=own, open_now=(open_now or editing_for is not None) and own is None,
        deadline_passed=not open_now, closed_because=closed_because, editing_for=editing_for, unsaved=unsaved, form=form, q=q,
        marked=preferences.bookmarked_candidates(cohort, student, exclude=listed),
        candidates=preferences.candidate_page(cohort, student, q=q, exclude=listed, page=page)), status


@bp.route("/cohorts/<int:cohort_id>/preferences", methods=["GET", "POST"])
@bp.route("/cohorts/<int:cohort_id>/preferences/<int:student_id>", methods=["GET", "POST"])
@roles_required(STUDENT, COORDINATOR, ADMIN)
def edit_preferences(cohort_id: int, student_id: int | None = None):
    """The ranked list: the student's own, or (with ``student_id``) a coordinator entering one for them.

    Without JavaScript every button (add, up, down, remove, search, a page of candidates) posts the
    whole list and the page comes back with it rearranged but unsaved; with it, moving and removing
    work in the page. Only "Save" stores the list.
    """
    cohort = _cohort_for(cohort_id)
    if student_id is None:
        student = current_user
        require(cohort.is_student(student), "Only students of this cohort rank its projects.")
    else:
        require(cohort.can_manage(current_user), "Only coordinators enter preferences for a student.")
        student = get_or_404(User, student_id)
        require(cohort.is_student(student), "That person is not a student of this cohort.")
    editing_for = student if student_id is not None else None
    plist = preferences.preference_list(cohort, student)
    if request.method == "GET":
        return _preferences_page(cohort, student, ranked_ids=[c.project_id for c in plist.choices] if plist else [],
                                 version=plist.version if plist else None, editing_for=editing_for,
                                 q=(request.args.get("q") or "").strip()[:200],
                                 page=as_page(request.args.get("page")))
    form = PreferencesForm()
    try:
        ranked_ids = [as_id(v) for v in request.form.getlist("choice") if v.strip()]
    except ValueError:
        abort(400, description="The list sent was not a list of projects. Reload the page and try again.")
    version = form.expected_version()
    if not form.validate_on_submit():
        abort(400, description="The form was incomplete. Reload the page and try again.")
    action = request.form.get("action", "save")
    q = (request.form.get("q") or "").strip()[:200]
    verb, _, arg = action.partition(":")
    page = as_page(arg if verb == "page" else request.form.get("page")) if verb != "search" else 1
    wanted = ranked_ids if action == "save" else preferences.rearrange(ranked_ids, action)
    shown = wanted
    try:
        preferences.check_can_change(cohort, student, by=current_user)
        listed, refused = preferences.projects_for_list(cohort, student, wanted)
        shown = [p.id for p in listed]
        if refused:
            raise ValidationFailed(preferences.NOT_RANKABLE.format(n=refused))
        if action != "save":
            return _preferences_page(cohort, student, ranked_ids=shown, version=version, editing_for=editing_for,
                                     unsaved=shown != [c.project_id for c in plist.choices] if plist else bool(shown),
                                     q=q, page=page)
        preferences.save_preferences(cohort, student, wanted, expected_version=version, by=current_user)
    except (preferences.StaleList, preferences.ListClosed) as exc:
        # Nothing was saved and this page's list is out of date or closed: show the stored one.
        db.session.rollback()
        flash(exc.message, "warning")
        stored = preferences.preference_list(cohort, student)
        return _preferences_page(cohort, student, ranked_ids=[c.project_id for c in stored.choices] if stored else [],
                                 version=stored.version if stored else None, editing_for=editing_for, status=409)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _preferences_page(cohort, student, ranked_ids=shown, version=version, editing_for=editing_for,
                                 unsaved=True, status=exc.status_code, q=q, page=page)
    db.session.commit()
    flash(f"{'Their' if editing_for else 'Your'} preferences are saved"
          + (f" ({len(wanted)} projects)." if wanted else "."), "success")
    if editing_for:
        return redirect(url_for(".overview", cohort_id=cohort.id))
    return redirect(url_for(".edit_preferences", cohort_id=cohort.id))


# --- the coordinator's overview, settings and load limits ----------------------------------------

OVERVIEW_LABEL_WIDTH = 36   # characters of a project's title beside its bar (the chart clips beyond)


@bp.get("/cohorts/<int:cohort_id>/preferences/overview")
@roles_required(COORDINATOR, ADMIN)
def overview(cohort_id: int):
    cohort = _cohort_for(cohort_id, manage=True)
    popularity = preferences.popularity(cohort)
    charted = [r for r in popularity if r.total][:30]
    labels = preferences.short_titles([r.project.title for r in charted], OVERVIEW_LABEL_WIDTH)
    return render_template("proposals/overview.html", cohort=cohort, popularity=popularity,
                           chart=list(zip(charted, labels)),
                           unranked=[r for r in popularity if r.total == 0],
                           missing=preferences.students_without_preferences(cohort),
                           short=[r for r in services.supervisor_loads(cohort) if r.short_of_expected],
                           max_rank=cohort.max_preferences)


@bp.route("/cohorts/<int:cohort_id>/proposal-settings", methods=["GET", "POST"])
@roles_required(COORDINATOR, ADMIN)
def settings(cohort_id: int):
    cohort = _cohort_for(cohort_id, manage=True)
    form = PreferenceSettingsForm(obj=cohort)
    if request.method == "GET" and cohort.preferences_deadline_at:
        form.preferences_deadline.data = cohort.preferences_deadline_at.astimezone(cohort.zone).replace(tzinfo=None)
    if form.validate_on_submit():
        local = form.preferences_deadline.data
        try:
            services.update_preference_settings(
                cohort, by=current_user,
                deadline=local.replace(tzinfo=cohort.zone) if local else None,
                min_preferences=form.min_preferences.data, max_preferences=form.max_preferences.data,
                max_choices_per_supervisor=form.max_choices_per_supervisor.data,
                project_keywords=form.project_keywords.data)
        except DomainError as exc:
            db.session.rollback()
            form.preferences_deadline.errors.append(exc.message)
        else:
            db.session.commit()
            flash("Settings saved.", "success")
            return redirect(url_for(".queue", cohort_id=cohort.id))
    return render_template("proposals/settings.html", cohort=cohort, form=form), 422 if form.errors else 200


@bp.route("/cohorts/<int:cohort_id>/supervisors", methods=["GET", "POST"])
@roles_required(COORDINATOR, ADMIN)
def supervisors(cohort_id: int):
    cohort = _cohort_for(cohort_id, manage=True)
    form = LoadLimitForm()
    status = 200
    if form.validate_on_submit():
        member = next((s for s in cohort.staff if s.user_id == request.form.get("user_id", type=int)), None)
        if member is None:
            abort(404, description="That person is not staff of this cohort.")
        services.set_load_limit(member, form.load_limit.data, by=current_user)
        db.session.commit()
        flash(f"Load limit of {member.member.name} saved.", "success")
        return redirect(url_for(".supervisors", cohort_id=cohort.id))
    if form.is_submitted():
        flash("A load limit is a whole number from 0 to 50, or empty.", "danger")
        status = 422
    return render_template("proposals/supervisors.html", cohort=cohort, loads=services.supervisor_loads(cohort),
                           form=form), status
