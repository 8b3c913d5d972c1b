"""Each person's own poster slots of the published schedule: the page, the .ics file."""

from __future__ import annotations

from .views import bp  # noqa: F401
