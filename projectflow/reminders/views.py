"""The reminders blueprint: the coordinator's outbox, each person's message preferences."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..cohorts.access import cohort_for
from ..core.outbox import FAILED, STATE_LABELS, STATES, OutboxMessage
from ..core.errors import DomainError
from ..core.forms import FlaskForm, page_number, show_error
from ..extensions import db
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


@bp.get("/cohorts/<int:cohort_id>/outbox")
@login_required
def outbox(cohort_id: int):
    cohort = cohort_for(cohort_id, manage=True)
    state = _state_asked()
    view = queries.outbox_page(cohort, state=state, page=page_number())
    return render_template("reminders/outbox.html", cohort=cohort, view=view, state=state,
                           labels=STATE_LABELS, badges=queries.STATE_BADGES, failed=FAILED)


@bp.post("/cohorts/<int:cohort_id>/outbox/<int:message_id>/resend")
@login_required
def resend(cohort_id: int, message_id: int):
    cohort = cohort_for(cohort_id, manage=True)
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.cohort_id != cohort.id:
        abort(404, description="That message is not in this cohort's outbox.")
    # Back to the page as the coordinator left it (its filter and page, when they were sound).
    state, page = request.args.get("state"), page_number()
    back = redirect(url_for(".outbox", cohort_id=cohort.id, state=state if state in STATES else None,
                            page=page if page > 1 else None), 303)
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
