"""A small cohort whose allocation is known: three projects, two supervisors, four students."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from projectflow.core import jobs
from projectflow.extensions import db
from projectflow.matching import services


@dataclass
class Round:
    cohort: object
    coordinator: object
    lee: object
    kim: object
    p1: object  # Lee, 1 place: everyone's favourite
    p2: object  # Lee, 2 places
    p3: object  # Kim, 1 place
    students: list


@pytest.fixture
def round_(make, cohort, coordinator):
    return build_round(make, cohort, coordinator)


def build_round(make, cohort, coordinator) -> Round:
    cohort.min_preferences = 1
    db.session.commit()
    lee = make.staff(cohort, name="Dr Lee", max_load=2)
    kim = make.staff(cohort, name="Dr Kim", max_load=1)
    p1 = make.project(cohort, owner=lee, title="Graph transformers", capacity=1)
    p2 = make.project(cohort, owner=lee, title="Federated learning", capacity=2)
    p3 = make.project(cohort, owner=kim, title="Protein folding", capacity=1)
    names = ["Ann", "Ben", "Cat", "Dan"]
    students = [make.student(cohort, name=n) for n in names]
    make.preferences(cohort, students[0], [p1, p2, p3])
    make.preferences(cohort, students[1], [p1, p3, p2])
    make.preferences(cohort, students[2], [p1, p2])
    make.preferences(cohort, students[3], [p3, p1])
    return Round(cohort, coordinator, lee, kim, p1, p2, p3, students)


def solve(cohort, by, objective="min-cost", note=""):
    """Start a run and run the job runner once, as `projectflow scheduler` would."""
    run = services.start_run(cohort, objective=objective, note=note, by=by)
    db.session.commit()
    assert jobs.run_pending() >= 1
    db.session.refresh(run)
    return run
