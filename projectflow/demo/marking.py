"""Last year's marking in the demo: every component open, most pairs agreed automatically, some in
reconciliation or waiting for a third marker, a few sheets still in draft."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from ..assessment import services
from ..assessment.models import FIRST, MarkSheet
from ..cohorts.models import Cohort
from ..core import clock
from ..extensions import db
from ..people.models import User

COMMENTS = ["Clear aims, well placed in the literature.", "A solid technical contribution, carefully evaluated.",
            "The evaluation would gain from a second baseline.", "Well written and well structured.",
            "Worked independently and managed the time well."]


def _marks(sheet: MarkSheet, target: Decimal) -> list[services.CriterionEntry]:
    criteria = sheet.rubric.criteria_for(sheet.role)
    return [services.CriterionEntry(c.id, None, target, COMMENTS[i % len(COMMENTS)]) for i, c in enumerate(criteria)]


def add_marking(cohort: Cohort, coordinator: User, rng: random.Random) -> dict[str, int]:
    """Open marking of every component and have the markers mark, the clock moved to each sheet."""
    year = cohort.academic_year + 1
    with clock.frozen(datetime(year, 9, 14, 9, tzinfo=timezone.utc)):
        components = services.set_up_marking(cohort, by=coordinator)
        for component in components:
            services.open_marking(component, by=coordinator)
        db.session.commit()
    sheets = db.session.scalars(select(MarkSheet).join(MarkSheet.student)
                                .where(MarkSheet.component_id.in_([c.id for c in components]))
                                .order_by(User.name, MarkSheet.component_id, MarkSheet.role)).all()
    quality: dict[int, Decimal] = {}
    counts = {"submitted": 0, "draft": 0}
    at = datetime(year, 9, 20, 10, tzinfo=timezone.utc)
    for index, sheet in enumerate(sheets):
        student_slot = sheet.student_id % 23
        base = quality.setdefault(sheet.student_id, Decimal(rng.randint(48, 82)))
        # Markers differ a little; now and then by enough to reconcile (7) or to need a third marker (12).
        gap = Decimal(0) if sheet.role == FIRST else Decimal(rng.choice([1, 2, 3]))
        if sheet.role != FIRST and sheet.component.key == "report" and student_slot in (3, 11):
            gap = Decimal(7)
        if sheet.role != FIRST and sheet.component.key == "report" and student_slot == 17:
            gap = Decimal(12)
        target = min(Decimal(100), base + gap)
        at += timedelta(minutes=37)
        with clock.frozen(at):
            services.save_sheet(sheet, _marks(sheet, target), overall_comment="A good project, summarised "
                                "in the criteria above.", private_note="", by=sheet.marker)
            if student_slot == 5 and sheet.role != FIRST:
                counts["draft"] += 1  # the second marker has not finished
            else:
                services.submit_sheet(sheet, by=sheet.marker)
                counts["submitted"] += 1
        if index % 50 == 49:
            db.session.commit()
    db.session.commit()
    return counts
