"""A cohort with students and milestones due in March 2027, and time moved with the clock helper."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from projectflow.core import clock
from projectflow.extensions import db
from projectflow.milestones.models import FULL_TIME, INTERIM_REPORT, Milestone
from projectflow.submissions.models import Submission

DUE = datetime(2027, 3, 10, 16, tzinfo=timezone.utc)  # a Wednesday, 16:00 London (GMT)


@dataclass
class Round:
    cohort: object
    coordinator: object
    students: list
    milestone: Milestone


def add_milestone(cohort, title: str, due: datetime, *, needs_file: bool = True) -> Milestone:
    now = clock.now()
    milestone = Milestone(cohort_id=cohort.id, kind=INTERIM_REPORT, title=title, phase=FULL_TIME, due_at=due,
                          needs_file=needs_file, created_at=now, updated_at=now)
    db.session.add(milestone)
    db.session.commit()
    return milestone


def hand_in(milestone: Milestone, student, at: datetime) -> Submission:
    """A submission row, as the submission service leaves it (the file itself does not matter here)."""
    row = Submission(milestone_id=milestone.id, student_id=student.id, version=1, file_name="report.pdf",
                     storage_key=uuid.uuid4().hex, size=100, sha256="0" * 64, page_count=3, submitted_at=at,
                     submitted_by_id=student.id, deadline_at=milestone.due_at, declaration="own-work",
                     form_token=uuid.uuid4().hex)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def round_(make, cohort, coordinator) -> Round:
    with clock.frozen(datetime(2027, 2, 1, 9, tzinfo=timezone.utc)):
        students = [make.student(cohort, name=n) for n in ("Ann Student", "Ben Student", "Cat Student")]
        milestone = add_milestone(cohort, "Interim report", DUE)
    return Round(cohort, coordinator, students, milestone)
