"""Assessment pages: the marker's queue and mark sheets, the coordinator's marking overview."""

from __future__ import annotations

from flask import Blueprint

from . import models  # noqa: F401  (the tables exist wherever the app does)

bp = Blueprint("assessment", __name__)
