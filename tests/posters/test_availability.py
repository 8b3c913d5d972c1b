"""Who cannot come to which poster session: staff's answers (kept at once), students' declarations (a
reason the coordinator accepts or refuses), the window they are given in, and their pages."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.posters import availability, services
from projectflow.posters.availability import StudentAnswer
from projectflow.posters.models import ACCEPTED, DECLARED, IF_NEEDED, REFUSED, UNAVAILABLE, Availability
from projectflow.posters.problem import problem_file
from tests.forms import get_form
from tests.html import field_error, flashes, main_text

from .conftest import JUNE


def rows_of(user) -> dict[int, Availability]:
    db.session.expire_all()
    return {a.session_id: a for a in db.session.scalars(select(Availability).where(Availability.user_id == user.id))}


# --- staff ---------------------------------------------------------------------------------------

def test_staff_answers_count_at_once_and_available_is_no_row(allocated, poster_days):
    c = allocated
    morning, afternoon = poster_days
    assert availability.save_staff_availability(c.cohort, c.lee, {morning.id: "unavailable", afternoon.id: "if_needed"},
                                                by=c.lee) == 2
    db.session.commit()
    rows = rows_of(c.lee)
    assert (rows[morning.id].kind, rows[morning.id].state) == (UNAVAILABLE, ACCEPTED)
    assert rows[afternoon.id].kind == IF_NEEDED and rows[afternoon.id].decided_at == JUNE
    # The same answers again change nothing; "available" removes the row.
    assert availability.save_staff_availability(c.cohort, c.lee, {morning.id: "unavailable", afternoon.id: "if_needed"},
                                                by=c.lee) == 0
    availability.save_staff_availability(c.cohort, c.lee, {morning.id: "available", afternoon.id: "unavailable"},
                                         by=c.lee)
    db.session.commit()
    rows = rows_of(c.lee)
    assert morning.id not in rows and rows[afternoon.id].kind == UNAVAILABLE
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "posters.availability_given")
                                .order_by(AuditEvent.id)).all()
    assert len(events) == 2 and events[1].object_id == c.lee.id
    morning_label, afternoon_label = "Tue 14 Sep 2027, 10:00–12:00", "Tue 14 Sep 2027, 14:00–16:00"
    assert events[1].before == {morning_label: "unavailable", afternoon_label: "if_needed"}
    assert events[1].after == {morning_label: "available", afternoon_label: "unavailable"}


def test_answers_are_given_only_while_the_window_is_open(allocated, poster_days):
    c = allocated
    morning, _ = poster_days
    with clock.frozen(datetime(2027, 7, 30, 16, tzinfo=timezone.utc)):
        with pytest.raises(InvalidState, match="closed on Fri 30 Jul 2027 17:00"):
            availability.save_staff_availability(c.cohort, c.lee, {morning.id: "unavailable"}, by=c.lee)
        with pytest.raises(InvalidState, match="closed on"):
            availability.save_student_declarations(c.cohort, c.students[0], {morning.id: StudentAnswer(True, "Ill")},
                                                   by=c.students[0])
    with clock.frozen(datetime(2027, 7, 30, 15, 59, tzinfo=timezone.utc)):  # the last minute
        availability.save_staff_availability(c.cohort, c.lee, {morning.id: "unavailable"}, by=c.lee)


def test_nothing_is_given_before_the_window_opens(allocated, june):
    from .conftest import session_values

    c = allocated
    s = services.add_session(c.cohort, session_values(), by=c.coordinator)
    with pytest.raises(InvalidState, match="has not opened"):
        availability.save_staff_availability(c.cohort, c.lee, {s.id: "unavailable"}, by=c.lee)


def test_each_person_answers_for_themself(allocated, poster_days):
    c = allocated
    morning, _ = poster_days
    with pytest.raises(NotAllowed):
        availability.save_staff_availability(c.cohort, c.lee, {morning.id: "unavailable"}, by=c.kim)
    with pytest.raises(NotAllowed):
        availability.save_staff_availability(c.cohort, c.students[0], {morning.id: "unavailable"}, by=c.students[0])
    with pytest.raises(NotAllowed):
        availability.save_student_declarations(c.cohort, c.lee, {morning.id: StudentAnswer(True, "x")}, by=c.lee)
    with pytest.raises(ValidationFailed, match="Choose one of the answers"):
        availability.save_staff_availability(c.cohort, c.lee, {morning.id: "maybe"}, by=c.lee)
    with pytest.raises(ValidationFailed, match="removed meanwhile"):
        availability.save_staff_availability(c.cohort, c.lee, {morning.id + 99: "unavailable"}, by=c.lee)


# --- students ------------------------------------------------------------------------------------

def test_a_student_declares_with_a_reason_and_may_withdraw(allocated, poster_days):
    c = allocated
    ann = c.students[0]
    morning, afternoon = poster_days
    with pytest.raises(ValidationFailed, match="Say why you cannot come to the session of Tue 14 Sep 2027") as caught:
        availability.save_student_declarations(c.cohort, ann, {morning.id: StudentAnswer(True, "   ")}, by=ann)
    assert caught.value.field == f"reason_{morning.id}"
    availability.save_student_declarations(c.cohort, ann, {morning.id: StudentAnswer(True, " My sister's wedding "),
                                                           afternoon.id: StudentAnswer(False, "ignored")}, by=ann)
    db.session.commit()
    rows = rows_of(ann)
    assert list(rows) == [morning.id]
    assert (rows[morning.id].state, rows[morning.id].reason, rows[morning.id].decided_at) == \
        (DECLARED, "My sister's wedding", None)
    availability.save_student_declarations(c.cohort, ann, {morning.id: StudentAnswer(False, "")}, by=ann)
    db.session.commit()
    assert rows_of(ann) == {}
    assert [e.after for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "posters.declarations_changed").order_by(AuditEvent.id))] == [
        {"Tue 14 Sep 2027, 10:00–12:00": {"declared": "My sister's wedding"}},
        {"Tue 14 Sep 2027, 10:00–12:00": {"withdrawn": "My sister's wedding", "was": "declared"}}]


def test_the_coordinator_accepts_or_refuses_and_the_student_is_told_in_the_app(allocated, poster_days):
    c = allocated
    ann, ben = c.students[:2]
    morning, _ = poster_days
    for s in (ann, ben):
        availability.save_student_declarations(c.cohort, s, {morning.id: StudentAnswer(True, "Graduation")}, by=s)
    db.session.commit()
    availability.decide_declaration(rows_of(ann)[morning.id], accept=True, note="Fine.", by=c.coordinator)
    availability.decide_declaration(rows_of(ben)[morning.id], accept=False, note="Come after the ceremony.",
                                    by=c.coordinator)
    db.session.commit()
    assert rows_of(ann)[morning.id].state == ACCEPTED and rows_of(ben)[morning.id].state == REFUSED
    told = {n.user_id: n.message for n in db.session.scalars(select(Notification).where(  # each one's latest
        Notification.user_id.in_([ann.id, ben.id])).order_by(Notification.id))}
    assert "was accepted" in told[ann.id] and "Note: Fine." in told[ann.id]
    assert "was refused" in told[ben.id] and "Come after the ceremony." in told[ben.id]
    assert {a for a in db.session.scalars(select(AuditEvent.action))} >= {"posters.declaration_accepted",
                                                                          "posters.declaration_refused"}
    with pytest.raises(InvalidState, match="already accepted"):
        availability.decide_declaration(rows_of(ann)[morning.id], accept=False, note="", by=c.coordinator)
    with pytest.raises(NotAllowed):
        availability.decide_declaration(rows_of(ben)[morning.id], accept=True, note="", by=c.lee)


def test_a_new_reason_after_a_refusal_asks_again_and_an_accepted_one_keeps_its_reason(allocated, poster_days):
    c = allocated
    ann = c.students[0]
    morning, afternoon = poster_days
    availability.save_student_declarations(c.cohort, ann, {morning.id: StudentAnswer(True, "Holiday"),
                                                           afternoon.id: StudentAnswer(True, "Dentist")}, by=ann)
    availability.decide_declaration(rows_of(ann)[morning.id], accept=False, note="No.", by=c.coordinator)
    availability.decide_declaration(rows_of(ann)[afternoon.id], accept=True, note="", by=c.coordinator)
    db.session.commit()
    # The page sends an accepted declaration's reason back unchanged (read-only), or nothing at all.
    availability.save_student_declarations(c.cohort, ann, {morning.id: StudentAnswer(True, "A funeral abroad"),
                                                           afternoon.id: StudentAnswer(True, "")}, by=ann)
    db.session.commit()
    rows = rows_of(ann)
    assert (rows[morning.id].state, rows[morning.id].reason, rows[morning.id].decision_note) == \
        (DECLARED, "A funeral abroad", "")
    assert (rows[afternoon.id].state, rows[afternoon.id].reason) == (ACCEPTED, "Dentist")


def test_an_accepted_declaration_counts_for_the_scheduler_and_a_waiting_one_does_not(allocated, poster_days):
    c = allocated
    ann = c.students[0]
    morning, _ = poster_days
    availability.save_student_declarations(c.cohort, ann, {morning.id: StudentAnswer(True, "Wedding")}, by=ann)
    entry = {"person": f"u{ann.id}", "session": f"S{morning.id}"}
    assert entry not in problem_file(c.cohort)["unavailable"]
    availability.decide_declaration(rows_of(ann)[morning.id], accept=True, note="", by=c.coordinator)
    assert entry in problem_file(c.cohort)["unavailable"]


# --- pages ---------------------------------------------------------------------------------------

def test_a_member_of_staff_answers_through_the_page(allocated, poster_days, login):
    c = allocated
    morning, afternoon = poster_days
    client = login(c.lee, role="staff")
    path = f"/cohorts/{c.cohort.id}/posters/availability"
    page = client.get(path).get_data(as_text=True)
    text = main_text(page)
    assert "Tue 14 Sep 2027, 10:00–12:00" in text and "Europe/London" in text  # the cohort's local time
    assert "until Fri 30 Jul 2027 17:00" in text
    n = services.assessed_by(c.cohort, c.lee)
    assert f"You assess {n} posters" in text and "Ann Student" not in text
    form = get_form(client, path, action=None, has_field=f"s{morning.id}")
    assert form.get(f"s{morning.id}") == "available"
    form.check(f"s{morning.id}", "unavailable").check(f"s{afternoon.id}", "if_needed")
    response = form.submit(client)
    assert response.status_code == 302
    rows = rows_of(c.lee)
    assert rows[morning.id].kind == UNAVAILABLE and rows[afternoon.id].kind == IF_NEEDED
    again = get_form(client, path, action=None, has_field=f"s{morning.id}")
    assert again.get(f"s{morning.id}") == "unavailable"  # the page shows what is saved
    assert again.submit(client).status_code == 302
    assert "Nothing had changed." in flashes(client.get(path).get_data(as_text=True))


def test_a_student_declares_through_the_page_and_sees_the_decision(allocated, poster_days, client, login):
    c = allocated
    ann = c.students[0]
    morning, _ = poster_days
    login(ann)
    path = f"/cohorts/{c.cohort.id}/posters/availability"
    form = get_form(client, path, action=None, has_field=f"s{morning.id}")
    form.check(f"s{morning.id}", "cannot")
    refused = form.submit(client)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Say why you cannot come" in field_error(page, f"reason_{morning.id}")
    form.set(f"reason_{morning.id}", "My sister's wedding\r\nin Lisbon")
    assert form.submit(client).status_code == 302
    assert rows_of(ann)[morning.id].reason == "My sister's wedding\r\nin Lisbon"
    assert "Waiting for the coordinator" in client.get(path).get_data(as_text=True)
    # The coordinator decides from the declarations page, through its form.
    client.post("/logout")
    login(c.coordinator, role="coordinator")
    decisions = f"/cohorts/{c.cohort.id}/posters/declarations"
    page = client.get(decisions).get_data(as_text=True)
    assert "My sister&#39;s wedding" in page and "Ann Student" in page
    decide = get_form(client, decisions, action=f"{decisions}/{rows_of(ann)[morning.id].id}")
    decide.set("note", "Enjoy it.")
    assert decide.submit(client, submit="Accept").status_code == 302
    assert "No declaration waits for a decision." in client.get(decisions).get_data(as_text=True)
    assert "Enjoy it." in client.get(f"{decisions}?show=decided").get_data(as_text=True)
    client.post("/logout")
    login(ann)
    page = client.get(path).get_data(as_text=True)
    assert "Accepted" in page and "Enjoy it." in page and "readonly" in page


def test_a_closed_window_shows_the_answers_and_refuses_a_post_with_a_sentence(allocated, poster_days, login):
    c = allocated
    morning, _ = poster_days
    availability.save_staff_availability(c.cohort, c.lee, {morning.id: "if_needed"}, by=c.lee)
    db.session.commit()
    client = login(c.lee, role="staff")
    path = f"/cohorts/{c.cohort.id}/posters/availability"
    form = get_form(client, path, action=None, has_field=f"s{morning.id}")
    with clock.frozen(datetime(2027, 8, 2, 9, tzinfo=timezone.utc)):
        page = client.get(path).get_data(as_text=True)
        assert "closed on Fri 30 Jul 2027 17:00" in page and "only if needed" in page
        assert 'form method="post" class="narrow"' not in page  # answers shown, no form
        response = form.check(f"s{morning.id}", "unavailable").submit(client)
    assert response.status_code == 409 and "closed on Fri 30 Jul 2027 17:00" in response.get_data(as_text=True)
    assert rows_of(c.lee)[morning.id].kind == IF_NEEDED


@pytest.mark.parametrize("value", ["maybe", "", "\x00", str(2**63)])
def test_hostile_answers_are_refused(allocated, poster_days, login, value):
    c = allocated
    morning, _ = poster_days
    client = login(c.lee, role="staff")
    path = f"/cohorts/{c.cohort.id}/posters/availability"
    form = get_form(client, path, action=None, has_field=f"s{morning.id}")
    form.set(f"s{morning.id}", value)
    response = form.submit(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and ("Not a valid choice" in page or "Choose an answer" in page)
    assert rows_of(c.lee) == {}


def test_who_may_open_the_availability_page(allocated, poster_days, client, login, make):
    c = allocated
    path = f"/cohorts/{c.cohort.id}/posters/availability"
    outsider = make.student(make.cohort(), name="Oscar Outsider")
    admin = make.admin()
    for person, status in ((c.students[1], 200), (c.co, 200), (c.coordinator, 200), (outsider, 403), (admin, 403)):
        client.post("/logout")
        login(person)
        assert client.get(path).status_code == status, person.name


def test_a_decision_on_another_cohorts_declaration_is_not_found(allocated, poster_days, client, login, make):
    c = allocated
    morning, _ = poster_days
    ann = c.students[0]
    availability.save_student_declarations(c.cohort, ann, {morning.id: StudentAnswer(True, "Wedding")}, by=ann)
    availability.save_staff_availability(c.cohort, c.lee, {morning.id: "unavailable"}, by=c.lee)
    db.session.commit()
    other = make.cohort(coordinator=make.coordinator())
    login(next(s.member for s in other.staff if s.is_coordinator), role="coordinator")
    response = client.post(f"/cohorts/{other.id}/posters/declarations/{rows_of(ann)[morning.id].id}",
                           data={"accept": "Accept"})
    assert response.status_code == 404
    client.post("/logout")
    login(c.coordinator, role="coordinator")
    # A staff answer is no declaration to decide.
    assert client.post(f"/cohorts/{c.cohort.id}/posters/declarations/{rows_of(c.lee)[morning.id].id}",
                       data={"accept": "Accept"}).status_code == 404
    assert client.post(f"/cohorts/{c.cohort.id}/posters/declarations/{rows_of(ann)[morning.id].id}",
                       data={"note": "x" * 2001, "accept": "Accept"}).status_code == 422
    assert client.post(f"/cohorts/{c.cohort.id}/posters/declarations/{rows_of(ann)[morning.id].id}",
                       data={"note": "no button"}).status_code == 422
    assert rows_of(ann)[morning.id].state == DECLARED
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == ann.id,
                                                                       Notification.message.like("%declaration%"))) == 0


def test_the_coordinators_page_counts_the_answers(allocated, poster_days, login):
    c = allocated
    morning, afternoon = poster_days
    availability.save_staff_availability(c.cohort, c.lee, {morning.id: "unavailable", afternoon.id: "if_needed"},
                                         by=c.lee)
    availability.save_staff_availability(c.cohort, c.kim, {morning.id: "unavailable"}, by=c.kim)
    for s in c.students[:2]:
        availability.save_student_declarations(c.cohort, s, {morning.id: StudentAnswer(True, "Away")}, by=s)
    availability.decide_declaration(rows_of(c.students[0])[morning.id], accept=True, note="", by=c.coordinator)
    db.session.commit()
    counts = availability.counts(c.cohort)
    assert (counts.waiting, counts.accepted, counts.refused) == (1, 1, 0)
    assert counts.staff_unavailable == {morning.id: 2} and counts.staff_if_needed == {afternoon.id: 1}
    assert counts.students_away == {morning.id: 1}
    client = login(c.coordinator, role="coordinator")
    text = main_text(client.get(f"/cohorts/{c.cohort.id}/posters").get_data(as_text=True))
    assert "2 staff cannot come · 1 student excused" in text and "1 staff only if needed" in text
    assert "1 waiting, 1 accepted, 0 refused" in text
    assert "Open since Tue 01 Jun 2027 11:00, closing Fri 30 Jul 2027 17:00." in text
