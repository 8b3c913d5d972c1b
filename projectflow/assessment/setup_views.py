"""Setting marking up: the cohort's marking rules page, components and their rubrics (edit, new
version once frozen, copy from an earlier cohort)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import SelectChoice

from ..cohorts.models import Cohort
from ..core.auth import get_or_404
from ..core.errors import DomainError
from ..core.forms import show_error
from ..extensions import db
from ..milestones.services import milestones_of
from . import setup
from .models import BANDS, Component
from .services import components_of
from .setup_forms import CopyForm, RulesForm, component_values, components_form, criterion_drafts, rubric_form
from .views import _managed, bp  # (routes of this module join the assessment blueprint)


def _rules_page(cohort: Cohort, *, rules_form: RulesForm | None = None, comp_form=None, copy_form=None,
                status: int = 200, differences: list[str] | None = None, problem: str = ""):
    components = components_of(cohort)
    if rules_form is None:
        rules_form = RulesForm(formdata=None)
        rules_form.fill(setup.rules_or_defaults(cohort))
    if comp_form is None:
        comp_form = components_form(components, milestones_of(cohort))
        comp_form.shown.data = setup.components_digest(components)
    sources = setup.copy_sources(cohort, current_user)
    if copy_form is None:
        copy_form = CopyForm(formdata=None)
    copy_form.source.choices = [SelectChoice("", "Choose a cohort")] + [SelectChoice(str(c.id), c.title) for c in sources]
    return render_template(
        "assessment/rules.html", cohort=cohort, form=rules_form, comp_form=comp_form, copy_form=copy_form,
        components=components, opened=setup.sheets_opened(components), sources=sources,
        begun=setup.marks_in(cohort), marked=setup.marks_given(cohort), released=setup._released(cohort),
        weights=sum(c.weight for c in components), differences=differences or [], problem=problem), status


@bp.route("/cohorts/<int:cohort_id>/marking/rules", methods=["GET", "POST"])
@login_required
def rules(cohort_id: int):
    """The cohort's marking rules, its components and the way to copy another cohort's rubrics."""
    cohort = _managed(cohort_id)
    if request.method == "GET":
        return _rules_page(cohort)
    form = RulesForm()
    if not form.validate():
        return _rules_page(cohort, rules_form=form, status=422, problem="Some rules need correcting; nothing was saved.")
    try:
        changes = setup.save_rules(cohort, form.values(), shown_version=form.shown_version(), by=current_user)
    except setup.ChangedMeanwhile as exc:
        db.session.rollback()
        form.version.data = str(setup.rules_or_defaults(cohort).version or "")  # saving again keeps yours
        return _rules_page(cohort, rules_form=form, status=409, differences=exc.differences, problem=exc.message)
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc, "agree_within")
        return _rules_page(cohort, rules_form=form, status=exc.status_code, problem=exc.message)
    db.session.commit()
    flash(f"Marking rules saved: {'; '.join(changes)}." if changes else "Nothing changed in the marking rules.",
          "success")
    return redirect(url_for(".rules", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/marking/components")
@login_required
def save_components(cohort_id: int):
    cohort = _managed(cohort_id)
    form = components_form(components_of(cohort), milestones_of(cohort), formdata=request.form)
    if not form.validate():
        return _rules_page(cohort, comp_form=form, status=422, problem="Some components need correcting; nothing "
                                                                       "was saved.")
    try:
        changes = setup.save_components(cohort, component_values(form), shown=form.shown.data or "", by=current_user)
    except setup.ChangedMeanwhile as exc:
        db.session.rollback()
        form.shown.data = setup.components_digest(components_of(cohort))
        return _rules_page(cohort, comp_form=form, status=409, differences=exc.differences, problem=exc.message)
    except DomainError as exc:
        db.session.rollback()
        if exc.field and exc.field in form:
            form[exc.field].errors.append(exc.message)
        return _rules_page(cohort, comp_form=form, status=exc.status_code, problem=exc.message)
    db.session.commit()
    flash(f"Components saved: {'; '.join(changes)}." if changes else "Nothing changed in the components.", "success")
    return redirect(url_for(".rules", cohort_id=cohort.id, _anchor="components"))


@bp.post("/cohorts/<int:cohort_id>/marking/copy")
@login_required
def copy_rubrics(cohort_id: int):
    cohort = _managed(cohort_id)
    form = CopyForm()
    form.source.choices = [SelectChoice(str(c.id), c.title) for c in setup.copy_sources(cohort, current_user)]
    if not form.validate():
        return _rules_page(cohort, copy_form=form, status=422,
                           problem="Choose one of the cohorts you run to copy from; nothing was copied.")
    source = get_or_404(Cohort, int(form.source.data))
    try:
        copied = setup.copy_marking(cohort, source, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        form.source.errors.append(exc.message)
        return _rules_page(cohort, copy_form=form, status=exc.status_code, problem=exc.message)
    db.session.commit()
    flash(f"Copied from {source.title}: " + ", ".join(f"{c.title} {c.weight}%" for c in copied) + "."
          if copied is not None else f"The components and rubrics are the same as {source.title}'s already.",
          "success")
    return redirect(url_for(".rules", cohort_id=cohort.id, _anchor="components"))


# --- a component's rubric ------------------------------------------------------------------------

def _component(cohort: Cohort, component_id: int) -> Component:
    component = get_or_404(Component, component_id)
    if component.cohort_id != cohort.id:
        abort(404, description="That component belongs to another cohort.")
    return component


def _rubric_page(component: Component, form, status: int = 200, differences: list[str] | None = None,
                 problem: str = ""):
    uses = setup.rubric_uses(component)
    current = uses[0] if uses else None
    return render_template("assessment/rubric.html", cohort=component.cohort, component=component, form=form,
                           uses=uses, current=current, bands=BANDS, differences=differences or [],
                           problem=problem), status


@bp.route("/cohorts/<int:cohort_id>/marking/components/<int:component_id>/rubric", methods=["GET", "POST"])
@login_required
def rubric(cohort_id: int, component_id: int):
    """A component's rubric: its criteria, weights and band descriptors; a new version once frozen."""
    component = _component(_managed(cohort_id), component_id)
    current = component.current_rubric
    if request.method == "GET":
        form = rubric_form(component, current)
        form.shown.data = setup.rubric_digest(current)
        return _rubric_page(component, form)
    form = rubric_form(component, current, formdata=request.form)
    if not form.validate():
        return _rubric_page(component, form, 422, problem="Some criteria need correcting; nothing was saved.")
    try:
        saved = setup.save_rubric(component, criterion_drafts(form), shown=form.shown.data or "", by=current_user)
    except setup.ChangedMeanwhile as exc:
        db.session.rollback()
        form.shown.data = setup.rubric_digest(component.current_rubric)
        return _rubric_page(component, form, 409, exc.differences, exc.message)
    except DomainError as exc:
        db.session.rollback()
        name = exc.field if exc.field and exc.field in form else None
        if name:
            form[name].errors.append(exc.message)
        return _rubric_page(component, form, exc.status_code, problem=exc.message)
    db.session.commit()
    flash(saved.summary(component) if saved else "Nothing changed in the rubric.", "success")
    return redirect(url_for(".rubric", cohort_id=component.cohort_id, component_id=component.id))
