"""The reminders blueprint: the coordinator's outbox, each person's message preferences."""

from __future__ import annotations

from flask import Blueprint

from . import models  # noqa: F401 (the tables)

bp = Blueprint("reminders", __name__)
