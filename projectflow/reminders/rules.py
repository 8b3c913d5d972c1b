"""What is due to whom at a moment, found by scanning the database, and putting it in the outbox once.

A *rule* is a function of the moment ``now`` returning the messages due then (``Due``): each names
its person, kind, and a key that names the object and the instant it is about, so that the scheduler
may find the same message due on every pass, in several processes at once, and the outbox keeps one.
Nothing is held per reminder: a deadline moved or an extension granted changes what the rules find
next time, with no job to move. A moment that passed while the scheduler was down is found when it
comes back; a rule says when a message stops being useful (a reminder is never sent after its
deadline; a missed reminder is replaced by the latest one due, not sent alongside it).

``remind(now)`` puts what is due in the outbox (e-mail, held for the digest, or in the app only, as
each person chose) with its in-app notification; ``preview(now)`` lists it without writing anything.
A message "in my digest" that the person's next digest would bring less than ``DIGEST_MARGIN`` before
its deadline (``Due.until``) is e-mailed on its own instead: a choice of channel never makes a
reminder arrive too late to act on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select

from ..cohorts.models import Cohort, Enrolment
from ..core import clock, mail, outbox
from ..core.notifications import Notification
from ..extensions import db
from ..people.models import User
from .kinds import KINDS, channels_of
from .models import DIGEST, EMAIL, IN_APP

# An overdue notice is sent within this long after the deadline, never later.
OVERDUE_WITHIN = timedelta(days=7)
# A message held for a digest must reach its person at least this long before its deadline.
DIGEST_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class Due:
    """One message due to one person."""

    user: User
    kind: str  # reminders.kinds.KINDS
    key: str  # unique: person, kind, object, instant
    subject: str
    message: str  # the in-app notification and the e-mail's first paragraph
    link: str  # the page it is about, on this site
    cohort: Cohort | None = None
    template: str = "notification"  # templates/email/<template>.txt (and .html)
    context: dict = field(default_factory=dict)  # more for the template
    until: datetime | None = None  # the deadline it is about: no use in a digest coming later
    state: str | None = None  # the outbox state, when the rule decides it (a digest) rather than a channel
    notice: str | None = None  # the in-app notification, when not ``message``
    # Called with the outbox row's id when this process's insert won the key, in the same transaction
    # (a digest marks the held messages it carries).
    after_put: Callable[[int], None] | None = None


Rule = Callable[[datetime], Iterable[Due]]
_rules: list[Rule] = []


def rule(function: Rule) -> Rule:
    """Register a rule (domain modules register theirs when imported)."""
    _rules.append(function)
    return function


def due_at(now: datetime) -> list[Due]:
    """Everything the rules find due at ``now``, before the outbox drops what was put there already."""
    found: list[Due] = []
    for function in _rules:
        found.extend(function(now))
    return found


def _fresh(found: list[Due]) -> list[Due]:
    """Those whose key is not in the outbox yet."""
    keys = [d.key for d in found]
    taken: set[str] = set()
    for start in range(0, len(keys), 500):
        taken |= set(db.session.scalars(select(outbox.OutboxMessage.key).where(
            outbox.OutboxMessage.key.in_(keys[start:start + 500]))))
    return [d for d in found if d.key not in taken]


STATE_OF_CHANNEL = {EMAIL: outbox.QUEUED, DIGEST: outbox.HELD, IN_APP: outbox.IN_APP}
CHANNEL_OF_STATE = {state: channel for channel, state in STATE_OF_CHANNEL.items()}


def _routes(found: list[Due], now: datetime) -> dict[str, str]:
    """Each message's outbox state (by key): the rule's, or its person's channel for its kind, except
    that a message held for a digest coming later than ``DIGEST_MARGIN`` before its deadline is
    e-mailed now."""
    chosen: dict[tuple[int, str], str] = {}
    for kind in {d.kind for d in found if d.state is None}:
        ids = sorted({d.user.id for d in found if d.kind == kind and d.state is None})
        chosen |= {(uid, kind): channel for uid, channel in channels_of(ids, kind).items()}
    states = {d.key: d.state or STATE_OF_CHANNEL[chosen[d.user.id, d.kind]] for d in found}
    timed = [d for d in found if states[d.key] == outbox.HELD and d.until is not None]
    if timed:
        coming = digests.next_digests(now, {d.user.id: d.cohort for d in timed})
        for d in timed:
            if coming[d.user.id] > d.until - DIGEST_MARGIN:
                states[d.key] = outbox.QUEUED
    return states


def preview(now: datetime) -> list[tuple[Due, str]]:
    """What ``remind(now)`` would put in the outbox, each with how it would reach its person (e-mail,
    digest, in the app only); writes nothing."""
    found = _fresh(due_at(now))
    states = _routes(found, now)
    listed = [(d, CHANNEL_OF_STATE[states[d.key]]) for d in found]
    db.session.rollback()  # the digests' rules lock the messages they would carry
    return listed


def remind(now: datetime) -> int:
    """Put every message due at ``now`` in the outbox, once, each with its in-app notification; returns
    how many were new. Leaves the commit to the caller (the scheduler commits, then delivers)."""
    found = [d for d in _fresh(due_at(now)) if d.user.is_active]
    states = _routes(found, now)
    notes: list[dict] = []
    for d in found:
        message = mail.build(d.user.email, d.subject, d.template, person=d.user, message=d.message, link=d.link,
                             kind=KINDS[d.kind], **d.context)
        cohort_id = d.cohort.id if d.cohort else None
        row_id = outbox.put(message, key=d.key, kind=d.kind, user_id=d.user.id, cohort_id=cohort_id,
                            state=states[d.key])
        if row_id is None:
            continue  # another scheduler put it there a moment ago
        if d.after_put is not None:
            d.after_put(row_id)
        notes.append({"user_id": d.user.id, "cohort_id": cohort_id, "message": d.notice or d.message,
                      "link": d.link, "created_at": now})
    if notes:  # in one statement, not one flushed before each outbox row
        db.session.execute(insert(Notification), notes)
    return len(notes)


def send_reminders(now: datetime | None = None) -> tuple[int, int, int]:
    """One pass of the scheduler: put what is due in the outbox, commit, deliver every queued e-mail
    that is due (new ones, and those waiting for another try). Returns (new, sent, not sent)."""
    now = now or clock.now()
    made = remind(now)
    db.session.commit()
    sent = failed = 0
    while True:  # in batches, each over one connection, until nothing due is left
        with mail.connection() as send:
            batch = outbox.deliver(send)
        sent, failed = sent + batch[0], failed + batch[1]
        if sum(batch) < outbox.BATCH:
            return made, sent, failed


# --- students' deadlines ------------------------------------------------------------------------------

def _when(moment: datetime, cohort: Cohort) -> str:
    return f"{moment.astimezone(cohort.zone):%a %d %b %Y %H:%M}"


@rule
def student_deadlines(now: datetime) -> Iterable[Due]:
    """Before each deadline (the cohort's reminder days, the student's extension counted), the latest
    reminder due and no other; an overdue notice once the deadline passed without a submission (within
    ``OVERDUE_WITHIN``); nothing once they have submitted."""
    from ..milestones.models import Milestone
    from ..milestones.progress import statuses

    horizon = max((max(c or [0]) for c in db.session.scalars(select(Cohort.reminder_days))), default=0)
    # Milestones whose deadline, or an extended one (at most a few weeks later), is in reach.
    near = db.session.scalars(select(Milestone.cohort_id).where(
        Milestone.due_at > now - OVERDUE_WITHIN - timedelta(days=60),
        Milestone.due_at <= now + timedelta(days=horizon + 1)).distinct())
    for cohort in db.session.scalars(select(Cohort).where(Cohort.id.in_(list(near))).order_by(Cohort.id)):
        students = {u.id: u for u in db.session.scalars(
            select(User).join(Enrolment, Enrolment.user_id == User.id).where(Enrolment.cohort_id == cohort.id))}
        if not students:
            continue
        days = sorted({d for d in (cohort.reminder_days or []) if d > 0})
        closest = _closest_sent(cohort)
        for (sid, mid), status in sorted(statuses(cohort, list(students)).items()):
            if status.submission is not None:
                continue
            yield from _for_deadline(now, cohort, students[sid], status, days, closest.get((sid, mid)))


_REMINDER_KEY = re.compile(r"^deadline-(\d+)d:u(\d+):m(\d+):")


def _closest_sent(cohort: Cohort) -> dict[tuple[int, int], int]:
    """(student id, milestone id) -> the fewest days before a deadline a reminder was made for, whatever
    the deadline was then: reminders only come closer, so a deadline moved (or extended) after a
    reminder does not bring an earlier one back."""
    closest: dict[tuple[int, int], int] = {}
    for key in db.session.scalars(select(outbox.OutboxMessage.key).where(
            outbox.OutboxMessage.cohort_id == cohort.id, outbox.OutboxMessage.kind == "deadline")):
        found = _REMINDER_KEY.match(key)
        if found:
            d, pair = int(found[1]), (int(found[2]), int(found[3]))
            closest[pair] = min(d, closest.get(pair, d))
    return closest


def _for_deadline(now: datetime, cohort: Cohort, student: User, status, days: list[int],
                  closest: int | None) -> Iterable[Due]:
    milestone, due = status.milestone, status.due_at
    instant = f"{due.astimezone(timezone.utc):%Y-%m-%dT%H:%MZ}"
    link = f"/milestones/{milestone.id}"
    extended = " (your extended deadline)" if status.extension is not None else ""
    if due <= now:
        if milestone.needs_file and now < due + OVERDUE_WITHIN:
            yield Due(student, "overdue", f"overdue:u{student.id}:m{milestone.id}:{instant}",
                      f"projectflow: “{milestone.title}” is overdue",
                      f"“{milestone.title}” was due {_when(due, cohort)}{extended} and nothing has been submitted. "
                      "Submit it as soon as you can, or talk to your supervisor.", link, cohort)
        return
    passed = [d for d in days if due - timedelta(days=d) <= now]
    if not passed:
        return
    d = min(passed)  # the latest moment passed: one reminder, not every one missed
    if closest is not None and d >= closest:
        return  # one as close or closer was made already (for this deadline, or before it moved)
    left = due - now
    words = f"{left.days} days" if left >= timedelta(days=2) else "less than two days" if left > timedelta(days=1) \
        else "less than a day"
    yield Due(student, "deadline", f"deadline-{d}d:u{student.id}:m{milestone.id}:{instant}",
              f"projectflow: “{milestone.title}” is due {_when(due, cohort)}",
              f"“{milestone.title}” is due {_when(due, cohort)}{extended}: {words} from now. "
              + ("Submit it on its page." if milestone.needs_file else "See its page for what is expected."),
              link, cohort, until=due)
from . import digests, marking, poster_day  # noqa: E402,F401  (their rules register)
