"""Last year's results in the demo: a moderator named, the moderation sample drawn, a few final marks
moderated (one adjusted), the exam board met in October and most results released to the students."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from ..assessment import results
from ..assessment.models import MarkingRules, Result
from ..cohorts.models import Cohort, CohortStaff
from ..core import clock
from ..extensions import db
from ..people.models import User

REASONS = ["Read the report and both sheets: the mark is consistent with the rubric.",
           "Checked against the distinction descriptors: the mark stands.",
           "The fail is supported by both markers' comments; confirmed."]


def add_results(cohort: Cohort, coordinator: User, rng: random.Random) -> dict[str, int]:
    """Moderate and release last year's results, the clock moved to each step (October of the year the
    cohort ends: the exam board on the 21st)."""
    year = cohort.academic_year + 1
    rules = db.session.get(MarkingRules, cohort.id)
    rules.exam_board_on = date(year, 10, 21)
    counts = {"moderated": 0, "adjusted": 0, "released": 0, "provisional": 0}
    with clock.frozen(datetime(year, 10, 12, 10, tzinfo=timezone.utc)):
        # A member of staff who moderates beside the coordinator.
        staff = db.session.scalars(select(CohortStaff).where(CohortStaff.cohort_id == cohort.id,
                                                             CohortStaff.is_coordinator.is_(False))
                                   .order_by(CohortStaff.user_id)).first()
        if staff is not None:
            results.set_moderators(cohort, {staff.user_id}, by=coordinator)
        final = db.session.scalars(select(Result).where(Result.cohort_id == cohort.id, Result.final.is_not(None))
                                   .order_by(Result.student_id)).all()
        if not final:
            db.session.commit()
            return counts
        results.draw_sample(cohort, by=coordinator)
    marked = results.marked_students(cohort, coordinator)
    listed = [r for r in final if (r.in_sample or set(r.flags or []) & set(results.MODERATION_FLAGS))
              and r.student_id not in marked]
    at = datetime(year, 10, 14, 10, tzinfo=timezone.utc)
    for index, result in enumerate(listed[:6]):
        at += timedelta(minutes=rng.randint(20, 50))
        with clock.frozen(at):
            if index == 1:
                # The moderator finds the evaluation under-credited: two points more.
                results.moderate(result, decision=results.ADJUST, mark=min(Decimal(100), result.final + 2),
                                 reason="The evaluation chapter deserved more credit than both markers gave it; "
                                        "raised by two points after reading the report.", by=coordinator)
                counts["adjusted"] += 1
            else:
                results.moderate(result, decision=results.CONFIRM, mark=None, reason=REASONS[index % len(REASONS)],
                                 by=coordinator)
            counts["moderated"] += 1
    db.session.commit()
    # After the exam board, every result is released but a few (held for a late question from the board),
    # one student at a time, as a coordinator would after checking each.
    from .allocation import demo_student_with_explanation

    shown = demo_student_with_explanation()  # the README's last-year student sees their results
    held = {r.student_id for r in [r for r in final if r.student.email != shown][-3:]}
    with clock.frozen(datetime(year, 10, 22, 9, tzinfo=timezone.utc)):
        for result in final:
            if result.student_id in held:
                counts["provisional"] += 1
                continue
            counts["released"] += results.release(cohort, by=coordinator, student=result.student)
    db.session.commit()
    return counts
