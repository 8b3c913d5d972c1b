"""Each person's own poster slots of the published schedule: the page, the .ics file."""

from __future__ import annotations

import re

from flask import Response, abort, current_app, render_template
from flask_login import current_user, login_required

from ..cohorts.access import cohort_for
from ..cohorts.models import Cohort
from ..core import clock
from ..core.auth import require
from . import ics
from . import mine as my_slots
from .views import bp


def _member(cohort_id: int) -> Cohort:
    cohort = cohort_for(cohort_id)
    require(cohort.is_student(current_user) or cohort.staff_member(current_user) is not None,
            "Poster slots are shown to the cohort's students and staff, each their own.")
    return cohort


@bp.get("/cohorts/<int:cohort_id>/posters/mine")
@login_required
def mine(cohort_id: int):
    """A student's poster slot, or the posters a member of staff assesses, in the published schedule."""
    cohort = _member(cohort_id)
    return render_template("posters/mine.html", cohort=cohort, view=my_slots.mine(cohort, current_user),
                           names=ics.names)


@bp.get("/cohorts/<int:cohort_id>/posters/mine.ics")
@login_required
def mine_ics(cohort_id: int):
    """The same slots as an iCalendar file to import; the calendar feed (``/calendar``) keeps them current."""
    cohort = _member(cohort_id)
    view = my_slots.mine(cohort, current_user)
    if view.schedule is None:
        abort(404, description="The poster schedule is not published yet: there is no slot to add to a calendar.")
    if not view.slots:
        abort(404, description="You have no poster slot in the published schedule: there is nothing to add to a "
                               "calendar.")
    label = f"{cohort.programme_code} {cohort.year_label}"
    body = ics.calendar_of(view.slots, name=f"Poster slots ({label})",
                           base=current_app.config["BASE_URL"].rstrip("/"), now=clock.now())
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    name = re.sub(r"[^A-Za-z0-9-]+", "-", f"poster-slots-{label}")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.ics"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response
