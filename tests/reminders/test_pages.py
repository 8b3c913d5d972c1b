"""The two pages of issue 14: each person's message preferences, and the coordinator's outbox of a
cohort. Forms are submitted as the pages render them; refusals say why and save nothing; who may not
use them."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from projectflow.core import clock, mail, outbox
from projectflow.core.audit import AuditEvent
from projectflow.extensions import db
from projectflow.reminders.kinds import channel_of
from projectflow.reminders.models import NotificationPreference
from tests.forms import get_form, parse_forms
from tests.html import field_error, flashes, href, main_text

START = datetime(2027, 2, 1, 9, tzinfo=timezone.utc)


def _preferences() -> list[tuple[int, str, str]]:
    return list(db.session.execute(select(NotificationPreference.user_id, NotificationPreference.kind,
                                          NotificationPreference.channel).order_by(NotificationPreference.kind)))


# --- preferences ------------------------------------------------------------------------------------

def test_a_student_sees_the_kinds_that_concern_students_and_saves_a_choice(make, cohort, student, login):
    client = login(student)
    page = client.get("/account/messages").get_data(as_text=True)
    text = main_text(page)
    assert "Reminders before your deadlines" in text and "Notices: allocation" in text
    assert "The day before a poster day" in text
    assert "Marking:" not in text and "digest of what needs you as coordinator" not in text
    assert "they cannot be set to “in the app only”" in text
    form = get_form(client, "/account/messages", has_field="deadline")
    # A deadline reminder offers no "in the app only"; a notice does. Each starts at its default.
    assert [o for o in form.values("deadline")] == ["email"]
    assert 'id="deadline-2"' not in page and 'value="in_app"' in page
    form.check("notice", "in_app").check("deadline", "digest")
    saved = form.submit(client)
    assert saved.status_code == 303 and saved.location.endswith("/account/messages")
    assert flashes(client.get(saved.location).get_data(as_text=True)) == ["Your message preferences are saved."]
    assert _preferences() == [(student.id, "deadline", "digest"), (student.id, "notice", "in_app")]
    assert channel_of(student.id, "notice") == "in_app"
    # The page shows what was saved; sending it again changes nothing.
    again = get_form(client, "/account/messages", has_field="deadline")
    assert again.get("notice") == "in_app" and again.get("deadline") == "digest"
    repeat = again.submit(client)
    assert flashes(client.get(repeat.location).get_data(as_text=True)) == [
        "Your message preferences were already so: nothing changed."]
    # Back to the defaults: no row is kept.
    back = get_form(client, "/account/messages", has_field="deadline")
    back.check("notice", "email").check("deadline", "email")
    back.submit(client)
    assert _preferences() == []


def test_staff_see_the_kinds_of_markers_and_supervisors(supervisor, login):
    staff_text = main_text(login(supervisor).get("/account/messages").get_data(as_text=True))
    assert "Marking: a sheet assigned to you" in staff_text and "Weekly digest of your students" in staff_text
    assert "Reminders before your deadlines" not in staff_text and "as coordinator" not in staff_text


def test_coordinators_also_see_their_digest(coordinator, login):
    coordinator_text = main_text(login(coordinator).get("/account/messages").get_data(as_text=True))
    assert "Daily digest of what needs you as coordinator" in coordinator_text
    assert "Marking: a sheet assigned to you" in coordinator_text


@pytest.mark.parametrize(("kind", "channel", "message"), [
    ("deadline", "in_app", "These messages are about deadlines, so they always reach your inbox: choose e-mail or your digest."),
    ("notice", "carrier-pigeon", "Choose one of the ways offered for these messages."),
    ("notice", "", "Choose one of the ways offered for these messages."),
])
def test_a_refused_choice_is_said_next_to_its_kind_and_nothing_is_saved(student, login, kind, channel, message):
    client = login(student)
    form = get_form(client, "/account/messages", has_field="deadline")
    form.check("poster_day", "digest")  # a valid change alongside: not saved either
    form.set(kind, channel)
    refused = form.submit(client)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert field_error(page, kind) == message
    assert "nothing was saved" in main_text(page)
    assert _preferences() == []


def test_a_kind_that_does_not_concern_the_person_is_ignored(student, login):
    client = login(student)
    form = get_form(client, "/account/messages", has_field="deadline")
    form.add("coordinator_digest", "in_app")
    assert form.submit(client).status_code == 303
    assert _preferences() == []


def test_the_notifications_page_and_every_notification_e_mail_link_to_the_preferences(student, login, smtp_server):
    from projectflow.reminders.notices import notify

    client = login(student)
    assert href(client.get("/notifications").get_data(as_text=True), "Message preferences") == "/account/messages"
    notify([student], "Your supervisor left a comment.", email=True)
    db.session.commit()
    [sent] = smtp_server.wait_for(1)
    assert sent.get_body(("plain",)).get_content().rstrip().endswith("/account/messages")


def test_signed_out_people_are_sent_to_sign_in(client):
    assert client.get("/account/messages").status_code == 302


# --- the outbox ------------------------------------------------------------------------------------

def _refused(outgoing):
    """A mail server refusing the recipient (a sender gets an ``outbox.Outgoing``, or the message itself)."""
    to = outgoing.to_address if hasattr(outgoing, "to_address") else outgoing["To"]
    raise smtplib.SMTPRecipientsRefused({to: (550, b"5.1.1 <x>: Recipient address rejected")})


def _fail(row_id: int) -> None:
    """Try a queued row until the outbox gives up on it (the mail server refusing each time)."""
    moment = clock.now()
    for _ in range(outbox.MAX_TRIES):
        moment += timedelta(hours=1)
        with clock.frozen(moment):
            outbox.deliver(_refused, [row_id])
    assert db.session.get(outbox.OutboxMessage, row_id, populate_existing=True).state == outbox.FAILED


def _put(cohort, person, subject: str, *, kind: str = "deadline", state: str = outbox.QUEUED) -> int:
    message = mail.build(person.email, subject, "notification", person=person, message=subject, link=None)
    row_id = outbox.put(message, key=f"test:{subject}", kind=kind, user_id=person.id, cohort_id=cohort.id,
                        state=state)
    db.session.commit()
    return row_id


def test_the_coordinator_sees_the_cohort_outbox_and_resends_a_failed_message(make, cohort, coordinator, student, login,
                                                                             smtp_server):
    other = make.cohort(coordinator=make.coordinator(name="Otto Other"), code="MSCDS")
    with clock.frozen(START):
        sent = _put(cohort, student, "Sent one", kind="notice")
        outbox.deliver(lambda m: None, [sent])
    with clock.frozen(START + timedelta(days=1)):
        failed = _put(cohort, student, "Failed one")
        _fail(failed)
    with clock.frozen(START + timedelta(days=2)):
        _put(cohort, student, "Held one", kind="notice", state=outbox.HELD)
        _put(other, student, "Another cohort's", kind="notice")
    client = login(coordinator, role="coordinator")
    base = f"/cohorts/{cohort.id}/outbox"
    assert href(client.get(f"/cohorts/{cohort.id}").get_data(as_text=True), "Outbox") == base
    page = client.get(base).get_data(as_text=True)
    text = main_text(page)
    assert "3 messages, newest first" in text and "Another cohort's" not in text
    assert text.index("Held one") < text.index("Failed one") < text.index("Sent one")
    assert "Sam Student" in text and "Reminders before your deadlines" in text
    assert "SMTPRecipientsRefused" in text and "Recipient address rejected" in text
    assert "Sent 01 Feb 2027 09:00" in text  # London, GMT in February
    # Filtered by state.
    failed_only = main_text(client.get(f"{base}?state=failed").get_data(as_text=True))
    assert "1 message failed" in failed_only and "Sent one" not in failed_only
    assert client.get(f"{base}?state=nonsense").status_code == 400
    # One Resend button, on the failed row.
    forms = [f for f in parse_forms(page, base) if f.action.endswith("/resend")]
    assert [f.action for f in forms] == [f"{base}/{failed}/resend"]
    with clock.frozen(START + timedelta(days=3)):
        done = forms[0].submit(client)
    assert done.status_code == 303
    assert flashes(client.get(done.location).get_data(as_text=True)) == [
        f"“Failed one” to {student.email} is sent again now (or within a minute, if the mail server is busy)."]
    row = db.session.get(outbox.OutboxMessage, failed, populate_existing=True)
    assert (row.state, row.tries) == (outbox.SENT, 1)  # tried right after the commit, and delivered
    assert [m["Subject"] for m in smtp_server.wait_for(1)] == ["Failed one"]
    # The same button again: nothing to resend, and one audit event only.
    again = forms[0].submit(client)
    assert flashes(client.get(again.location).get_data(as_text=True)) == [
        "Nothing to resend: “Failed one” is no longer failed (sent)."]
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "outbox.resent")) == 1


def test_a_message_of_another_cohort_cannot_be_resent_from_this_one(make, cohort, coordinator, student, login):
    other = make.cohort(coordinator=coordinator, code="MSCDS")
    failed = _put(other, student, "Elsewhere")
    _fail(failed)
    client = login(coordinator, role="coordinator")
    form = get_form(client, f"/cohorts/{other.id}/outbox", action=f"/cohorts/{other.id}/outbox/{failed}/resend")
    form.action = f"/cohorts/{cohort.id}/outbox/{failed}/resend"
    assert form.submit(client).status_code == 404
    assert db.session.get(outbox.OutboxMessage, failed, populate_existing=True).state == outbox.FAILED


@pytest.mark.parametrize(("who", "status"), [
    ("nobody", 302), ("student", 403), ("supervisor", 403), ("other_coordinator", 403), ("admin", 200)])
def test_who_may_not_see_the_outbox(make, cohort, supervisor, student, login, client, who, status):
    people = {"student": lambda: student, "supervisor": lambda: supervisor,
              "other_coordinator": make.coordinator, "admin": make.admin}  # a coordinator of no cohort here
    if who != "nobody":
        client = login(people[who]())
    assert client.get(f"/cohorts/{cohort.id}/outbox").status_code == status


def test_the_administrator_sees_every_message_and_resends_one_of_no_cohort(make, cohort, coordinator, student, login,
                                                                           smtp_server):
    """A password reset (no cohort) refused by the mail server is on the administrator's outbox, with
    the cohorts' messages, and is resent from there; a coordinator cannot open it."""
    other = make.cohort(coordinator=make.coordinator(name="Otto Other"), code="MSCDS")
    with clock.frozen(START):
        _put(cohort, student, "This cohort's", kind="notice")
        _put(other, student, "Another cohort's", kind="notice")
        reset = outbox.put(mail.build(student.email, "Set a new password", "notification", person=student,
                                      message="Open the link to set a new password.", link=None),
                           key="test:reset", kind="message", user_id=student.id)
        db.session.commit()
        _fail(reset)
    admin = make.admin()
    client = login(admin)
    assert href(client.get("/admin").get_data(as_text=True), "The outbox") == "/admin/outbox"
    page = client.get("/admin/outbox").get_data(as_text=True)
    text = main_text(page)
    assert "3 messages, newest first" in text and "This cohort's" in text and "Another cohort's" in text
    assert f"{cohort.programme_code} {cohort.year_label}" in text and f"MSCDS {other.year_label}" in text
    assert "Times are UTC" in text
    failed_only = main_text(client.get("/admin/outbox?state=failed").get_data(as_text=True))
    assert "1 message failed" in failed_only and "Set a new password" in failed_only
    assert client.get("/admin/outbox?state=nonsense").status_code == 400
    form = get_form(client, "/admin/outbox?state=failed", action=f"/admin/outbox/{reset}/resend?state=failed")
    with clock.frozen(START + timedelta(days=1)):
        done = form.submit(client)
    assert done.status_code == 303 and done.location == "/admin/outbox?state=failed"
    assert [m["Subject"] for m in smtp_server.wait_for(1)] == ["Set a new password"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "outbox.resent"))
    assert (event.actor_id, event.cohort_id) == (admin.id, None)
    assert client.post(f"/admin/outbox/{reset + 999}/resend").status_code in (400, 404)
    client.post("/logout")
    assert login(coordinator, role="coordinator").get("/admin/outbox").status_code == 403
