"""In-app notifications, each optionally mirrored by an e-mail sent after the commit.

A service calls ``notify(people, message, link=...)`` in the transaction of the change it reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from . import clock, mail
from .text import shortened
from .types import UTCDateTime


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def notify(people: Iterable, message: str, *, link: str | None = None, cohort=None,
           subject: str | None = None, email: bool = True) -> int:
    """Tell each person (deduplicated) ``message``; returns how many were told."""
    from ..reminders.kinds import KINDS, channels_of  # people's choices: a domain table, read at the call
    from ..reminders.models import DIGEST, IN_APP

    now = clock.now()
    told = {p.id: p for p in people if p is not None and p.is_active}
    email = email and not mail.is_suppressed()
    channels = channels_of(list(told), "notice") if email and told else {}
    for person in told.values():
        db.session.add(Notification(user_id=person.id, cohort_id=getattr(cohort, "id", None),
                                    message=message, link=link, created_at=now))
        if email and channels[person.id] != IN_APP:
            # A notice its person takes in the digest waits there (held); otherwise it is mailed now.
            mail.queue(mail.build(person.email, subject or "projectflow: " + shortened(message, 60), "notification",
                                  person=person, message=message, link=link, kind=KINDS["notice"]),
                       kind="notice", user_id=person.id, cohort_id=getattr(cohort, "id", None),
                       held=channels[person.id] == DIGEST)
    return len(told)


def unread_count(user) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == user.id, Notification.read_at.is_(None)))
