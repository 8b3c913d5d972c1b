"""The kinds of message projectflow sends, and how each reaches a person: by e-mail (and in the app), in
the app only, or in their digest (and in the app). Deadline-critical kinds always reach the person's
inbox, on their own or in the digest: they cannot be set to "in the app only"."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from .models import DIGEST, EMAIL, IN_APP, NotificationPreference

CHANNEL_LABELS = {EMAIL: "By e-mail", IN_APP: "In the app only", DIGEST: "In my digest e-mail"}


@dataclass(frozen=True)
class Kind:
    key: str
    label: str  # what the preferences page calls it
    audience: str  # who receives it: students, markers, supervisors, coordinators, everyone (nobody: no choice)
    critical: bool = False  # deadline-critical: never "in the app only"
    default: str = EMAIL

    @property
    def channels(self) -> tuple[str, ...]:
        return (EMAIL, DIGEST) if self.critical else (EMAIL, IN_APP, DIGEST)


KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("deadline", "Reminders before your deadlines", "students", critical=True),
    Kind("overdue", "When a deadline of yours has passed without a submission", "students", critical=True),
    Kind("notice", "Notices: allocation, poster slots, results, decisions on your requests", "everyone"),
    Kind("marking", "Marking: a sheet assigned to you, due soon or overdue", "markers", critical=True),
    Kind("marking_needed", "Reconciliation or a third marking that needs you", "markers", critical=True),
    Kind("poster_day", "The day before a poster day: your slots", "everyone"),
    Kind("supervisor_digest", "Weekly digest of your students (due soon, late, no recent meeting)", "supervisors"),
    Kind("coordinator_digest", "Daily digest of what needs you as coordinator", "coordinators"),
    # Not a choice: the weekly e-mail carrying the held messages of someone with no digest of their own.
    Kind("digest", "Messages you chose to receive in your digest", "nobody"),
)}


def channel_of(user_id: int, kind: str) -> str:
    """How messages of ``kind`` reach the person: their choice, or the kind's default."""
    chosen = db.session.scalar(select(NotificationPreference.channel).where(
        NotificationPreference.user_id == user_id, NotificationPreference.kind == kind))
    found = KINDS[kind]
    return chosen if chosen in found.channels else found.default


def channels_of(user_ids: list[int], kind: str) -> dict[int, str]:
    """``channel_of`` for many people in one query."""
    chosen = dict(db.session.execute(select(NotificationPreference.user_id, NotificationPreference.channel).where(
        NotificationPreference.user_id.in_(user_ids), NotificationPreference.kind == kind)).all())
    found = KINDS[kind]
    return {uid: chosen[uid] if chosen.get(uid) in found.channels else found.default for uid in user_ids}
