"""The posters blueprint: sessions and rooms, availability, the schedule and the day's programme."""

from __future__ import annotations

from flask import Blueprint

from . import models  # noqa: F401 (the tables)

bp = Blueprint("posters", __name__)
