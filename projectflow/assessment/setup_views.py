"""Setting marking up: the cohort's marking rules page, components and their rubrics (edit, new
version once frozen, copy from an earlier cohort)."""

from __future__ import annotations

from .views import bp  # noqa: F401  (routes of this module join the assessment blueprint)
