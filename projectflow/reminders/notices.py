"""Notices: a service tells people of a change in the transaction that makes it, in the app (the bell)
and, as each person chose for notices, by e-mail now, in their digest, or not by e-mail.

A service calls ``notify(people, message, link=...)``; nothing is said if the change rolls back.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core import clock, mail
from ..core.notifications import Notification
from ..core.text import shortened
from ..extensions import db
from .kinds import KINDS, channels_of
from .models import DIGEST, IN_APP


def notify(people: Iterable, message: str, *, link: str | None = None, cohort=None,
           subject: str | None = None, email: bool = True) -> int:
    """Tell each person (deduplicated) ``message``; returns how many were told."""
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
