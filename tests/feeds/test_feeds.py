"""Deadline calendar feeds: a secret address per person, the feed parsed as a calendar program would,
an extension moving one student's event only, regeneration killing the old address, and who sees what."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import select

from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.extensions import db
from projectflow.feeds import services as feeds
from projectflow.milestones import extensions
from projectflow.feeds.models import CalendarFeed
from tests.forms import get_form
from tests.html import main_text

BASE = "http://127.0.0.1:5000"  # BASE_URL's default


@pytest.fixture(autouse=True)
def _mail(smtp_server):
    # Granting an extension tells the student by e-mail.
    return smtp_server


def switch(client, login, person, role=None):
    client.post("/logout")
    return login(person, role=role)


def new_address(client) -> str:
    """Make a new address on the calendar page, as the person would, and read it off the page."""
    response = client.post("/calendar")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    return re.search(r'id="feed-url" type="text" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def fetch(app, url: str):
    """The feed as a calendar program gets it: a fresh client, signed in as nobody."""
    assert url.startswith(BASE + "/calendar/") and url.endswith(".ics")
    return app.test_client().get(url[len(BASE):])


def events_of(app, url: str) -> dict[str, object]:
    response = fetch(app, url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    cal = Calendar.from_ical(response.data)
    assert str(cal["VERSION"]) == "2.0" and "projectflow" in str(cal["PRODID"])
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_a_student_subscribes_to_their_deadlines(app, client, login, timeline, student):
    c = login(student)
    page = main_text(c.get("/calendar").get_data(as_text=True))
    assert "You have no calendar address yet" in page and "Project plan" in page

    url = new_address(c)
    events = events_of(app, url)
    assert set(events) == {f"milestone-{m.id}-user-{student.id}@projectflow" for m in timeline.values()}
    plan = timeline["project_plan"]
    event = events[f"milestone-{plan.id}-user-{student.id}@projectflow"]
    start = event.decoded("DTSTART")
    assert start == plan.due_at and start.utcoffset() == timedelta(0)
    assert b"DTSTART:20270305T160000Z" in fetch(app, url).data  # Fri 5 Mar 2027 16:00 London, in UTC
    assert str(event["SUMMARY"]).startswith("Project plan (") and "extended" not in str(event["SUMMARY"])
    assert f"{BASE}/milestones/{plan.id}" in str(event["DESCRIPTION"]) and str(event["URL"]) == f"{BASE}/milestones/{plan.id}"
    assert "DTEND" not in event  # a deadline is an instant
    [alarm] = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == -timedelta(days=1) and str(alarm["ACTION"]) == "DISPLAY"

    # The final report is in summer time: 16:00 London is 15:00 UTC.
    final = events[f"milestone-{timeline['final_report'].id}-user-{student.id}@projectflow"]
    assert final.decoded("DTSTART").astimezone(timezone.utc).hour == 15

    # The address is shown once: the page afterwards says it exists but does not show it again.
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    again = c.get("/calendar").get_data(as_text=True)
    assert token not in again and "You made your calendar address on" in main_text(again)
    # Only its hash is kept.
    stored = db.session.get(CalendarFeed, student.id)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in stored.token_hash


def test_uids_are_stable_and_an_extension_moves_one_students_event(app, client, login, timeline, cohort,
                                                                   coordinator, student, make):
    other = make.student(cohort, name="Olga Other")
    plan = timeline["project_plan"]
    url = new_address(login(student))
    before = events_of(app, url)
    with clock.frozen(plan.due_at - timedelta(days=10)):
        granted = extensions.grant_directly(plan, student, working_days=3, note="Illness", by=coordinator)
        db.session.commit()
    after = events_of(app, url)
    assert set(after) == set(before)  # the same events, updated in place
    uid = f"milestone-{plan.id}-user-{student.id}@projectflow"
    assert after[uid].decoded("DTSTART") == granted.new_due_at > plan.due_at
    assert str(after[uid]["SUMMARY"]).endswith("(extended)")
    assert "Your extension moved this deadline" in str(after[uid]["DESCRIPTION"])
    assert after[uid].decoded("LAST-MODIFIED") >= before[uid].decoded("LAST-MODIFIED")
    unchanged = [u for u in after if u != uid]
    assert all(after[u].decoded("DTSTART") == before[u].decoded("DTSTART") for u in unchanged)

    # The other student's plan stays at the cohort's deadline.
    mine = events_of(app, new_address(switch(client, login, other)))
    event = mine[f"milestone-{plan.id}-user-{other.id}@projectflow"]
    assert event.decoded("DTSTART") == plan.due_at and "extended" not in str(event["SUMMARY"])

    # Staff see the milestone's own deadline, not the student's extension.
    staff = coordinator
    theirs = events_of(app, new_address(switch(client, login, staff)))
    assert theirs[f"milestone-{plan.id}-user-{staff.id}@projectflow"].decoded("DTSTART") == plan.due_at


def test_regenerating_kills_the_old_address(app, client, login, timeline, student):
    c = login(student)
    first = new_address(c)
    assert fetch(app, first).status_code == 200
    page = main_text(c.get("/calendar").get_data(as_text=True))
    assert "Make a new address" in page
    second = new_address(c)
    assert second != first
    assert fetch(app, first).status_code == 404
    assert fetch(app, second).status_code == 200
    assert db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == student.id)) is not None
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "calendar_feed.regenerated")
                                .order_by(AuditEvent.id)).all()
    assert [e.actor_id for e in events] == [student.id, student.id] and events[1].before is not None
    # The audit log never holds the secret.
    for e in events:
        assert all(t not in repr((e.summary, e.before, e.after)) for t in (first, second))


@pytest.mark.parametrize("path", ["/calendar/" + "A" * 43 + ".ics", "/calendar/short.ics", "/calendar/..%2F..ics",
                                  "/calendar/" + "x" * 300 + ".ics"])
def test_unknown_addresses_are_not_found(app, client, path):
    assert client.get(path).status_code == 404


def test_a_deactivated_persons_feed_stops(app, client, login, timeline, student):
    url = new_address(login(student))
    student.is_active = False
    db.session.commit()
    assert fetch(app, url).status_code == 404


def test_who_sees_what(app, client, login, timeline, cohort, coordinator, supervisor, student, make):
    other_cohort = make.cohort(code="OTH", year=2027)
    outsider = make.staff(other_cohort, name="Otto Outsider")
    stranger = make.student(other_cohort, name="Stan Stranger")
    ids = {m.id for m in timeline.values()}

    staff_url = new_address(login(supervisor))
    staff = events_of(app, staff_url)
    assert set(staff) == {f"milestone-{i}-user-{supervisor.id}@projectflow" for i in ids}
    plan = timeline["project_plan"]
    event = staff[f"milestone-{plan.id}-user-{supervisor.id}@projectflow"]
    assert event.decoded("DTSTART") == plan.due_at
    assert f"{BASE}/cohorts/{cohort.id}/progress" in str(event["DESCRIPTION"])
    assert student.name not in fetch(app, staff_url).get_data(as_text=True)

    coord = events_of(app, new_address(switch(client, login, coordinator, role="coordinator")))
    assert set(coord) == {f"milestone-{i}-user-{coordinator.id}@projectflow" for i in ids}
    assert f"{BASE}/cohorts/{cohort.id}/timeline" in str(coord[f"milestone-{plan.id}-user-{coordinator.id}@projectflow"]["URL"])

    # People of another cohort (with no timeline yet) see none of this cohort's deadlines.
    for person in (outsider, stranger):
        assert events_of(app, new_address(switch(client, login, person))) == {}
        assert "No deadlines yet" in main_text(client.get("/calendar").get_data(as_text=True))


def test_the_calendar_page_needs_a_sign_in_and_the_feed_does_not(app, client, login, timeline, student):
    assert client.get("/calendar").status_code == 302 and "/login" in client.get("/calendar").location
    assert client.post("/calendar").status_code == 302
    assert db.session.scalar(select(CalendarFeed)) is None
    url = new_address(login(student))
    client.post("/logout")
    assert fetch(app, url).status_code == 200


@pytest.mark.csrf
def test_making_an_address_needs_the_forms_token(app, client, login, student):
    c = login_with_csrf(client, student)
    response = c.post("/calendar")
    assert response.status_code == 400 and "security token" in main_text(response.get_data(as_text=True))
    assert db.session.scalar(select(CalendarFeed)) is None
    form = get_form(c, "/calendar", action="/calendar")
    assert form.get("csrf_token")
    assert form.submit(c).status_code == 200
    assert db.session.scalar(select(CalendarFeed)) is not None


def login_with_csrf(client, user):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": user.email, "password": "correct horse battery",
                                           "csrf_token": token})
    assert response.status_code == 302
    return client


def test_regenerate_feed_service(app, student):
    token = feeds.regenerate_feed(student)
    db.session.commit()
    assert feeds.user_for_token(token) == student
    assert feeds.feed_url(token) == f"{BASE}/calendar/{token}.ics"
    assert feeds.user_for_token(token[:-1]) is None and feeds.user_for_token("") is None


def test_a_coordinators_feed_tells_two_cohorts_of_one_programme_apart(app, login, make, cohort, coordinator,
                                                                      timeline):
    # Found when the app was tried: last year's and this year's "Final report (I460)" looked the same.
    from projectflow.milestones import services as timeline_services

    later = make.cohort(coordinator=coordinator, code=cohort.programme_code, year=2027)
    with clock.frozen(datetime(2027, 11, 20, 9, tzinfo=timezone.utc)):
        timeline_services.create_timeline(later, by=coordinator)
        db.session.commit()
    c = login(coordinator, role="coordinator")
    summaries = sorted(str(e["SUMMARY"]) for e in events_of(app, new_address(c)).values()
                       if str(e["SUMMARY"]).startswith("Final report"))
    assert summaries == [f"Final report ({cohort.programme_code} 2026-27)",
                         f"Final report ({cohort.programme_code} 2027-28)"]

