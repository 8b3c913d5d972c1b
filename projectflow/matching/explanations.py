"""The student's explanation of their allocation, in their own words: the engine's reasons
(``solvers.explain``) with the projects named by title."""

from __future__ import annotations

from ..people.models import User
from .models import AllocationRun


def for_student(run: AllocationRun, student: User):
    from ..solvers.explain import explain_student  # noqa: F401  (filled in below)

    raise NotImplementedError
