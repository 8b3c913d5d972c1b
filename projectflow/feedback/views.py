"""The feedback blueprint: feedback forms (student, markers, coordinator), the exam-board mark sheet
and batch generation. Routes of each part live in their own module, imported at the end."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("feedback", __name__)

from . import board_views, form_views  # noqa: E402,F401
from . import batch_views  # noqa: E402,F401
