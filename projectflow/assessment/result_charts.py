"""The charts of a cohort's results (drawn by ``core.charts``): what the coordinator would rather look at
than read."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from ..cohorts.models import Cohort, Enrolment
from ..core import charts
from ..extensions import db
from ..people.models import User
from .agreement import CLASSES
from .models import SUBMITTED, MarkSheet, Result
from .results import components_of, final_of, rules_of



def results_charts(cohort: Cohort) -> list:
    """The coordinator's charts: first against second mark for each double-marked component (with the
    band where they agree automatically), the final marks against the class boundaries, and each
    marker's marks against everyone's. Four queries whatever the cohort's size."""
    components = components_of(cohort)
    rules = rules_of(cohort)
    sheets = db.session.execute(
        select(MarkSheet.component_id, MarkSheet.student_id, MarkSheet.role, MarkSheet.mark, User.name)
        .join(User, User.id == MarkSheet.marker_id)
        .where(MarkSheet.component_id.in_([c.id for c in components]), MarkSheet.state == SUBMITTED,
               MarkSheet.replaced_at.is_(None))).all()
    numbers = dict(db.session.execute(select(Enrolment.user_id, Enrolment.candidate_number)
                                      .where(Enrolment.cohort_id == cohort.id)).all())
    made = []
    for c in components:
        if c.marked_by != "double":
            continue
        by_student: dict[int, dict[str, Decimal]] = {}
        for component_id, student_id, role, mark, _name in sheets:
            if component_id == c.id:
                by_student.setdefault(student_id, {})[role] = mark
        pairs = sorted((f"Candidate {numbers.get(s, s)}", float(m["first"]), float(m["second"]))
                       for s, m in by_student.items() if "first" in m and "second" in m)
        made.append(charts.agreement_scatter(f"scatter-{c.key}", f"{c.title}: first against second mark", pairs,
                                             agree_within=float(rules.agree_within or 5)))
    results = db.session.scalars(select(Result).where(Result.cohort_id == cohort.id, Result.final.is_not(None))).all()
    made.append(charts.distribution("finals", "Final marks and the class boundaries",
                                    sorted(float(final_of(r)) for r in results),
                                    boundaries=[(float(start), name) for name, start in reversed(CLASSES)]))
    by_marker: dict[str, list[float]] = {}
    for _c, _s, _role, mark, name in sheets:
        by_marker.setdefault(name, []).append(float(mark))
    people = [charts.Spread.of(name, marks) for name, marks in sorted(by_marker.items())]
    everyone = charts.Spread.of("Everyone", [float(s.mark) for s in sheets]) if sheets else None
    made.append(charts.spreads("markers", "Each marker's marks against everyone's", people,
                               everyone or charts.Spread("Everyone", 0, 0.0, 0.0)))
    return made
