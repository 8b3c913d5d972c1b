"""The day's programme as a printable PDF: the published one for the cohort's staff and students, and a
coordinators' copy of any schedule with slots (a draft says DRAFT on every page)."""

from __future__ import annotations

from flask import abort
from flask_login import current_user, login_required

from ..cohorts.access import cohort_for
from ..core.auth import get_or_404
from ..core.pdf import pdf_response
from . import programme, schedules
from .models import PosterSchedule
from .views import bp


@bp.get("/cohorts/<int:cohort_id>/posters/programme.pdf")
@login_required
def programme_pdf(cohort_id: int):
    """The published schedule's programme, the same for everyone of the cohort."""
    cohort = cohort_for(cohort_id)
    schedule = schedules.published_schedule(cohort)
    if schedule is None:
        abort(404, description="The poster schedule is not published yet: the programme appears here once the "
                               "coordinators publish it.")
    data, filename = programme.programme_pdf(schedule, public=True)
    return pdf_response(data, filename)


@bp.get("/cohorts/<int:cohort_id>/posters/schedules/<int:schedule_id>/programme.pdf")
@login_required
def schedule_programme_pdf(cohort_id: int, schedule_id: int):
    """A coordinators' copy of one schedule's programme: names as coordinators see them, and the
    posters without a slot."""
    cohort = cohort_for(cohort_id, manage=True,
                        refused="Only the cohort's coordinators print a schedule's programme before it is published.")
    schedule = get_or_404(PosterSchedule, schedule_id)
    if schedule.cohort_id != cohort.id:
        abort(404, description="That poster schedule belongs to another cohort.")
    if not programme.has_slots(schedule):
        abort(404, description=f"{schedules.label(schedule)} has no slots "
                               f"({schedules.STATE_LABELS[schedule.state].lower()}): there is no programme to print.")
    data, filename = programme.programme_pdf(schedule, public=False, reader=current_user)
    return pdf_response(data, filename)
