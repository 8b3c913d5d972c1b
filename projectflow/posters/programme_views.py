"""The day's programme as a printable PDF."""

from __future__ import annotations

from .views import bp  # noqa: F401
