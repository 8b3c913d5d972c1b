"""A supervisor disputes a meeting record with a comment the student reads (found when the app was
tried: a supervisor could only confirm); the coordinator filters the log by state; a disputed record
does not count as a meeting in the overdue report; confirming or disputing on page 2 of a filtered
list comes back to page 2 of the same filters."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.matching import services as matching
from projectflow.supervision import services as meetings
from projectflow.supervision.models import Meeting
from tests.forms import get_form, get_forms
from tests.html import field_error, flashes, main_text
from tests.supervision.test_log_pages import busy, shown  # noqa: F401 (fixture)
from tests.supervision.test_meetings import noon, overdue_on, pub, record  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("smtp_server")  # disputes and publishing tell people by e-mail


def dispute(pub, meeting, comment="We did not meet that week.", by=None, on=date(2027, 2, 3)):
    with clock.frozen(noon(on)):
        meetings.dispute_meeting(meeting, comment, by=by or pub.lee)
        db.session.commit()
    return meeting


# --- the rule ------------------------------------------------------------------------------------

def test_the_supervisor_disputes_with_a_comment_the_student_is_told_and_it_is_audited(pub):
    meeting = record(pub)
    dispute(pub, meeting, comment="  We met on the 2nd, and the actions were different.  ")
    assert meeting.disputed_at == noon(date(2027, 2, 3)) and meeting.confirmed_at is None
    assert meeting.dispute_comment == "We met on the 2nd, and the actions were different."
    told = db.session.scalars(select(Notification.message).where(Notification.user_id == pub.student.id)).all()
    assert any("disputed your record of the supervision meeting of Mon 01 Feb 2027" in m
               and "actions were different" in m for m in told)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "meeting.disputed"))
    assert event.actor_id == pub.lee.id and event.object_id == meeting.id
    assert event.after["dispute_comment"] == "We met on the 2nd, and the actions were different."


@pytest.mark.parametrize("comment, ok", [("", False), ("  \n ", False), ("x" * 2000, True), ("x" * 2001, False)])
def test_the_comment_is_required_and_bounded(pub, comment, ok):
    meeting = record(pub)
    if ok:
        assert dispute(pub, meeting, comment=comment).dispute_comment == comment
    else:
        with pytest.raises(ValidationFailed) as refused:
            dispute(pub, meeting, comment=comment)
        assert refused.value.field == "comment"
        db.session.rollback()
        assert db.session.get(Meeting, meeting.id).disputed_at is None


def test_only_who_may_confirm_disputes(pub, make):
    meeting = record(pub)
    for someone in (pub.kim, pub.coordinator, pub.student, pub.of_lee[1]):
        with pytest.raises(NotAllowed):
            dispute(pub, meeting, by=someone)
    co = make.staff(pub.cohort, name="Dr Co")
    matching.allocation_of(pub.cohort, pub.student).project.co_supervisors.append(co)
    db.session.commit()
    assert dispute(pub, meeting, by=co).disputed_at is not None


def test_a_record_is_disputed_once_and_never_once_confirmed(pub):
    meeting = dispute(pub, record(pub))
    with pytest.raises(InvalidState, match="already disputed on 03 Feb 2027"):
        dispute(pub, meeting, comment="Again.")
    confirmed = record(pub, notes="Another meeting.")
    meetings.confirm_meeting(confirmed, by=pub.lee)
    db.session.commit()
    with pytest.raises(InvalidState, match="already confirmed"):
        dispute(pub, confirmed)


def test_confirming_a_disputed_record_clears_the_dispute(pub):
    meeting = dispute(pub, record(pub))
    with clock.frozen(noon(date(2027, 2, 5))):
        meetings.confirm_meeting(meeting, by=pub.lee)
        db.session.commit()
    assert meeting.confirmed_at == noon(date(2027, 2, 5)) and meeting.disputed_at is None
    assert meeting.dispute_comment is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "meeting.confirmed"))
    assert event.before["dispute_comment"] == "We did not meet that week." and "dispute is cleared" in event.summary


def test_a_disputed_record_is_not_a_meeting_for_the_overdue_report(pub):
    record(pub, on=date(2027, 1, 25))
    meeting = dispute(pub, record(pub, on=date(2027, 2, 8), notes="A meeting Lee does not remember."),
                      on=date(2027, 2, 9))
    row = overdue_on(pub, date(2027, 2, 16))[pub.student.name]  # 3 weeks 1 day after 25 Jan
    assert row.last_met_on == date(2027, 1, 25) and row.disputed_on == date(2027, 2, 8)
    with clock.frozen(noon(date(2027, 2, 10))):
        meetings.confirm_meeting(meeting, by=pub.lee)
        db.session.commit()
    assert pub.student.name not in overdue_on(pub, date(2027, 2, 16))  # confirmed: it counts again


# --- the pages -----------------------------------------------------------------------------------

def test_disputing_from_the_page_as_rendered(pub, login, make):
    meeting = record(pub, notes="Chose the data set.")
    page_url = f"/cohorts/{pub.cohort.id}/meetings/supervision"
    action = f"/meetings/{meeting.id}/dispute"
    for person in (pub.kim, pub.coordinator, pub.student, make.staff()):
        c = login(person)
        assert c.post(action, data={"comment": "No."}).status_code == 403
        c.post("/logout")
    c = login(pub.lee)
    form = get_form(c, page_url, action=action)
    empty = form.set("comment", "   ").submit(c)
    page = empty.get_data(as_text=True)
    assert empty.status_code == 422 and "Say what is wrong" in field_error(page, f"dispute-{meeting.id}")
    assert "<details class=\"mt-1\" open>" in page  # the form with the error is shown open
    long = get_form(c, page_url, action=action).set("comment", "y" * 2001).submit(c)
    assert long.status_code == 422 and "2000 characters" in field_error(long.get_data(as_text=True),
                                                                       f"dispute-{meeting.id}")
    assert db.session.get(Meeting, meeting.id).disputed_at is None
    with clock.frozen(noon(date(2027, 2, 3))):
        done = get_form(c, page_url, action=action).set("comment", "We chose two data sets, not one.").submit(c)
    assert done.status_code == 302 and done.headers["Location"].endswith(f"#meeting-{meeting.id}")
    page = c.get(done.headers["Location"]).get_data(as_text=True)
    assert any("disputed the record" in f for f in flashes(page))
    text = main_text(page)
    assert "Disputed 03 Feb" in text and "We chose two data sets, not one." in text
    assert "(1 disputed)" in text and "Confirm after all" in text and f'action="{action}' not in page
    again = c.post(action, data={"comment": "Twice."})
    assert again.status_code == 409 and any("already disputed" in f for f in flashes(again.get_data(as_text=True)))
    c.post("/logout")
    # The student reads it on their log.
    c = login(pub.student)
    with clock.frozen(noon(date(2027, 2, 4))):
        text = main_text(c.get(f"/cohorts/{pub.cohort.id}/meetings").get_data(as_text=True))
    assert "Disputed 03 Feb" in text and "Your supervisor disputes this record: We chose two data sets, not one." in text
    c.post("/logout")
    # Confirming it later clears it, from the same page.
    c = login(pub.lee)
    confirmed = get_form(c, page_url, action=f"/meetings/{meeting.id}/confirm").submit(c)
    assert confirmed.status_code == 302
    text = main_text(c.get(confirmed.headers["Location"]).get_data(as_text=True))
    assert "We chose two data sets" not in text and "Confirmed" in text


def test_the_coordinator_filters_the_log_by_state(pub, login):
    awaiting = record(pub, on=date(2027, 2, 1), notes="Awaiting one.")
    confirmed = record(pub, on=date(2027, 2, 2), notes="Confirmed one.")
    meetings.confirm_meeting(confirmed, by=pub.lee)
    disputed = dispute(pub, record(pub, on=date(2027, 2, 3), notes="Disputed one."), on=date(2027, 2, 4))
    db.session.commit()
    c = login(pub.coordinator, role="coordinator")
    url = f"/cohorts/{pub.cohort.id}/meetings/supervision"
    found = {}
    for state in ("", "awaiting", "confirmed", "disputed"):
        text = main_text(c.get(f"{url}?state={state}").get_data(as_text=True))
        found[state] = {n for n in ("Awaiting one.", "Confirmed one.", "Disputed one.") if n in text}
    assert found == {"": {"Awaiting one.", "Confirmed one.", "Disputed one."}, "awaiting": {"Awaiting one."},
                     "confirmed": {"Confirmed one."}, "disputed": {"Disputed one."}}
    page = c.get(f"{url}?state=disputed").get_data(as_text=True)
    assert '<option value="disputed" selected>Disputed</option>' in page
    assert awaiting.id and disputed.dispute_comment in main_text(page)


def _query(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.mark.parametrize("button", ["confirm", "dispute"])
def test_confirming_or_disputing_on_page_2_comes_back_to_page_2_of_the_same_filters(login, busy, button):
    c = login(busy.lee)
    url = f"/cohorts/{busy.cohort.id}/meetings/supervision?since=2027-01-11&page=2"
    before = shown(c.get(url).get_data(as_text=True))
    form = next(f for f in get_forms(c, url) if urlsplit(f.action).path.endswith(f"/{button}"))
    if button == "dispute":
        form.set("comment", "Not as I remember it.")
    done = form.submit(c)
    assert done.status_code == 302
    assert urlsplit(done.headers["Location"]).path == f"/cohorts/{busy.cohort.id}/meetings/supervision"
    assert _query(done.headers["Location"]) == {"since": "2027-01-11", "page": "2"}
    after = shown(c.get(done.headers["Location"]).get_data(as_text=True))
    assert after == before  # the same page of meetings, with one of them answered


def test_answering_the_last_awaiting_meeting_of_the_last_page_shows_the_new_last_page(login, busy):
    c = login(busy.lee)
    base = f"/cohorts/{busy.cohort.id}/meetings/supervision?state=awaiting"
    # Lee's two students have 15 unconfirmed meetings each: 30, one page of 50. Ask for page 2.
    page = c.get(base + "&page=2")
    assert page.status_code == 200 and len(shown(page.get_data(as_text=True))) == 30
