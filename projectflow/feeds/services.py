"""Deadline calendar feeds: every person can subscribe to their deadlines as an iCalendar feed at a
secret address (``/calendar/<token>.ics``) that they can regenerate.

Only the SHA-256 of the token is stored (``CalendarFeed.token_hash``), so the address is shown once,
when it is made; regenerating replaces the hash and the old address stops working at once.

What a feed holds:
- a student: every milestone of each cohort they are enrolled in, at *their* deadline (a granted
  extension's new date, with "(extended)" in the title);
- staff and coordinators: every milestone of each cohort they are staff of, at the milestone's own
  deadline (the students' extensions are theirs: they are not spread over a supervisor's calendar).
A person who is both gets both; for a cohort in which they are a student, their own deadline wins.

Once a cohort's poster schedule is published, the feed also holds the person's poster slots (their own
poster's as a student, each poster they assess as staff): timed events with a start and an end, built
by ``posters.ics`` like the .ics file of their poster page, so that both say the same.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from icalendar import Alarm, Calendar, Event, vDuration
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort, CohortStaff, Enrolment
from ..core import audit, clock
from ..extensions import db
from ..people.models import User
from ..milestones.models import Milestone
from ..milestones.services import deadlines_for
from ..posters import ics as poster_ics
from ..posters import mine as poster_slots
from .models import CalendarFeed

PRODID = "-//projectflow//Deadline calendar//EN"
# What a subscribing calendar is asked to do: look again every hour (RFC 7986 and the older
# Microsoft property that Outlook still reads).
REFRESH = timedelta(hours=1)
REMINDER_BEFORE = timedelta(days=1)
# secrets.token_urlsafe(32) makes 43 characters of [A-Za-z0-9_-]; anything else is not ours.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_of(user: User) -> CalendarFeed | None:
    """The person's feed, if they have made one (its address cannot be shown again: only its hash is kept)."""
    return db.session.get(CalendarFeed, user.id)


def feed_url(token: str) -> str:
    """The public address of the feed, built from ``BASE_URL`` (never from a request's Host header)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/calendar/{token}.ics"


def regenerate_feed(user: User) -> str:
    """Make a new secret address for ``user``'s feed, replacing any earlier one, and return its token.

    The token is returned once and never stored: the caller shows it to the person and forgets it."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    feed = feed_of(user)
    before = {"created_at": feed.created_at} if feed is not None else None
    if feed is None:
        feed = CalendarFeed(user_id=user.id, token_hash=_hash(token), created_at=now)
        db.session.add(feed)
    else:
        feed.token_hash, feed.created_at = _hash(token), now
    db.session.flush()
    audit.record("calendar_feed.regenerated", actor=user, object_type="calendar_feeds", object_id=user.id,
                 summary=(f"{user.name} replaced their calendar feed address (the old one stopped working)"
                          if before else f"{user.name} made a calendar feed address"),
                 before=before, after={"created_at": now})
    return token


def user_for_token(token: str) -> User | None:
    """The active person whose feed has this token, or None."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        return None
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == _hash(token)))
    if feed is None:
        return None
    user = db.session.get(User, feed.user_id)
    return user if user is not None and user.is_active else None


@dataclass(frozen=True)
class FeedEvent:
    """One deadline in a person's feed."""

    uid: str
    milestone: Milestone
    cohort: Cohort
    due_at: datetime  # UTC
    is_extended: bool
    path: str  # the page a person opens from the event, on this site
    changed_at: datetime  # when the milestone or the extension last changed

    @property
    def summary(self) -> str:
        # Code and year: a coordinator's feed holds this year's and last year's cohort of one programme.
        return (f"{self.milestone.title} ({self.cohort.programme_code} {self.cohort.year_label})"
                + (" (extended)" if self.is_extended else ""))


