"""Results: the coordinator's results page with its charts, moderation, release, and the student's
released marks and feedback."""

from __future__ import annotations

from .views import bp  # noqa: F401  (routes of this module join the assessment blueprint)
