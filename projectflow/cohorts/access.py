"""The one way a page loads its cohort: 404 when there is none, 403 when the signed-in person may not
see it (or manage it, for coordinators' pages)."""

from __future__ import annotations

from flask_login import current_user

from ..core.auth import get_or_404, require
from .models import Cohort


def cohort_for(cohort_id: int, *, manage: bool = False,
               refused: str = "Only this cohort's coordinators can do that.") -> Cohort:
    cohort = get_or_404(Cohort, cohort_id)
    if manage:
        require(cohort.can_manage(current_user), refused)
    else:
        require(cohort.can_view(current_user), "You are not part of this cohort.")
    return cohort
