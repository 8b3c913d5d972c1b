"""The coordinator's panels page: every poster with its assessors, a panel member added and removed
through the forms as the page renders them, refusals next to their field, who may not use it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from projectflow.core.audit import AuditEvent
from projectflow.core.errors import ValidationFailed
from projectflow.extensions import db
from projectflow.posters import panels, services
from projectflow.posters.models import PanelMember
from tests.factories import Factories
from tests.forms import get_form, parse_forms
from tests.html import field_error, flashes, main_text


def _base(c) -> str:
    return f"/cohorts/{c.cohort.id}/posters/panels"


def _number(c, student) -> str:
    return services.candidate_numbers(c.cohort, [student.id])[student.id]


def _members() -> list[tuple[int, int]]:
    return list(db.session.execute(select(PanelMember.student_id, PanelMember.user_id).order_by(PanelMember.id)))


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("posters.panel%"))
                                   .order_by(AuditEvent.id)))


def test_the_page_shows_every_poster_with_its_assessors_by_role(allocated, june, login):
    c = allocated
    ann = c.poster_of(c.students[0])
    page = login(c.coordinator, role="coordinator").get(_base(c))
    assert page.status_code == 200
    text = main_text(page.get_data(as_text=True))
    for student in c.students:
        assert f"{student.name} ({_number(c, student)})" in text
    assert "Poster of Supervisor Second marker Panel members" in text
    assert f"{ann.supervisor.name} {ann.second_marker.name}" in text
    assert "4 posters · 0 panel members in the cohort" in text
    assert "a schedule made before you add or remove a panel member does not include the change" in text


def test_the_coordinator_adds_and_removes_a_panel_member_through_the_page(allocated, june, login):
    c = allocated
    ann = c.students[0]
    client = login(c.coordinator, role="coordinator")
    form = get_form(client, _base(c), action=_base(c), has_field="member")
    form.select("student", str(ann.id)).select("member", str(c.co.id))
    added = form.submit(client)
    assert added.status_code == 303 and "q=Ann+Student" in added.location
    page = client.get(added.location).get_data(as_text=True)
    assert flashes(page) == ["Dr Co is on the poster panel of Ann Student."]
    assert [a.id for a in c.poster_of(ann).assessors][-1] == c.co.id
    assert "1 poster of 4 match" in main_text(page)
    # The same form sent again adds nobody.
    again = form.submit(client)
    assert again.status_code == 303
    assert flashes(client.get(again.location).get_data(as_text=True)) == [
        "Dr Co is on the poster panel of Ann Student."]
    assert _members() == [(ann.id, c.co.id)] and _actions() == ["posters.panel_member_added"]

    [remove] = [f for f in parse_forms(page, added.location) if f.action.split("?")[0].endswith("/remove")]
    assert remove.action.endswith("?q=Ann+Student")
    removed = remove.submit(client)
    assert removed.status_code == 303 and removed.location.endswith("?q=Ann+Student")
    assert flashes(client.get(removed.location).get_data(as_text=True)) == [
        "Dr Co is no longer on the poster panel of Ann Student."]
    assert _members() == [] and len(c.poster_of(ann).assessors) == 2
    # Pressed again from the same page: nothing left to remove, and the coordinator is told so.
    again = remove.submit(client)
    assert again.status_code == 303
    assert flashes(client.get(again.location).get_data(as_text=True)) == [
        "Nothing to remove: Dr Co was already taken off that poster panel."]
    assert _actions() == ["posters.panel_member_added", "posters.panel_member_removed"]


def test_add_beside_a_poster_chooses_its_student_in_the_form(allocated, june, login):
    c = allocated
    ben = c.students[1]
    client = login(c.coordinator, role="coordinator")
    form = get_form(client, f"{_base(c)}?student={ben.id}", action=_base(c), has_field="member")
    assert form.get("student") == str(ben.id) and form.get("member") == ""
    # Sent as it is, without a member: the missing choice is said next to its field.
    refused = form.submit(client)
    assert refused.status_code == 422
    assert field_error(refused.get_data(as_text=True), "member") == "Choose the member of staff who joins the panel."
    assert get_form(client, f"{_base(c)}?student=abc", action=_base(c), has_field="member").get("student") == ""


def test_a_schedule_made_before_is_named_on_the_page_and_in_the_message(allocated, poster_days, login):
    from projectflow.core import jobs
    from projectflow.posters import schedules

    c = allocated
    schedules.start_schedule(c.cohort, by=c.coordinator, seconds=5)
    db.session.commit()
    jobs.run_pending()
    client = login(c.coordinator, role="coordinator")
    assert "Your schedules were made with the panels as they were then. After changing panels, make a new schedule" \
        in main_text(client.get(_base(c)).get_data(as_text=True))
    form = get_form(client, _base(c), action=_base(c), has_field="member")
    added = form.select("student", str(c.students[0].id)).select("member", str(c.co.id)).submit(client)
    told = flashes(client.get(added.location).get_data(as_text=True))
    assert told == ["Dr Co is on the poster panel of Ann Student. The schedules made before this change do not take it "
                    "into account: make a new schedule to do so."]


@pytest.mark.parametrize("field, value, message", [
    ("member", "supervisor", "Dr Lee already assesses Ann Student's poster."),
    ("member", "student", "Ben Student is not staff of this cohort."),
    ("member", "outsider_staff", "Dr Far is not staff of this cohort."),
    ("member", "999999", "Choose a member of staff from the list."),
    ("member", "12abc", "Choose a member of staff from the list."),
    ("member", "99999999999999", "Choose a member of staff from the list."),
    ("student", "outsider_student", "Oscar Outsider is not a student of this cohort."),
    ("student", "unallocated", "Una Late has no poster: only the students of the published allocation present one."),
    ("student", "staff", "Dr Co is not a student of this cohort."),
    ("student", "-1", "Choose a student from the list."),
    ("student", "", "Choose the student whose poster they assess."),
])
def test_hostile_or_wrong_choices_are_refused_next_to_their_field(allocated, june, login, make, field, value, message):
    c = allocated
    ann = c.students[0]
    other = make.cohort(coordinator=make.coordinator(name="Otto Thercord"), year=2025)
    people = {"supervisor": c.poster_of(ann).supervisor, "student": c.students[1],
              "outsider_staff": make.staff(other, name="Dr Far"),
              "outsider_student": make.student(other, name="Oscar Outsider"),
              "unallocated": make.student(c.cohort, name="Una Late"), "staff": c.co}
    chosen = str(people[value].id) if value in people else value
    client = login(c.coordinator, role="coordinator")
    form = get_form(client, _base(c), action=_base(c), has_field="member")
    form.select("student", str(ann.id)).select("member", str(c.poe.id))
    form.set(field, chosen)
    refused = form.submit(client)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert field_error(page, field) == message
    assert "Posters and their assessors" in page  # the whole page again, the form beside the list
    assert _members() == [] and _actions() == []


def _signed_in(app, user, role: str):
    """A client of its own, signed in through the real form (one client per person)."""
    client = app.test_client()
    assert client.post("/login", data={"email": user.email, "password": Factories.PASSWORD}).status_code == 302
    with client.session_transaction() as session:
        session["view_role"] = role
    return client


def test_who_may_not_use_the_page_and_ids_from_elsewhere(allocated, june, app, make):
    c = allocated
    ann = c.students[0]
    services.add_panel_member(c.cohort, ann, c.co, by=c.coordinator)
    db.session.commit()
    member = db.session.scalar(select(PanelMember))
    other_coordinator = make.coordinator(name="Otto Thercord")
    other = make.cohort(coordinator=other_coordinator, year=2025)
    base, elsewhere = _base(c), f"/cohorts/{other.id}/posters/panels"
    coordinator = _signed_in(app, c.coordinator, "coordinator")
    [remove] = [f for f in parse_forms(coordinator.get(base).get_data(as_text=True), base)
                if f.action.endswith(f"/{member.id}/remove")]
    for person, role in ((ann, "student"), (c.lee, "staff"), (c.co, "staff"), (other_coordinator, "coordinator")):
        client = _signed_in(app, person, role)
        assert client.get(base).status_code == 403
        assert remove.submit(client).status_code == 403
    # The form sent to another cohort's address: refused there (not its coordinator), and to that cohort's
    # own coordinator the panel member is not theirs (404). A panel member there never was: 404.
    otto = _signed_in(app, other_coordinator, "coordinator")
    remove.action = f"{elsewhere}/{member.id}/remove"
    assert remove.submit(coordinator).status_code == 403
    assert remove.submit(otto).status_code == 404
    remove.action = f"{base}/{member.id + 1000}/remove"
    missing = remove.submit(coordinator)
    assert missing.status_code == 404 and "on no poster panel of this cohort" in missing.get_data(as_text=True)
    assert _members() == [(ann.id, c.co.id)]
    assert coordinator.get(f"{base}?page=abc&q=").status_code == 200
    assert coordinator.get(f"{base}?q=" + "x" * 201).status_code == 400


def test_a_page_of_posters_found_by_name_or_candidate_number(allocated, june):
    c = allocated
    ann, ben, cat, dan = c.students
    services.add_panel_member(c.cohort, cat, c.co, by=c.coordinator)
    other = next(u for u in (c.lee, c.kim, c.poe) if u.id not in {a.id for a in c.poster_of(cat).assessors})
    services.add_panel_member(c.cohort, cat, other, by=c.coordinator)
    db.session.commit()
    first = panels.panels_page(c.cohort, per_page=3)
    assert [r.student.id for r in first.rows] == [ann.id, ben.id, cat.id]
    assert (first.page.pages, first.posters, first.panel_members) == (2, 4, 2)
    assert [r.student.id for r in panels.panels_page(c.cohort, page=2, per_page=3).rows] == [dan.id]
    # A page beyond the last shows the last.
    assert [r.student.id for r in panels.panels_page(c.cohort, page=9, per_page=3).rows] == [dan.id]
    cats = panels.panels_page(c.cohort, q="CAT").rows
    assert [r.student.id for r in cats] == [cat.id] and [m.user_id for m in cats[0].panel][0] == c.co.id
    assert len(cats[0].panel) == 2 and cats[0].second_marker is not None
    assert [r.student.id for r in panels.panels_page(c.cohort, q=_number(c, dan)).rows] == [dan.id]
    assert panels.panels_page(c.cohort, q="%").rows == []


def test_adding_someone_already_on_the_panel_changes_nothing(allocated, june, make):
    c = allocated
    ann = c.students[0]
    first = services.add_panel_member(c.cohort, ann, c.co, by=c.coordinator)
    db.session.commit()
    again = services.add_panel_member(c.cohort, ann, c.co, by=c.coordinator)
    db.session.commit()
    assert again.id == first.id
    assert db.session.scalar(select(func.count(PanelMember.id))) == 1 and _actions() == ["posters.panel_member_added"]
    with pytest.raises(ValidationFailed, match="has no poster"):
        services.add_panel_member(c.cohort, make.student(c.cohort, name="Una Late"), c.co, by=c.coordinator)


def test_a_refused_addition_keeps_the_search_the_coordinator_was_on(allocated, june, login):
    c = allocated
    ann = c.students[0]
    client = login(c.coordinator, role="coordinator")
    page_url = f"{_base(c)}?q={ann.name.split()[0]}"
    form = get_form(client, page_url, has_field="member")
    assert form.action == f"{_base(c)}?q={ann.name.split()[0]}"
    form.select("student", str(ann.id)).set("member", "12abc")
    refused = form.submit(client)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert f'value="{ann.name.split()[0]}"' in page  # the search box still holds it
    listed = main_text(page).split("Add a panel member")[0]
    assert ann.name in listed and c.students[1].name not in listed  # the list still filtered
