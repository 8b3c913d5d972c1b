"""Poster slots as iCalendar (RFC 5545) events: the one builder of the .ics file a person downloads
from their poster page and of the poster events in their calendar feed (``feeds.services``).

A slot is a meeting with a start and an end (the assessors come to the board together), so its event
has a DTEND and makes the person busy (TRANSP:OPAQUE), unlike a deadline. Its UID is the same in every
schedule the cohort publishes (``MySlot.uid``), and SEQUENCE and LAST-MODIFIED grow with every
publication and every hand move (``MySlot.revision``), so a calendar that has the event moves it when
a later schedule or the coordinator moves the poster, instead of adding a second one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event

from .mine import MySlot

PRODID = "-//projectflow//Poster slots//EN"


def names(people) -> str:
    """"Dr Lee", "Dr Lee and Dr Kim", "Dr Lee, Dr Kim and Dr Poe"."""
    found = [p.name for p in people]
    if len(found) < 2:
        return "".join(found)
    return ", ".join(found[:-1]) + " and " + found[-1]


def summary(item: MySlot) -> str:
    if item.is_own:
        return f"Your poster is assessed ({item.place})"
    return f"Poster of {item.student_label} ({item.place})"


def description(item: MySlot, url: str) -> str:
    cohort = item.cohort
    when = f"{item.starts:%a %d %b %Y, %H:%M}–{item.ends:%H:%M} ({cohort.timezone} time)"
    if item.is_own:
        lines = [f"{cohort.title}: your poster, at {item.place}, {when}.",
                 f"Be at your board then: {names(item.assessors) or 'your assessors'} assess your poster together."]
    else:
        lines = [f"{cohort.title}: you assess the poster of {item.student_label}"
                 + (f", “{item.project_title}”" if item.project_title else "") + f", at {item.place}, {when}."]
        if item.others:
            lines.append(f"With {names(item.others)}.")
    lines.append(f"In the poster session of {item.session}.")
    lines.append(url)
    return "\n\n".join(lines)


def slot_event(item: MySlot, *, base: str, now: datetime) -> Event:
    """The VEVENT of one slot; ``base`` is the site's address (``BASE_URL``), ``now`` the DTSTAMP."""
    url = base + item.path
    event = Event()
    event.add("uid", item.uid)
    event.add("dtstamp", now)
    event.add("dtstart", item.slot.starts_at)
    event.add("dtend", item.slot.ends_at)
    event.add("summary", summary(item))
    event.add("location", item.place)
    event.add("description", description(item, url))
    event.add("url", url)
    event.add("sequence", item.revision)
    event.add("last-modified", item.changed_at)
    event.add("categories", ["Poster session"])
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")  # a meeting: the person is busy
    return event


def calendar_of(items: Iterable[MySlot], *, name: str, base: str, now: datetime) -> bytes:
    """A downloadable .ics file of these slots."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for item in items:
        cal.add_component(slot_event(item, base=base, now=now))
    return cal.to_ical()
