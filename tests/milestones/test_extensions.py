"""Extensions: asked before the deadline, decided by the coordinator, moving one student's deadline."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.milestones import extensions, progress, services
from projectflow.milestones.models import Extension
from tests.forms import get_form
from tests.html import field_error, flashes, main_text

from .conftest import pdf_bytes

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def _mail(smtp_server):
    return smtp_server


def test_granting_moves_only_this_students_deadline_by_working_days(timeline, cohort, coordinator, student, make,
                                                                      february):
    plan = timeline["project_plan"]  # Friday 5 March 2027, 16:00
    other = make.student(cohort)
    asked = extensions.request_extension(plan, student, reason="Flu, with a doctor's note.", by=student)
    extensions.grant(asked, working_days=5, note="Get well.", by=coordinator)
    db.session.commit()
    assert asked.new_due_at.astimezone(LONDON) == datetime(2027, 3, 12, 16, 0, tzinfo=LONDON)
    assert services.effective_deadline(plan, student).due_at == asked.new_due_at
    assert services.effective_deadline(plan, other).due_at == plan.due_at
    assert progress.student_rows(cohort, student)[0].state == progress.EXTENDED
    told = db.session.scalars(select(Notification.message).where(Notification.user_id == student.id)).all()
    assert any("granted" in m and "Fri 12 Mar 2027 16:00" in m for m in told)
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "extensions")))
    assert actions == {"extension.requested", "extension.granted"}


def test_an_extension_across_easter_and_the_clock_change_keeps_16_00_local(timeline, coordinator, student,
                                                                           february):
    plan = timeline["project_plan"]
    # Thursday 25 March 2027, 16:00 GMT. Good Friday (26th), the weekend (the clocks go forward on
    # Easter Sunday, 28th) and Easter Monday (29th) are not working days.
    plan.due_at = datetime(2027, 3, 25, 16, 0, tzinfo=LONDON)
    db.session.commit()
    granted = extensions.grant_directly(plan, student, working_days=1, note="Lab closed.", by=coordinator)
    assert granted.new_due_at.astimezone(LONDON) == datetime(2027, 3, 30, 16, 0, tzinfo=LONDON)
    assert granted.new_due_at.utcoffset() == timedelta(0) and granted.new_due_at.hour == 15  # BST now


@pytest.mark.parametrize("days", [0, 11])
def test_the_limit_of_working_days(timeline, coordinator, student, february, days):
    asked = extensions.request_extension(timeline["project_plan"], student, reason="Reason.", by=student)
    with pytest.raises(ValidationFailed, match="between 1 and 10"):
        extensions.grant(asked, working_days=days, by=coordinator)


def test_a_request_after_the_deadline_is_refused(timeline, student):
    plan = timeline["project_plan"]
    with clock.frozen(plan.due_at):
        with pytest.raises(InvalidState, match="deadline has passed"):
            extensions.request_extension(plan, student, reason="Late.", by=student)


def test_one_open_request_at_a_time_and_decisions_once(timeline, coordinator, student, february):
    plan = timeline["project_plan"]
    asked = extensions.request_extension(plan, student, reason="Reason.", by=student)
    with pytest.raises(InvalidState, match="already have a request"):
        extensions.request_extension(plan, student, reason="Again.", by=student)
    with pytest.raises(ValidationFailed, match="Say why"):
        extensions.refuse(asked, note=" ", by=coordinator)
    extensions.refer(asked, note="A matter for the mitigating circumstances board.", by=coordinator)
    with pytest.raises(InvalidState, match="already"):
        extensions.grant(asked, working_days=3, by=coordinator)
    assert services.effective_deadline(plan, student).due_at == plan.due_at


def test_who_may_ask_and_decide(timeline, coordinator, student, supervisor, make, february):
    plan = timeline["project_plan"]
    with pytest.raises(NotAllowed):
        extensions.request_extension(plan, student, reason="For them.", by=make.student(plan.cohort))
    asked = extensions.request_extension(plan, student, reason="Reason.", by=student)
    with pytest.raises(NotAllowed):
        extensions.grant(asked, working_days=2, by=supervisor)


def test_the_pages_from_request_to_decision(client, login, timeline, cohort, coordinator, student, supervisor,
                                            february):
    plan = timeline["project_plan"]
    c = login(student)
    response = c.post(f"/milestones/{plan.id}/extension", data={"reason": ""})
    assert response.status_code == 422 and field_error(response.get_data(as_text=True), "reason")
    response = c.post(f"/milestones/{plan.id}/extension", data={"reason": "Broken laptop.",
                      "evidence": (io.BytesIO(b"not a pdf"), "note.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 422 and "PDF" in field_error(response.get_data(as_text=True), "evidence")
    ask = get_form(c, f"/milestones/{plan.id}", submit="Send the request")
    response = ask.set("reason", "Broken laptop.").submit(c, files={"evidence": (pdf_bytes(), "note.pdf")})
    assert response.status_code == 302
    c.post("/logout")

    c = login(supervisor)
    assert c.get(f"/cohorts/{cohort.id}/extensions").status_code == 403
    c.post("/logout")
    c = login(coordinator, role="coordinator")
    page = c.get(f"/cohorts/{cohort.id}/extensions").get_data(as_text=True)
    asked = db.session.scalar(select(Extension))
    assert "Broken laptop." in main_text(page) and "evidence" in main_text(page)
    assert c.get(f"/extensions/{asked.id}/evidence").status_code == 200
    refused = c.post(f"/extensions/{asked.id}/decide", data={"decision": "grant", "working_days": "30", "note": ""})
    assert refused.status_code == 422 and any("between 1 and 10" in f for f in flashes(refused.get_data(as_text=True)))
    decide = get_form(c, f"/cohorts/{cohort.id}/extensions", action=f"/extensions/{asked.id}/decide")
    done = decide.select("decision", "grant").set("working_days", "3").set("note", "OK").submit(c)
    assert done.status_code == 302
    c.post("/logout")
    page = main_text(login(student).get(f"/milestones/{plan.id}").get_data(as_text=True))
    assert "Extended from Fri 05 Mar 16:00" in page and "Wed 10 Mar 2027 16:00" in page
    # The student sees what they sent, and after a grant is not offered another request.
    student_page = login(student).get(f"/milestones/{plan.id}").get_data(as_text=True)
    assert "Your reason: Broken laptop." in main_text(student_page)
    assert f'href="/extensions/{asked.id}/evidence"' in student_page
    assert c.get(f"/extensions/{asked.id}/evidence").status_code == 200
    assert "Send the request" not in student_page and "Ask for an extension" not in student_page
    assert "granted an extension of this milestone already" in main_text(student_page)
    again = c.post(f"/milestones/{plan.id}/extension", data={"reason": "More please."})
    assert again.status_code == 409 and "granted an extension" in again.get_data(as_text=True)
    assert len(extensions.history(plan, student)) == 1


def test_an_empty_reason_says_what_is_missing(client, login, timeline, student, february):
    plan = timeline["project_plan"]
    c = login(student)
    response = get_form(c, f"/milestones/{plan.id}", submit="Send the request").set("reason", "  ").submit(c)
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "reason") == \
        "Say why you need more time: the coordinator decides on your reason."
