"""Calendar feeds: a person's secret iCalendar address for their deadlines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.types import UTCDateTime
from ..extensions import db


class CalendarFeed(db.Model):
    """A person's secret iCalendar address for their deadlines; regenerating it replaces the token."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # The SHA-256 of the token in the address: a leaked database does not give the addresses away.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