def feed_events(user: User) -> list[FeedEvent]:
    """The deadlines in ``user``'s feed, soonest first (see the module's docstring for who gets what)."""
    events: dict[int, FeedEvent] = {}
    enrolled = db.session.scalars(select(Cohort).join(Enrolment).where(Enrolment.user_id == user.id)).all()
    for cohort in enrolled:
        for deadline in deadlines_for(cohort, user):
            milestone = deadline.milestone
            events[milestone.id] = FeedEvent(
                uid=_uid(milestone, user), milestone=milestone, cohort=cohort, due_at=deadline.due_at,
                is_extended=deadline.is_extended, path=f"/milestones/{milestone.id}",
                changed_at=max(milestone.updated_at, deadline.extension.decided_at) if deadline.extension
                else milestone.updated_at)

    memberships = db.session.scalars(select(CohortStaff).where(CohortStaff.user_id == user.id)).all()
    staff_of = {m.cohort_id: m for m in memberships}
    if staff_of:
        # One query for every cohort's milestones, with their cohorts: no query per event.
        milestones = db.session.scalars(select(Milestone).where(Milestone.cohort_id.in_(staff_of))
                                        .options(selectinload(Milestone.cohort))).all()
        for milestone in milestones:
            if milestone.id in events:  # their own deadline as a student of that cohort
                continue
            # Coordinators open the timeline they edit; other staff the progress grid of their students.
            page = "timeline" if staff_of[milestone.cohort_id].is_coordinator else "progress"
            events[milestone.id] = FeedEvent(
                uid=_uid(milestone, user), milestone=milestone, cohort=milestone.cohort, due_at=milestone.due_at,
                is_extended=False, path=f"/cohorts/{milestone.cohort_id}/{page}", changed_at=milestone.updated_at)
    return sorted(events.values(), key=lambda e: (e.due_at, e.milestone.id))


def feed_slots(user: User) -> list[poster_slots.MySlot]:
    """``user``'s slots in the published poster schedules of their cohorts, by start (a fixed number of
    queries, however many cohorts and posters)."""
    return poster_slots.slots_for(user, poster_slots.published_schedules_of(user))


def _uid(milestone: Milestone, user: User) -> str:
    # Stable across fetches and regenerated addresses, so calendars update events instead of duplicating them;
    # per person, because a student's extended event is not the same event as the cohort's.
    return f"milestone-{milestone.id}-user-{user.id}@projectflow"


def calendar_for(user: User) -> bytes:
    """``user``'s deadlines as an iCalendar (RFC 5545) document: one VEVENT per deadline, in UTC,
    with a reminder a day before and the address of the milestone's page; then one per poster slot."""
    base = current_app.config["BASE_URL"].rstrip("/")
    now = clock.now()
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "projectflow deadlines")
    cal.add("x-wr-caldesc", f"Project deadlines and poster slots of {user.name}, from projectflow")
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    for item in feed_events(user):
        milestone, cohort = item.milestone, item.cohort
        url = base + item.path
        local = item.due_at.astimezone(cohort.zone)
        lines = [f"{cohort.title}: {milestone.title} is due {local:%a %d %b %Y %H:%M} ({cohort.timezone})."]
        if item.is_extended:
            lines.append(f"Your extension moved this deadline from "
                         f"{milestone.due_at.astimezone(cohort.zone):%a %d %b %Y %H:%M}.")
        if milestone.description:
            lines.append(milestone.description)
        lines.append(url)
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", now)
        event.add("dtstart", item.due_at)  # a deadline is an instant: no DTEND (RFC 5545 3.6.1)
        event.add("summary", item.summary)
        event.add("description", "\n\n".join(lines))
        event.add("url", url)
        event.add("last-modified", item.changed_at)
        event.add("categories", ["Deadline"])
        event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Due tomorrow: {item.summary}")
        alarm.add("trigger", -REMINDER_BEFORE)
        event.add_component(alarm)
        cal.add_component(event)
    for slot in feed_slots(user):
        cal.add_component(poster_ics.slot_event(slot, base=base, now=now))
    return cal.to_ical()
