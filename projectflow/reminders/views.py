"""The reminders blueprint: the outbox (a cohort's, for its coordinators; all of it, for administrators),
each person's message preferences."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..cohorts.access import cohort_for
from ..cohorts.models import Cohort
from ..core.auth import roles_required
from ..core.outbox import FAILED, STATE_LABELS, STATES, OutboxMessage
from ..core.errors import DomainError
from ..core.forms import FlaskForm, page_number, show_error
from ..extensions import db
from ..people.models import ADMIN
from . import models  # noqa: F401 (the tables)
from . import queries, services
from .forms import kinds_for, preferences_form

bp = Blueprint("reminders", __name__)


def _preferences_form(**kwargs):
    kinds = kinds_for(current_user)
    return preferences_form(kinds, services.current_channels(current_user, kinds), **kwargs)


@bp.route("/account/messages", methods=["GET", "POST"])
@login_required
def preferences():
    form = _preferences_form()
    if request.method == "GET" or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 422
        return render_template("reminders/preferences.html", form=form), status
    try:
        changed = services.save_preferences(current_user, {k.key: form[k.key].data for k in form.kinds})
    except DomainError as exc:
        db.session.rollback()
        show_error(form, exc, form.kinds[0].key)
        return render_template("reminders/preferences.html", form=form), exc.status_code
    db.session.commit()
    flash("Your message preferences are saved." if changed else "Your message preferences were already so: "
          "nothing changed.", "success")
    return redirect(url_for(".preferences"), 303)


def _state_asked() -> str | None:
    state = request.args.get("state") or None
    if state is not None and state not in STATES:
        abort(400, description="There is no such state of a message: choose one from the list.")
    return state


def _outbox_page(cohort: Cohort | None, scope: dict):
    state = _state_asked()
    view = queries.outbox_page(cohort, state=state, page=page_number())
    return render_template("reminders/outbox.html", cohort=cohort, scope=scope, view=view, state=state,
                           labels=STATE_LABELS, badges=queries.STATE_BADGES, failed=FAILED)


@bp.get("/cohorts/<int:cohort_id>/outbox")
@login_required
def outbox(cohort_id: int):
    cohort = cohort_for(cohort_id, manage=True)
    return _outbox_page(cohort, {"cohort_id": cohort.id})


@bp.get("/admin/outbox")
@roles_required(ADMIN)
def all_outbox():
    """Every message, those of no cohort too (invitations, password resets): the administrator's."""
    return _outbox_page(None, {})


@bp.post("/cohorts/<int:cohort_id>/outbox/<int:message_id>/resend")
@login_required
def resend(cohort_id: int, message_id: int):
    cohort = cohort_for(cohort_id, manage=True)
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.cohort_id != cohort.id:
        abort(404, description="That message is not in this cohort's outbox.")
    return _resend(cohort, message, url_for(".outbox", cohort_id=cohort.id, **_where_it_was()))


@bp.post("/admin/outbox/<int:message_id>/resend")
@roles_required(ADMIN)
def resend_any(message_id: int):
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404, description="There is no such message in the outbox.")
    cohort = db.session.get(Cohort, message.cohort_id) if message.cohort_id is not None else None
    return _resend(cohort, message, url_for(".all_outbox", **_where_it_was()))


def _where_it_was() -> dict:
    """The outbox's filter and page as the person left them, when they were sound."""
    state, page = request.args.get("state"), page_number()
    return {"state": state if state in STATES else None, "page": page if page > 1 else None}


def _resend(cohort: Cohort | None, message: OutboxMessage, back_to: str):
    back = redirect(back_to, 303)
    if not FlaskForm().validate_on_submit():
        abort(400, description="The form had expired: reload the outbox and press Resend again.")
    if services.resend(cohort, message, by=current_user):
        db.session.commit()
        flash(f"“{message.subject}” to {message.to_address} is sent again now (or within a minute, if the mail "
              "server is busy).", "success")
    else:
        db.session.rollback()
        flash(f"Nothing to resend: “{message.subject}” is no longer failed "
              f"({STATE_LABELS[message.state].lower()}).", "info")
    return back
