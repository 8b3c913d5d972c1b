"""Each person's choice, per kind of message, of how it reaches them."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

EMAIL, IN_APP, DIGEST = "email", "in_app", "digest"
CHANNELS = (EMAIL, IN_APP, DIGEST)


class NotificationPreference(db.Model):
    """How messages of one kind reach one person: by e-mail (and in the app), in the app only, or in
    their digest (and in the app). No row: the kind's default."""

    __tablename__ = "notification_preferences"
    __table_args__ = (CheckConstraint(f"channel IN {CHANNELS!r}", name="channel_known"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), default=EMAIL)
